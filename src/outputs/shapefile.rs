//! Shapefiles (`.shp`, `.shx`, `.dbf`, `.prj`) of a layer's features, via the `shapefile` crate.

use super::Outputs;
use super::features::{Feature, Geometry, Kind, Layer, Value, features, fields, normalize_ring};
use crate::basemap::Basemap;
use crate::error::{Error, Result};
use crate::tally::{CellGrid, Tally, Unit};
use std::io::Cursor;
use std::path::Path;

/// WGS 84 longitude/latitude, as `.prj` files write it.
const WGS84_PRJ: &str = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;

/// The files of one shapefile, by extension.
pub const EXTENSIONS: [&str; 4] = ["shp", "shx", "dbf", "prj"];

/// True when some count of a layer of `tally` may exceed 2^53, past which the `.dbf`'s
/// numbers (doubles) are no longer exact: the total weight is over it.
#[must_use]
pub fn may_round_counts(tally: &Tally, unit: Unit) -> bool {
    tally.located_unit(unit).found > 1u128 << 53
}

/// dBase field names have at most 10 characters.
fn dbf_name(name: &str) -> &str {
    match name {
        "accuracy_radius" => "acc_radius",
        "per_million" => "per_1m",
        other => other,
    }
}

/// Writes `DIR/<layer>.shp`, `.shx`, `.dbf` and `.prj` into `outputs`, which renames them
/// into place together with the run's other outputs only when every one is complete, so a
/// failure leaves the previous set untouched. Returns the number of features.
pub fn write_layer(
    tally: &Tally,
    layer: Layer,
    grid: &CellGrid,
    basemap: Option<&Basemap>,
    unit: Unit,
    dir: &Path,
    outputs: &mut Outputs,
) -> Result<usize> {
    let base = dir.join(layer.name());
    let label = base.display().to_string();
    let err = |m: String| Error::output(&label, std::io::Error::other(m));
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir.display().to_string(), e))?;
    let feats = features(tally, layer, grid, basemap, unit).map_err(|e| err(e.to_string()))?;

    let mut builder = dbase::TableWriterBuilder::new();
    for (name, kind) in fields(layer) {
        let field = dbase::FieldName::try_from(dbf_name(name)).map_err(|e| err(e.to_string()))?;
        builder = match kind {
            Kind::Int => builder.add_numeric_field(field, 20, 0),
            Kind::Float => builder.add_numeric_field(field, 24, 9),
            Kind::Text(n) => builder.add_character_field(field, *n),
        };
    }
    let (mut shp, mut shx, mut dbf) = (
        Cursor::new(Vec::new()),
        Cursor::new(Vec::new()),
        Cursor::new(Vec::new()),
    );
    {
        let mut shapes = shapefile::ShapeWriter::with_shx(&mut shp, &mut shx);
        let mut table = builder.build_with_dest(&mut dbf);
        let is_points = layer == Layer::Places;
        let mut written = 0usize;
        for f in &feats {
            let ok = if is_points {
                write_point(&mut shapes, f)
            } else {
                write_polygon(&mut shapes, f)
            }
            .map_err(|e| err(e.to_string()))?;
            if !ok {
                continue;
            }
            table
                .write_record(&record(f))
                .map_err(|e| err(e.to_string()))?;
            written += 1;
        }
        // An empty layer is still a valid, empty shapefile of the layer's type.
        match (written, is_points) {
            (0, true) => shapes.write_shapes(&Vec::<shapefile::Point>::new()),
            (0, false) => shapes.write_shapes(&Vec::<shapefile::Polygon>::new()),
            _ => shapes.finalize(),
        }
        .map_err(|e| err(e.to_string()))?;
        table.finalize().map_err(|e| err(e.to_string()))?;
    }
    let contents = [
        shp.into_inner(),
        shx.into_inner(),
        dbf.into_inner(),
        WGS84_PRJ.as_bytes().to_vec(),
    ];
    for (ext, bytes) in EXTENSIONS.iter().zip(&contents) {
        outputs.write(base.with_extension(ext), |w| w.write_all(bytes));
    }
    Ok(feats.len())
}

fn write_point<W: std::io::Write + std::io::Seek>(
    w: &mut shapefile::ShapeWriter<W>,
    f: &Feature,
) -> std::result::Result<bool, shapefile::Error> {
    let Geometry::Point(lon, lat) = f.geometry else {
        return Ok(false);
    };
    w.write_shape(&shapefile::Point::new(lon, lat))?;
    Ok(true)
}

/// Shapefile polygons: outer rings clockwise, holes counter-clockwise.
fn write_polygon<W: std::io::Write + std::io::Seek>(
    w: &mut shapefile::ShapeWriter<W>,
    f: &Feature,
) -> std::result::Result<bool, shapefile::Error> {
    let Geometry::Polygons(polygons) = &f.geometry else {
        return Ok(false);
    };
    let mut rings = Vec::new();
    for p in polygons {
        let Some(outer) = normalize_ring(&p.exterior, false) else {
            continue;
        };
        rings.push(shapefile::PolygonRing::Outer(
            outer
                .iter()
                .map(|&(x, y)| shapefile::Point::new(x, y))
                .collect(),
        ));
        for hole in p.holes.iter().filter_map(|h| normalize_ring(h, true)) {
            rings.push(shapefile::PolygonRing::Inner(
                hole.iter()
                    .map(|&(x, y)| shapefile::Point::new(x, y))
                    .collect(),
            ));
        }
    }
    if rings.is_empty() {
        return Ok(false);
    }
    w.write_shape(&shapefile::Polygon::with_rings(rings))?;
    Ok(true)
}

fn record(f: &Feature) -> dbase::Record {
    let mut r = dbase::Record::default();
    for (name, value) in &f.properties {
        let v = match value {
            Value::Int(n) => dbase::FieldValue::Numeric(Some(*n as f64)),
            Value::Float(x) => dbase::FieldValue::Numeric(x.is_finite().then_some(*x)),
            Value::Text(t) => dbase::FieldValue::Character(Some(t.clone())),
            Value::Null => match fields_kind(name) {
                Kind::Text(_) => dbase::FieldValue::Character(None),
                _ => dbase::FieldValue::Numeric(None),
            },
        };
        r.insert(dbf_name(name).to_owned(), v);
    }
    r
}

fn fields_kind(name: &str) -> Kind {
    match name {
        "country" | "iso_a2" | "name" | "h3" => Kind::Text(0),
        _ => Kind::Int,
    }
}
