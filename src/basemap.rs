//! Country polygons for maps and the countries layer: the embedded Natural Earth basemap,
//! or any polygon shapefile, with features joined to ISO country codes; and first-level
//! subdivisions (the embedded US states, or any admin-1 shapefile with ISO 3166-2 codes).

use crate::error::{Error, Result};
use crate::locate::{CountryCode, Name, Subdivision};
use std::collections::HashMap;
use std::io::{Cursor, Read, Seek};
use std::path::Path;

/// How finely the embedded basemap is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Simplified for whole-world maps (Natural Earth 1:10m, 4% of removable vertices kept).
    World,
    /// Finer, for maps of a region (15% kept).
    Region,
    /// Natural Earth 1:10m as it is, for city-scale maps (a box of at most
    /// [`Detail::FULL_SIDE`] degrees a side). Stored compressed; read only when asked for.
    Full,
}

impl Detail {
    /// The largest box side (degrees) drawn at full resolution.
    pub const FULL_SIDE: f64 = 3.0;

    /// The detail a map needs: the world's for no box, full resolution for a box of at
    /// most [`Detail::FULL_SIDE`] degrees a side (`side`: its larger side), else regional.
    #[must_use]
    pub fn for_area(side: Option<f64>) -> Detail {
        match side {
            None => Detail::World,
            Some(s) if s <= Self::FULL_SIDE => Detail::Full,
            Some(_) => Detail::Region,
        }
    }
}

static WORLD_SHP: &[u8] = include_bytes!("../assets/basemap/world.shp");
static WORLD_DBF: &[u8] = include_bytes!("../assets/basemap/world.dbf");
static DETAIL_SHP: &[u8] = include_bytes!("../assets/basemap/detail.shp");
static DETAIL_DBF: &[u8] = include_bytes!("../assets/basemap/detail.dbf");
/// The full-resolution shapes (zstd); their records are `DETAIL_DBF`'s.
static FULL_SHP_ZST: &[u8] = include_bytes!("../assets/basemap/full.shp.zst");
static US_STATES_SHP: &[u8] = include_bytes!("../assets/subdivisions/us-states.shp");
static US_STATES_DBF: &[u8] = include_bytes!("../assets/subdivisions/us-states.dbf");

/// Attribution of the embedded US states.
pub const US_CENSUS: &str = "US states: US Census Bureau (2017)";

/// The source name of the embedded US states.
pub const US_STATES_SOURCE: &str = "embedded:us-census-2017-states";

/// Attribution to show wherever the embedded basemap is used.
pub const NATURAL_EARTH: &str = "Made with Natural Earth";

pub use crate::geometry::{Polygon, Ring};

/// One country of the basemap: every feature with its code, merged.
#[derive(Clone, Debug)]
pub struct Country {
    /// The ISO 3166-1 alpha-2 code, when the features carry one.
    pub code: Option<CountryCode>,
    /// In a map of subdivisions: the ISO 3166-2 subdivision code without the country
    /// (`CA` of `US-CA`).
    pub subdivision: Option<Name>,
    /// Display name (of the feature with the most points).
    pub name: String,
    /// Population estimate (`POP_EST`, summed over the features), if present and positive.
    pub population: Option<f64>,
    /// All polygons of the country.
    pub polygons: Vec<Polygon>,
}

/// A set of country polygons.
#[derive(Clone, Debug)]
pub struct Basemap {
    /// Where it came from: `embedded:natural-earth-10m-...` or the shapefile's path.
    pub source: String,
    /// Countries with a code (one entry per code), then land without a code.
    pub countries: Vec<Country>,
}

impl Basemap {
    /// Country codes with a count in `unit` but no polygon here (their counts cannot be
    /// drawn or joined).
    #[must_use]
    pub fn unmapped(
        &self,
        tally: &crate::tally::Tally,
        unit: crate::tally::Unit,
    ) -> Vec<crate::locate::CountryCode> {
        tally
            .countries(unit)
            .into_iter()
            .map(|(c, _)| c)
            .filter(|c| self.country(*c).is_none_or(|b| b.polygons.is_empty()))
            .collect()
    }

    /// The basemap of a map: the shapefile at `path`, else the embedded one at this
    /// detail ([`Detail::for_area`] gives the detail a map's box needs).
    pub fn for_map(path: Option<&Path>, detail: Detail) -> Result<Basemap> {
        match path {
            Some(path) => Basemap::open(path),
            None => Basemap::embedded(detail),
        }
    }

