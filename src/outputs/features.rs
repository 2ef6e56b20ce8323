//! The features of a map layer (cells, places, countries, hex), as geometry plus typed
//! properties, for the GeoJSON and shapefile writers to format.

use crate::basemap::{Basemap, Polygon};
pub use crate::geometry::normalize_ring;
use crate::geometry::{hex_rings, round6};
use crate::locate::CountryCode;
use crate::tally::{CellGrid, Tally, Unit};
use std::collections::HashMap;

/// Which features to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// One Polygon per non-empty grid cell.
    Cells,
    /// One Point per place (distinct location of the database).
    Places,
    /// One MultiPolygon per basemap country, with its count.
    Countries,
    /// One MultiPolygon per first-level subdivision of a map of them (the embedded US
    /// states, or an admin-1 shapefile), with its count.
    Subdivisions,
    /// One Polygon per non-empty H3 cell (MultiPolygon where it crosses the antimeridian).
    Hex(h3o::Resolution),
}

impl Layer {
    /// The layer's name (file names, messages).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Layer::Cells => "cells",
            Layer::Places => "places",
            Layer::Countries => "countries",
            Layer::Subdivisions => "subdivisions",
            Layer::Hex(_) => "hex",
        }
    }
}

/// A property value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A count.
    Int(u128),
    /// A share, coordinate or rate.
    Float(f64),
    /// A code or name.
    Text(String),
    /// Unknown.
    Null,
}

/// What a property holds, for formats with a schema (shapefiles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Whole numbers.
    Int,
    /// Decimals.
    Float,
    /// Text of at most this many characters.
    Text(u8),
}

/// A feature's geometry, in degrees.
#[derive(Clone, Debug, PartialEq)]
pub enum Geometry {
    /// `(lon, lat)`.
    Point(f64, f64),
    /// One or more polygons.
    Polygons(Vec<Polygon>),
}

/// One feature.
#[derive(Clone, Debug, PartialEq)]
pub struct Feature {
    /// Where.
    pub geometry: Geometry,
    /// Properties, in the layer's field order.
    pub properties: Vec<(&'static str, Value)>,
}

/// The properties of a layer's features, in order, with their kinds. Names are stable.
#[must_use]
pub fn fields(layer: Layer) -> &'static [(&'static str, Kind)] {
    match layer {
        Layer::Cells => &[
            ("count", Kind::Int),
            ("share", Kind::Float),
            ("unit", Kind::Text(11)),
            ("lat_min", Kind::Float),
            ("lon_min", Kind::Float),
            ("lat_max", Kind::Float),
            ("lon_max", Kind::Float),
        ],
        Layer::Places => &[
            ("count", Kind::Int),
            ("share", Kind::Float),
            ("unit", Kind::Text(11)),
            ("country", Kind::Text(2)),
            ("accuracy_radius", Kind::Int),
        ],
        Layer::Countries => &[
            ("iso_a2", Kind::Text(2)),
            ("name", Kind::Text(80)),
            ("count", Kind::Int),
            ("share", Kind::Float),
            ("unit", Kind::Text(11)),
            ("per_million", Kind::Float),
        ],
        Layer::Subdivisions => &[
            ("iso_3166_2", Kind::Text(6)),
            ("iso_a2", Kind::Text(2)),
            ("name", Kind::Text(80)),
            ("count", Kind::Int),
            ("share", Kind::Float),
            ("unit", Kind::Text(11)),
        ],
        Layer::Hex(_) => &[
            ("h3", Kind::Text(15)),
            ("resolution", Kind::Int),
            ("count", Kind::Int),
            ("share", Kind::Float),
            ("unit", Kind::Text(11)),
        ],
    }
}

/// `share` in every layer: of all weight found in the database in the layer's unit, so a
/// country's, a cell's and a place's shares mean the same thing (6 decimals).
fn share(n: u128, found: u128) -> f64 {
    round6(super::share(n, found))
}

