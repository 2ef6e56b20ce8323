//! GeoJSON (RFC 7946) layers of a tally: grid cells, places and countries, as a
//! FeatureCollection or as a GeoJSON Text Sequence (RFC 8142).

use crate::basemap::{Basemap, Polygon};
use crate::locate::CountryCode;
use crate::tally::{CellGrid, Tally, V4, V6};
use crate::util::trim_decimal;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::io::{self, Write};

/// Which features to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// One Polygon per non-empty grid cell.
    Cells,
    /// One Point per place (distinct location of the database).
    Places,
    /// One MultiPolygon per basemap country, with its count.
    Countries,
}

/// How features are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// A FeatureCollection, one feature per line.
    Collection,
    /// RFC 8142: each feature preceded by the record separator (0x1E), ended by a newline.
    Sequence,
}

struct FeatureWriter<'w> {
    out: &'w mut dyn Write,
    framing: Framing,
    written: usize,
}

impl<'w> FeatureWriter<'w> {
    fn start(out: &'w mut dyn Write, framing: Framing) -> io::Result<Self> {
        if framing == Framing::Collection {
            out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")?;
        }
        Ok(FeatureWriter {
            out,
            framing,
            written: 0,
        })
    }

    /// Writes one feature; `geometry` is already GeoJSON text.
    fn feature(&mut self, geometry: &str, properties: Map<String, Value>) -> io::Result<()> {
        let props = serde_json::to_string(&properties).map_err(io::Error::other)?;
        match self.framing {
            Framing::Collection => {
                self.out
                    .write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
            }
            Framing::Sequence => self.out.write_all(b"\x1e")?,
        }
        write!(
            self.out,
            "{{\"type\":\"Feature\",\"geometry\":{geometry},\"properties\":{props}}}"
        )?;
        if self.framing == Framing::Sequence {
            self.out.write_all(b"\n")?;
        }
        self.written += 1;
        Ok(())
    }

    fn finish(self) -> io::Result<usize> {
        if self.framing == Framing::Collection {
            self.out.write_all(b"\n]}\n")?;
        }
        Ok(self.written)
    }
}

/// A coordinate, at most 6 decimals (about 0.1 m), never NaN or infinite.
fn coord(v: f64) -> String {
    trim_decimal(if v.is_finite() { v } else { 0.0 }, 6)
}

fn position(lon: f64, lat: f64) -> String {
    format!("[{},{}]", coord(lon), coord(lat))
}