    /// The subdivisions of a map: an admin-1 shapefile at `path`, else the embedded US
    /// states ([`US_CENSUS`]).
    pub fn subdivisions(path: Option<&Path>) -> Result<Basemap> {
        match path {
            Some(path) => Basemap::open_level(path, true),
            None => Self::read(
                Cursor::new(US_STATES_SHP),
                Cursor::new(US_STATES_DBF),
                US_STATES_SOURCE,
                true,
            ),
        }
    }

    /// The feature a tally's subdivision is drawn with: by ISO 3166-2 code within the
    /// country, else by name (ignoring case), when the tally's subdivision has no code.
    #[must_use]
    pub fn subdivision(&self, country: CountryCode, sub: Subdivision) -> Option<&Country> {
        let in_country = || {
            self.countries
                .iter()
                .filter(move |c| c.code == Some(country) && c.subdivision.is_some())
        };
        match sub.code {
            Some(code) => in_country().find(|c| c.subdivision == Some(code)),
            None => {
                let name = sub.name?.as_str();
                in_country().find(|c| c.name.eq_ignore_ascii_case(name))
            }
        }
    }

    /// The embedded Natural Earth basemap.
    pub fn embedded(detail: Detail) -> Result<Basemap> {
        if detail == Detail::Full {
            let mut shp = Vec::with_capacity(9 << 20);
            ruzstd::decoding::StreamingDecoder::new(FULL_SHP_ZST)
                .map_err(|e| Error::Internal(format!("the embedded basemap: {e}")))?
                .read_to_end(&mut shp)
                .map_err(|e| Error::Internal(format!("the embedded basemap: {e}")))?;
            return Self::read(
                Cursor::new(shp),
                Cursor::new(DETAIL_DBF),
                "embedded:natural-earth-10m-v5.1.1-full",
                false,
            );
        }
        let (shp, dbf, label) = match detail {
            Detail::World => (
                WORLD_SHP,
                WORLD_DBF,
                "embedded:natural-earth-10m-v5.1.1-world",
            ),
            Detail::Region | Detail::Full => (
                DETAIL_SHP,
                DETAIL_DBF,
                "embedded:natural-earth-10m-v5.1.1-detail",
            ),
        };
        Self::read(Cursor::new(shp), Cursor::new(dbf), label, false)
    }

    /// A polygon shapefile (`.shp`, with its `.dbf` beside it).
    pub fn open(path: &Path) -> Result<Basemap> {
        Self::open_level(path, false)
    }

    /// A polygon shapefile of countries, or (`subdivisions`) of first-level subdivisions,
    /// whose features carry an ISO 3166-2 code (`ISO_3166_2`, `iso_3166_2`: `US-CA`).
    fn open_level(path: &Path, subdivisions: bool) -> Result<Basemap> {
        let label = path.display().to_string();
        let bad = |m: String| Error::Basemap {
            path: label.clone(),
            message: m,
        };
        let shp = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let dbf = std::fs::read(path.with_extension("dbf"))
            .map_err(|e| bad(format!("{e} (reading the .dbf beside the .shp)")))?;
        let map = Self::read(Cursor::new(shp), Cursor::new(dbf), &label, subdivisions)?;
        if subdivisions && map.countries.iter().all(|c| c.subdivision.is_none()) {
            return Err(bad(
                "no feature has an ISO 3166-2 code (an ISO_3166_2 field such as US-CA): \
                 not a map of subdivisions"
                    .into(),
            ));
        }
        Ok(map)
    }

