//! GeoJSON (RFC 7946) of a layer's features, as a FeatureCollection or as a GeoJSON Text
//! Sequence (RFC 8142).

use super::features::{Feature, Geometry, Layer, Value, features, normalize_ring};
use crate::basemap::{Basemap, Polygon};
use crate::tally::{CellGrid, Tally, Unit};
use crate::util::trim_decimal;
use std::io::{self, Write};

/// How features are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// A FeatureCollection, one feature per line.
    Collection,
    /// RFC 8142: each feature preceded by the record separator (0x1E), ended by a newline.
    Sequence,
}

/// A coordinate, at most 6 decimals (about 0.1 m), never NaN or infinite.
fn coord(v: f64) -> String {
    trim_decimal(if v.is_finite() { v } else { 0.0 }, 6)
}

fn positions(ring: &[(f64, f64)]) -> String {
    let parts: Vec<String> = ring
        .iter()
        .map(|&(x, y)| format!("[{},{}]", coord(x), coord(y)))
        .collect();
    format!("[{}]", parts.join(","))
}

/// RFC 7946 3.1.6: exteriors counter-clockwise, holes clockwise.
fn polygon_text(p: &Polygon) -> Option<String> {
    let mut rings = vec![positions(&normalize_ring(&p.exterior, true)?)];
    rings.extend(
        p.holes
            .iter()
            .filter_map(|h| normalize_ring(h, false))
            .map(|r| positions(&r)),
    );
    Some(format!("[{}]", rings.join(",")))
}

fn geometry_text(geometry: &Geometry, multi: bool) -> Option<String> {
    match geometry {
        Geometry::Point(lon, lat) => Some(format!(
            "{{\"type\":\"Point\",\"coordinates\":[{},{}]}}",
            coord(*lon),
            coord(*lat)
        )),
        Geometry::Polygons(polygons) => {
            let parts: Vec<String> = polygons.iter().filter_map(polygon_text).collect();
            match parts.as_slice() {
                [] => None,
                [one] if !multi => Some(format!("{{\"type\":\"Polygon\",\"coordinates\":{one}}}")),
                many => Some(format!(
                    "{{\"type\":\"MultiPolygon\",\"coordinates\":[{}]}}",
                    many.join(",")
                )),
            }
        }
    }
}

fn properties_text(feature: &Feature) -> String {
    // Written by hand rather than through serde_json::Value, which cannot hold integers
    // beyond 64 bits (counts are 128-bit).
    let mut out = String::from("{");
    for (i, (k, v)) in feature.properties.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k).unwrap_or_else(|_| "\"\"".into()));
        out.push(':');
        let value = match v {
            Value::Int(n) => n.to_string(),
            Value::Float(x) if x.is_finite() => {
                serde_json::to_string(x).unwrap_or_else(|_| "null".into())
            }
            Value::Text(t) => serde_json::to_string(t).unwrap_or_else(|_| "null".into()),
            Value::Float(_) | Value::Null => "null".into(),
        };
        out.push_str(&value);
    }
    out.push('}');
    out
}

/// Writes one layer, counting one unit. `basemap` is needed for [`Layer::Countries`] (the
/// countries) and [`Layer::Subdivisions`] (a map of subdivisions).
/// Returns the number of features written.
pub fn write_layer(
    tally: &Tally,
    layer: Layer,
    grid: &CellGrid,
    basemap: Option<&Basemap>,
    unit: Unit,
    framing: Framing,
    out: &mut dyn Write,
) -> io::Result<usize> {
    // Countries are always MultiPolygons (one type per layer); cells are Polygons.
    let multi = matches!(layer, Layer::Countries | Layer::Subdivisions);
    if framing == Framing::Collection {
        out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")?;
    }
    let mut written = 0;
    for feature in features(tally, layer, grid, basemap, unit)? {
        let Some(geometry) = geometry_text(&feature.geometry, multi) else {
            continue;
        };
        match framing {
            Framing::Collection => out.write_all(if written == 0 { b"\n" } else { b",\n" })?,
            Framing::Sequence => out.write_all(b"\x1e")?,
        }
        write!(
            out,
            "{{\"type\":\"Feature\",\"geometry\":{geometry},\"properties\":{}}}",
            properties_text(&feature)
        )?;
        if framing == Framing::Sequence {
            out.write_all(b"\n")?;
        }
        written += 1;
    }
    if framing == Framing::Collection {
        out.write_all(b"\n]}\n")?;
    }
    Ok(written)
}

/// One layer as a GeoJSON FeatureCollection in a string; the countries layer uses the
/// embedded basemap at regional detail, the subdivisions layer the embedded US states.
///
/// ```
/// use ipatlas::outputs::features::Layer;
/// use ipatlas::outputs::geojson::layer_string;
/// use ipatlas::locate::{Atlas, OpenOptions};
/// use ipatlas::pipeline::RunOptions;
/// use ipatlas::tally::{CellGrid, Unit};
///
/// let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
/// let tally = atlas.aggregate_lines(["8.8.8.8"], &RunOptions::default())?;
/// let grid = CellGrid::new(1.0)?;
/// let text = layer_string(&tally, Layer::Countries, &grid, Unit::Addresses)?;
/// assert!(text.contains("\"iso_a2\":\"US\""));
/// # Ok::<(), ipatlas::Error>(())
/// ```
pub fn layer_string(
    tally: &Tally,
    layer: Layer,
    grid: &CellGrid,
    unit: Unit,
) -> crate::Result<String> {
    let basemap = match layer {
        Layer::Countries => Some(Basemap::embedded(crate::basemap::Detail::Region)?),
        Layer::Subdivisions => Some(Basemap::subdivisions(None)?),
        _ => None,
    };
    let mut out = Vec::new();
    write_layer(
        tally,
        layer,
        grid,
        basemap.as_ref(),
        unit,
        Framing::Collection,
        &mut out,
    )
    .map_err(|e| crate::Error::Internal(format!("cannot write GeoJSON to memory: {e}")))?;
    String::from_utf8(out).map_err(|e| crate::Error::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_text_is_rfc_7946() {
        let square = Polygon {
            exterior: vec![(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.0, 0.0)],
            holes: vec![],
        };
        assert_eq!(
            geometry_text(&Geometry::Polygons(vec![square.clone()]), false).unwrap(),
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}"#
        );
        assert!(
            geometry_text(&Geometry::Polygons(vec![square]), true)
                .unwrap()
                .starts_with(r#"{"type":"MultiPolygon""#)
        );
        assert_eq!(
            geometry_text(&Geometry::Point(2.3500004, 48.85), false).unwrap(),
            r#"{"type":"Point","coordinates":[2.35,48.85]}"#
        );
        assert_eq!(coord(f64::NAN), "0");
    }
}