/// Rounds a ring to 6 decimals, drops repeated points, closes it and orients it
/// (counter-clockwise for exteriors, clockwise for holes, RFC 7946 section 3.1.6).
/// Returns `None` for a ring that collapses (fewer than 4 positions).
fn ring_text(ring: &[(f64, f64)], exterior: bool) -> Option<String> {
    let round = |v: f64| (v * 1e6).round() / 1e6;
    let mut pts: Vec<(f64, f64)> = Vec::with_capacity(ring.len() + 1);
    for &(x, y) in ring {
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        let p = (round(x), round(y));
        if pts.last() != Some(&p) {
            pts.push(p);
        }
    }
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() < 3 {
        return None;
    }
    let area2: f64 = (0..pts.len())
        .map(|i| {
            let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum();
    if area2 == 0.0 {
        return None;
    }
    if (area2 > 0.0) != exterior {
        // Reverse the direction but keep the starting vertex.
        pts[1..].reverse();
    }
    pts.push(pts[0]);
    let parts: Vec<String> = pts.iter().map(|&(x, y)| position(x, y)).collect();
    Some(format!("[{}]", parts.join(",")))
}

fn polygon_text(p: &Polygon) -> Option<String> {
    let mut rings = vec![ring_text(&p.exterior, true)?];
    rings.extend(p.holes.iter().filter_map(|h| ring_text(h, false)));
    Some(format!("[{}]", rings.join(",")))
}

fn share(n: u64, total: u128) -> f64 {
    if total == 0 {
        0.0
    } else {
        ((n as f64 / total as f64) * 1e6).round() / 1e6
    }
}

/// Writes one layer. `basemap` is needed for [`Layer::Countries`]. Returns the number of
/// features written.
pub fn write_layer(
    tally: &Tally,
    layer: Layer,
    grid: &CellGrid,
    basemap: Option<&Basemap>,
    framing: Framing,
    out: &mut dyn Write,
) -> io::Result<usize> {
    let mut w = FeatureWriter::start(out, framing)?;
    match layer {
        Layer::Cells => {
            let cells = tally.cells(grid);
            let total: u128 = cells.values().map(|n| u128::from(*n)).sum();
            for ((row, col), n) in cells {
                let (lat0, lon0, lat1, lon1) = grid.bounds(row, col);
                let geometry = format!(
                    "{{\"type\":\"Polygon\",\"coordinates\":[[{},{},{},{},{}]]}}",
                    position(lon0, lat0),
                    position(lon1, lat0),
                    position(lon1, lat1),
                    position(lon0, lat1),
                    position(lon0, lat0)
                );
                let mut props = Map::new();
                props.insert("count".into(), json!(n));
                props.insert("share".into(), json!(share(n, total)));
                for (k, v) in [
                    ("lat_min", lat0),
                    ("lon_min", lon0),
                    ("lat_max", lat1),
                    ("lon_max", lon1),
                ] {
                    props.insert(k.into(), json!(coord(v).parse::<f64>().unwrap_or(v)));
                }
                w.feature(&geometry, props)?;
            }
        }
        Layer::Places => {
            let places = tally.places();
            let total: u128 = places
                .iter()
                .map(|(_, w)| u128::from(w[V4]) + u128::from(w[V6]))
                .sum();
            for (place, weights) in places {
                let Some((lat, lon)) = place.coords() else {
                    continue;
                };
                let n = weights[V4].saturating_add(weights[V6]);
                let geometry = format!(
                    "{{\"type\":\"Point\",\"coordinates\":{}}}",
                    position(lon, lat)
                );
                let mut props = Map::new();
                props.insert("count".into(), json!(n));
                props.insert("share".into(), json!(share(n, total)));
                props.insert(
                    "country".into(),
                    json!(place.country.map(|c| c.to_string())),
                );
                props.insert("accuracy_radius".into(), json!(place.accuracy_radius));
                w.feature(&geometry, props)?;
            }
        }
        Layer::Countries => {
            let basemap =
                basemap.ok_or_else(|| io::Error::other("the countries layer needs a basemap"))?;
            let counts: HashMap<CountryCode, u64> = tally.countries().into_iter().collect();
            let total: u128 = counts.values().map(|n| u128::from(*n)).sum();
            for country in &basemap.countries {
                let Some(code) = country.code else { continue };
                let polygons: Vec<String> =
                    country.polygons.iter().filter_map(polygon_text).collect();
                if polygons.is_empty() {
                    continue;
                }
                let n = counts.get(&code).copied().unwrap_or(0);
                let geometry = format!(
                    "{{\"type\":\"MultiPolygon\",\"coordinates\":[{}]}}",
                    polygons.join(",")
                );
                let mut props = Map::new();
                props.insert("iso_a2".into(), json!(code.to_string()));
                props.insert("name".into(), json!(country.name));
                props.insert("count".into(), json!(n));
                props.insert("share".into(), json!(share(n, total)));
                let per_capita = country
                    .population
                    .map(|p| ((n as f64 / p) * 1e9).round() / 1e9);
                props.insert("per_capita".into(), json!(per_capita));
                w.feature(&geometry, props)?;
            }
        }
    }
    w.finish()
}

/// Country codes with a count but no polygon in the basemap (their counts are not drawn).
#[must_use]
pub fn unmapped_countries(tally: &Tally, basemap: &Basemap) -> Vec<CountryCode> {
    tally
        .countries()
        .into_iter()
        .map(|(c, _)| c)
        .filter(|c| basemap.country(*c).is_none_or(|b| b.polygons.is_empty()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_are_closed_counter_clockwise_and_rounded() {
        // Clockwise square as shapefiles store exteriors, with a repeated point.
        let cw = [
            (0.0, 0.0),
            (0.0, 1.0),
            (0.0, 1.0),
            (1.0000001, 1.0),
            (1.0, 0.0),
            (0.0, 0.0),
        ];
        assert_eq!(
            ring_text(&cw, true).unwrap(),
            "[[0,0],[1,0],[1,1],[0,1],[0,0]]"
        );
        assert_eq!(
            ring_text(&cw, false).unwrap(),
            "[[0,0],[0,1],[1,1],[1,0],[0,0]]"
        );
        assert!(ring_text(&[(0.0, 0.0), (1.0, 1.0), (0.0, 0.0)], true).is_none());
        assert!(
            ring_text(&[(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (0.0, 0.0)], true).is_none(),
            "zero area"
        );
        assert_eq!(coord(f64::NAN), "0");
    }
}