    fn read<S: Read + Seek, D: Read + Seek>(
        shp: S,
        dbf: D,
        label: &str,
        subdivisions: bool,
    ) -> Result<Basemap> {
        let bad = |m: String| Error::Basemap {
            path: label.to_owned(),
            message: m,
        };
        let shapes = shapefile::ShapeReader::new(shp).map_err(|e| bad(e.to_string()))?;
        let records = dbase::Reader::new(dbf).map_err(|e| bad(e.to_string()))?;
        let mut reader = shapefile::Reader::new(shapes, records);
        let alpha3 = alpha3_table();
        let mut by_code: HashMap<(Option<CountryCode>, Option<Name>), usize> = HashMap::new();
        let mut countries: Vec<(Country, usize)> = Vec::new();
        let mut uncoded: Vec<Country> = Vec::new();
        for item in reader.iter_shapes_and_records() {
            let (shape, record) = item.map_err(|e| bad(e.to_string()))?;
            let polygon = match shape {
                shapefile::Shape::Polygon(p) => polygons_of(p.rings().iter().map(|r| match r {
                    shapefile::PolygonRing::Outer(pts) => {
                        (true, pts.iter().map(|p| (p.x, p.y)).collect())
                    }
                    shapefile::PolygonRing::Inner(pts) => {
                        (false, pts.iter().map(|p| (p.x, p.y)).collect())
                    }
                })),
                shapefile::Shape::NullShape => continue,
                other => {
                    return Err(bad(format!(
                        "expected polygons, found a {} shape",
                        other.shapetype()
                    )));
                }
            };
            let (code, subdivision) = if subdivisions {
                match iso_3166_2(&record) {
                    Some((c, s)) => (Some(c), Some(s)),
                    None => (None, None),
                }
            } else {
                (code_of(&record, alpha3.as_ref()), None)
            };
            let name = text(&record, "NAME")
                .or_else(|| text(&record, "name"))
                .or_else(|| text(&record, "ADMIN"))
                .unwrap_or_default();
            let population = number(&record, "POP_EST").filter(|p| *p > 0.0);
            let points: usize = polygon.iter().map(|p| p.exterior.len()).sum();
            let feature = Country {
                code,
                subdivision,
                name,
                population,
                polygons: polygon,
            };
            match code {
                None => uncoded.push(feature),
                Some(_) => match by_code.get(&(code, subdivision)) {
                    Some(&i) => {
                        let (c, best) = &mut countries[i];
                        if points > *best {
                            c.name = feature.name;
                            *best = points;
                        }
                        c.population = match (c.population, feature.population) {
                            (Some(a), Some(b)) => Some(a + b),
                            (a, b) => a.or(b),
                        };
                        c.polygons.extend(feature.polygons);
                    }
                    None => {
                        by_code.insert((code, subdivision), countries.len());
                        countries.push((feature, points));
                    }
                },
            }
        }
        let mut countries: Vec<Country> = countries.into_iter().map(|(c, _)| c).collect();
        countries.sort_by_key(|c| (c.code, c.subdivision));
        countries.extend(uncoded);
        Ok(Basemap {
            source: label.to_owned(),
            countries,
        })
    }

    /// The country with a code.
    #[must_use]
    pub fn country(&self, code: CountryCode) -> Option<&Country> {
        self.countries
            .iter()
            .find(|c| c.code == Some(code) && c.subdivision.is_none())
    }
}

/// Groups rings into polygons: each outer ring with the inner rings that lie inside it.
fn polygons_of(rings: impl Iterator<Item = (bool, Ring)>) -> Vec<Polygon> {
    let (mut outers, mut inners) = (Vec::new(), Vec::new());
    for (outer, ring) in rings {
        if ring.len() >= 4 {
            if outer {
                outers.push(ring)
            } else {
                inners.push(ring)
            }
        }
    }
    let mut polygons: Vec<Polygon> = outers
        .into_iter()
        .map(|exterior| Polygon {
            exterior,
            holes: Vec::new(),
        })
        .collect();
    for hole in inners {
        let probe = hole[0];
        let owner = polygons
            .iter()
            .position(|p| contains(&p.exterior, probe))
            .or(polygons.len().checked_sub(1));
        if let Some(i) = owner {
            polygons[i].holes.push(hole);
        }
    }
    polygons
}