/// The features of a layer, counting one unit. The countries layer needs a basemap; the
/// subdivisions layer a map of subdivisions ([`Basemap::subdivisions`]), every feature of
/// which is written (count 0 where the tally has none).
pub fn features(
    tally: &Tally,
    layer: Layer,
    grid: &CellGrid,
    basemap: Option<&Basemap>,
    unit: Unit,
) -> std::io::Result<Vec<Feature>> {
    let mut out = Vec::new();
    let total = tally.located_unit(unit).found;
    let label = || ("unit", Value::Text(tally.unit_label(unit).to_owned()));
    match layer {
        Layer::Cells => {
            for ((row, col), n) in tally.cells(grid, unit) {
                let (lat0, lon0, lat1, lon1) = grid.bounds(row, col);
                let exterior = vec![
                    (lon0, lat0),
                    (lon1, lat0),
                    (lon1, lat1),
                    (lon0, lat1),
                    (lon0, lat0),
                ];
                out.push(Feature {
                    geometry: Geometry::Polygons(vec![Polygon {
                        exterior,
                        holes: vec![],
                    }]),
                    properties: vec![
                        ("count", Value::Int(n)),
                        ("share", Value::Float(share(n, total))),
                        label(),
                        ("lat_min", Value::Float(round6(lat0))),
                        ("lon_min", Value::Float(round6(lon0))),
                        ("lat_max", Value::Float(round6(lat1))),
                        ("lon_max", Value::Float(round6(lon1))),
                    ],
                });
            }
        }
        Layer::Places => {
            for (place, w) in tally.places() {
                let n = unit.of(&w);
                let Some((lat, lon)) = place.coords().filter(|_| n > 0) else {
                    continue;
                };
                out.push(Feature {
                    geometry: Geometry::Point(lon, lat),
                    properties: vec![
                        ("count", Value::Int(n)),
                        ("share", Value::Float(share(n, total))),
                        label(),
                        (
                            "country",
                            place
                                .country
                                .map_or(Value::Null, |c| Value::Text(c.to_string())),
                        ),
                        (
                            "accuracy_radius",
                            place
                                .accuracy_radius
                                .map_or(Value::Null, |r| Value::Int(u128::from(r))),
                        ),
                    ],
                });
            }
        }
        Layer::Countries => {
            let basemap = basemap
                .ok_or_else(|| std::io::Error::other("the countries layer needs a basemap"))?;
            let counts: HashMap<CountryCode, u128> = tally.countries(unit).into_iter().collect();
            for country in &basemap.countries {
                let Some(code) = country.code else { continue };
                if country.polygons.is_empty() {
                    continue;
                }
                let n = counts.get(&code).copied().unwrap_or(0);
                // Per million people: the unit the map's legend uses too.
                let per_million = country.population.map_or(Value::Null, |p| {
                    Value::Float(((n as f64 / p) * 1e6 * 1e6).round() / 1e6)
                });
                out.push(Feature {
                    geometry: Geometry::Polygons(country.polygons.clone()),
                    properties: vec![
                        ("iso_a2", Value::Text(code.to_string())),
                        ("name", Value::Text(country.name.clone())),
                        ("count", Value::Int(n)),
                        ("share", Value::Float(share(n, total))),
                        label(),
                        ("per_million", per_million),
                    ],
                });
            }
        }
        Layer::Subdivisions => {
            let map = basemap.ok_or_else(|| {
                std::io::Error::other("the subdivisions layer needs a map of subdivisions")
            })?;
            let mut counts: HashMap<(CountryCode, Option<crate::locate::Name>), u128> =
                HashMap::new();
            for s in tally.subdivisions(unit) {
                if let Some(f) = map.subdivision(s.country, s.subdivision) {
                    let e = counts.entry((s.country, f.subdivision)).or_default();
                    *e = e.saturating_add(s.count);
                }
            }
            for feature in &map.countries {
                let (Some(code), Some(sub)) = (feature.code, feature.subdivision) else {
                    continue;
                };
                if feature.polygons.is_empty() {
                    continue;
                }
                let n = counts.get(&(code, Some(sub))).copied().unwrap_or(0);
                out.push(Feature {
                    geometry: Geometry::Polygons(feature.polygons.clone()),
                    properties: vec![
                        ("iso_3166_2", Value::Text(format!("{code}-{sub}"))),
                        ("iso_a2", Value::Text(code.to_string())),
                        ("name", Value::Text(feature.name.clone())),
                        ("count", Value::Int(n)),
                        ("share", Value::Float(share(n, total))),
                        label(),
                    ],
                });
            }
        }
        Layer::Hex(resolution) => {
            let cells = tally.hex_cells(resolution, unit);
            for (cell, n) in cells {
                let polygons = hex_rings(cell)
                    .into_iter()
                    .map(|exterior| Polygon {
                        exterior,
                        holes: vec![],
                    })
                    .collect();
                out.push(Feature {
                    geometry: Geometry::Polygons(polygons),
                    properties: vec![
                        ("h3", Value::Text(cell.to_string())),
                        ("resolution", Value::Int(u128::from(u8::from(resolution)))),
                        ("count", Value::Int(n)),
                        ("share", Value::Float(share(n, total))),
                        label(),
                    ],
                });
            }
        }
    }
    Ok(out)
}