/// Even-odd point-in-ring test.
#[must_use]
pub fn contains(ring: &[(f64, f64)], (x, y): (f64, f64)) -> bool {
    let mut inside = false;
    let mut j = ring.len().wrapping_sub(1);
    for i in 0..ring.len() {
        let ((xi, yi), (xj, yj)) = (ring[i], ring[j]);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn text(record: &dbase::Record, field: &str) -> Option<String> {
    match record.get(field)? {
        dbase::FieldValue::Character(Some(s)) => Some(s.trim().to_owned()),
        dbase::FieldValue::Memo(s) => Some(s.trim().to_owned()),
        _ => None,
    }
}

fn number(record: &dbase::Record, field: &str) -> Option<f64> {
    match record.get(field)? {
        dbase::FieldValue::Numeric(n) => *n,
        dbase::FieldValue::Float(f) => f.map(f64::from),
        dbase::FieldValue::Double(d) | dbase::FieldValue::Currency(d) => Some(*d),
        dbase::FieldValue::Integer(i) => Some(f64::from(*i)),
        dbase::FieldValue::Character(Some(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The feature's ISO alpha-2 code: `ISO_A2_EH`, else `ISO_A2`, else `WB_A2`, else an
/// alpha-3 field (`ADM0_A3`, `ISO_A3`, `SOV_A3`) through Natural Earth's own pairs.
/// Natural Earth writes `-99` (France and Norway in `ISO_A2`) and `CN-TW` (Taiwan) where
/// the code is disputed; those are not codes.
fn code_of(
    record: &dbase::Record,
    alpha3: Option<&HashMap<String, CountryCode>>,
) -> Option<CountryCode> {
    for field in ["ISO_A2_EH", "ISO_A2", "WB_A2", "iso_a2", "ISO2"] {
        if let Some(code) = text(record, field).as_deref().and_then(alpha2) {
            return Some(code);
        }
    }
    let table = alpha3?;
    ["ADM0_A3", "ISO_A3", "SOV_A3"]
        .iter()
        .filter_map(|f| text(record, f))
        .find_map(|a3| table.get(&a3).copied())
}

/// A feature's ISO 3166-2 code (`US-CA`), as its country and subdivision.
fn iso_3166_2(record: &dbase::Record) -> Option<(CountryCode, Name)> {
    let code = ["ISO_3166_2", "iso_3166_2", "ISO3166_2"]
        .iter()
        .find_map(|f| text(record, f))?;
    let (country, sub) = code.split_once('-')?;
    let sub = Subdivision::new(Some(sub), None)?.code?;
    Some((alpha2(country)?, sub))
}

fn alpha2(text: &str) -> Option<CountryCode> {
    (text.len() == 2 && text.bytes().all(|b| b.is_ascii_uppercase()))
        .then(|| CountryCode::parse(text))
        .flatten()
}

/// Alpha-3 (Natural Earth `ADM0_A3`) to alpha-2, from the embedded basemap's own records.
fn alpha3_table() -> Option<HashMap<String, CountryCode>> {
    let mut reader = dbase::Reader::new(Cursor::new(WORLD_DBF)).ok()?;
    let mut table = HashMap::new();
    for record in reader.iter_records().flatten() {
        if let (Some(a3), Some(a2)) = (
            text(&record, "ADM0_A3"),
            text(&record, "ISO_A2_EH").as_deref().and_then(alpha2),
        ) && a3.len() == 3
        {
            table.insert(a3, a2);
        }
    }
    Some(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full-resolution shapes pair with the regional records: the same countries in
    /// the same order, each drawn with at least as many points.
    #[test]
    fn the_full_resolution_basemap_is_the_regional_one_unsimplified() {
        let (full, region) = (
            Basemap::embedded(Detail::Full).unwrap(),
            Basemap::embedded(Detail::Region).unwrap(),
        );
        assert_eq!(full.countries.len(), region.countries.len());
        let points = |c: &Country| -> usize {
            c.polygons
                .iter()
                .map(|p| p.exterior.len() + p.holes.iter().map(Vec::len).sum::<usize>())
                .sum()
        };
        let (mut all_full, mut all_region) = (0, 0);
        for (f, r) in full.countries.iter().zip(&region.countries) {
            assert_eq!((f.code, &f.name), (r.code, &r.name));
            assert!(points(f) >= points(r), "{}", f.name);
            all_full += points(f);
            all_region += points(r);
        }
        assert!(all_full > 4 * all_region, "{all_full} against {all_region}");
        let sg = full.country(CountryCode::parse("SG").unwrap()).unwrap();
        assert!(points(sg) > 3 * points(region.country(sg.code.unwrap()).unwrap()));
        assert_eq!(Detail::for_area(None), Detail::World);
        assert_eq!(Detail::for_area(Some(0.5)), Detail::Full);
        assert_eq!(Detail::for_area(Some(3.0)), Detail::Full);
        assert_eq!(Detail::for_area(Some(4.6)), Detail::Region);
    }

    #[test]
    fn embedded_basemap_has_the_disputed_codes_and_the_carved_territories() {
        let map = Basemap::embedded(Detail::World).unwrap();
        for code in [
            "FR", "NO", "TW", "XK", "GF", "RE", "SJ", "BQ", "CX", "CC", "TK", "BV", "US", "SG",
            "HK", "MT",
        ] {
            let c = map.country(CountryCode::parse(code).unwrap());
            assert!(
                c.is_some_and(|c| !c.polygons.is_empty()),
                "{code} has no polygon"
            );
        }
        let fr = map.country(CountryCode::parse("FR").unwrap()).unwrap();
        // French Guiana is its own country now, not a part of France.
        let in_guiana = |p: &Polygon| {
            p.exterior
                .iter()
                .all(|(lon, lat)| (-54.7..-51.4).contains(lon) && (2.0..6.0).contains(lat))
        };
        assert!(!fr.polygons.iter().any(in_guiana));
        assert!(
            map.country(CountryCode::parse("GF").unwrap())
                .unwrap()
                .polygons
                .iter()
                .any(in_guiana)
        );
        assert!(fr.population.unwrap() > 60e6);
    }

    #[test]
    fn point_in_ring() {
        let square = vec![
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 10.0),
            (0.0, 0.0),
        ];
        assert!(contains(&square, (5.0, 5.0)));
        assert!(!contains(&square, (15.0, 5.0)));
    }
}
