//! Tally files: the JSON a tally is saved as (read back, merged, drawn), versions 1 to 4.

use super::{Column, Counters, Tally};
use crate::error::{Error, Result};
use crate::input::Family;
use crate::input::InvalidReason;
use crate::locate::{
    CountryCode, CountrySource, DatabaseInfo, Name, Network, NotFound, Place, PlaceDetail,
    Subdivision,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Name written in every tally file.
pub const TALLY_FORMAT: &str = "ipatlas-tally";
/// Version of the tally file format this build writes. Version 2 keeps the /64 subnets of
/// IPv6 prefixes apart from IPv6 addresses (`subnets_64`); version 1 files are read too.
/// Version 3 is written for weighted tallies only (`weight`, and the counters' `weight`), so
/// that an older ipatlas refuses them rather than reading weights as addresses; unweighted
/// tallies are still written as version 2. Version 4 is written when places carry a
/// subdivision, a city or a network (`subdivision`, `city`, `network`), which older readers
/// would drop.
pub const TALLY_VERSION: u32 = 4;

/// The version written for unweighted tallies whose places are countries and coordinates.
const UNWEIGHTED_VERSION: u32 = 2;

/// The version written for weighted tallies whose places are countries and coordinates.
const WEIGHTED_VERSION: u32 = 3;

/// A tally as saved to disk (JSON). Documented in the README ("Tally files").
#[derive(Serialize, Deserialize)]
pub struct TallyFile {
    /// Always [`TALLY_FORMAT`].
    pub format: String,
    /// [`TALLY_VERSION`] when written by this build.
    pub version: u32,
    /// The ipatlas version that wrote it.
    pub generator: String,
    /// The databases the addresses were resolved against.
    pub databases: Vec<DatabaseInfo>,
    /// The weight column, when records were weighted (version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<String>,
    /// What the places keep (`"coarse"`: country and coordinates only; absent: all).
    #[serde(default, skip_serializing_if = "is_full")]
    pub detail: PlaceDetail,
    /// The counters.
    pub counters: CountersFile,
    /// One row per place with weight.
    pub places: Vec<PlaceRow>,
}

/// Counters with named reasons.
#[derive(Serialize, Deserialize, Default)]
pub struct CountersFile {
    lines: u64,
    skipped: u64,
    parsed: u64,
    #[serde(default)]
    excluded: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    truncated_inputs: u64,
    invalid_reasons: BTreeMap<String, u64>,
    ipv4_records: u64,
    ipv6_records: u64,
    ipv4_prefixes: u64,
    ipv6_prefixes: u64,
    ipv4_not_found: BTreeMap<String, u128>,
    ipv6_not_found: BTreeMap<String, u128>,
    #[serde(default)]
    subnets_64_not_found: BTreeMap<String, u128>,
    /// The sum of the counted records' weights (weighted tallies only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weight: Option<u128>,
}

/// One place and its weights. The place's fields are spelled out rather than flattened:
/// serde's flattening cannot carry 128-bit integers, and weights can exceed 2^64.
#[derive(Serialize, Deserialize)]
pub struct PlaceRow {
    pub(super) country: Option<CountryCode>,
    #[serde(default, skip_serializing_if = "is_country")]
    pub(super) country_source: CountrySource,
    pub(super) lat: Option<f64>,
    pub(super) lon: Option<f64>,
    pub(super) accuracy_radius: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) pseudo_country: Option<CountryCode>,
    /// The first-level subdivision (version 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) subdivision: Option<Subdivision>,
    /// The city's name (version 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) city: Option<Name>,
    /// The autonomous system (version 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) network: Option<Network>,
    /// IPv4 addresses.
    pub(super) ipv4: u128,
    /// Single IPv6 addresses.
    pub(super) ipv6: u128,
    /// /64 subnets of IPv6 prefixes.
    #[serde(default)]
    pub(super) subnets_64: u128,
}

fn is_full(detail: &PlaceDetail) -> bool {
    *detail == PlaceDetail::Full
}

fn is_country(source: &CountrySource) -> bool {
    *source == CountrySource::Country
}

impl PlaceRow {
    /// The row of a place and its weights.
    pub(super) fn new(place: &Place, w: &[u128; super::COLUMNS]) -> Self {
        PlaceRow {
            country: place.country,
            country_source: place.country_source,
            lat: place.lat,
            lon: place.lon,
            accuracy_radius: place.accuracy_radius,
            pseudo_country: place.pseudo_country,
            subdivision: place.subdivision(),
            city: place.city(),
            network: place.network(),
            ipv4: w[Column::Ipv4.index()],
            ipv6: w[Column::Ipv6.index()],
            subnets_64: w[Column::Subnets64.index()],
        }
    }

    /// The place, with the one rule for pseudo-codes: never a country.
    fn place(&self) -> Place {
        let country = self.country.filter(|c| !c.is_pseudo());
        Place {
            country,
            country_source: self.country_source,
            lat: self.lat,
            lon: self.lon,
            accuracy_radius: self.accuracy_radius,
            pseudo_country: self
                .pseudo_country
                .or(self.country)
                .filter(|c| country.is_none() && c.is_pseudo()),
            details: None,
        }
        .with_names(self.subdivision, self.city)
        .with_network(self.network)
    }

    /// Whether the row needs version 4 to be read whole.
    pub(super) fn is_detailed(&self) -> bool {
        self.subdivision.is_some() || self.city.is_some() || self.network.is_some()
    }
}

fn named<const N: usize, T: Copy, C: Copy + Default + PartialOrd>(
    all: [T; N],
    name: impl Fn(T) -> &'static str,
    counts: &[C; N],
) -> BTreeMap<String, C> {
    all.iter()
        .zip(counts)
        .filter(|(_, n)| **n > C::default())
        .map(|(r, n)| (name(*r).to_owned(), *n))
        .collect()
}

fn unnamed<const N: usize, T: Copy, C: Copy + Default>(
    all: [T; N],
    name: impl Fn(T) -> &'static str,
    map: &BTreeMap<String, C>,
) -> std::result::Result<[C; N], String> {
    let mut out = [C::default(); N];
    for (key, n) in map {
        let i = all
            .iter()
            .position(|r| name(*r) == key)
            .ok_or_else(|| format!("unknown reason {key:?}"))?;
        out[i] = *n;
    }
    Ok(out)
}

impl Tally {
    /// Reads a tally file (any version this build reads), with the databases it names.
    pub fn read(path: impl AsRef<std::path::Path>) -> Result<(Tally, Vec<DatabaseInfo>)> {
        let path = path.as_ref();
        let name = path.to_string_lossy();
        let text = crate::util::read_file(path).map_err(|source| Error::Input {
            path: name.clone().into_owned(),
            source,
        })?;
        Tally::from_json(&name, &text)
    }

    /// Writes this tally as a tally file (one line of JSON), naming `databases`.
    ///
    /// ```
    /// use ipatlas::locate::{Atlas, OpenOptions};
    /// use ipatlas::pipeline::RunOptions;
    /// use ipatlas::Tally;
    ///
    /// let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
    /// let mut a = atlas.aggregate_lines(["8.8.8.8"], &RunOptions::default())?;
    /// let b = atlas.aggregate_lines(["8.8.4.4"], &RunOptions::default())?;
    /// a.merge(&b);
    /// let mut file = Vec::new();
    /// a.checked()?.write(atlas.infos(), &mut file)?;
    /// let (back, _) = Tally::from_json("memory", &file)?;
    /// assert_eq!(back.countries(ipatlas::tally::Unit::Addresses)[0].1, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write(
        &self,
        databases: Vec<DatabaseInfo>,
        w: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        serde_json::to_writer(&mut *w, &self.to_file(databases))?;
        writeln!(w)
    }

    /// The file form of this tally.
    #[must_use]
    pub fn to_file(&self, databases: Vec<DatabaseInfo>) -> TallyFile {
        let mut file = self.file_header(databases);
        file.places = self
            .places()
            .into_iter()
            .map(|(place, w)| PlaceRow::new(&place, &w))
            .collect();
        if file.places.iter().any(PlaceRow::is_detailed) {
            file.version = TALLY_VERSION;
        }
        file
    }

    /// The tally file without its places: format, version, databases, counters.
    pub(super) fn file_header(&self, databases: Vec<DatabaseInfo>) -> TallyFile {
        let c = &self.counters;
        let counters = CountersFile {
            lines: c.lines,
            skipped: c.skipped,
            parsed: c.parsed,
            excluded: c.excluded,
            truncated_inputs: c.truncated_inputs,
            invalid_reasons: named(InvalidReason::ALL, InvalidReason::name, &c.invalid),
            ipv4_records: c.records[Family::Ipv4.index()],
            ipv6_records: c.records[Family::Ipv6.index()],
            ipv4_prefixes: c.prefixes[Family::Ipv4.index()],
            ipv6_prefixes: c.prefixes[Family::Ipv6.index()],
            ipv4_not_found: named(
                NotFound::ALL,
                NotFound::name,
                &c.not_found[Column::Ipv4.index()],
            ),
            ipv6_not_found: named(
                NotFound::ALL,
                NotFound::name,
                &c.not_found[Column::Ipv6.index()],
            ),
            subnets_64_not_found: named(
                NotFound::ALL,
                NotFound::name,
                &c.not_found[Column::Subnets64.index()],
            ),
            weight: self.weight.as_ref().map(|_| c.weight),
        };
        TallyFile {
            format: TALLY_FORMAT.to_owned(),
            version: if self.weight.is_some() {
                WEIGHTED_VERSION
            } else {
                UNWEIGHTED_VERSION
            },
            generator: format!("ipatlas {}", env!("CARGO_PKG_VERSION")),
            databases,
            weight: self.weight.clone(),
            detail: self.detail,
            counters,
            places: Vec::new(),
        }
    }

    /// Reads a tally file's text. `path` is only for messages.
    pub fn from_json(path: &str, text: &[u8]) -> Result<(Tally, Vec<DatabaseInfo>)> {
        Tally::from_file(path, Tally::parse_file(path, text)?)
    }

    /// A tally file's JSON text parsed and checked (format, version; a version-1 file
    /// upgraded), its counters and places not yet.
    pub(super) fn parse_file(path: &str, text: &[u8]) -> Result<TallyFile> {
        let bad = |message: String| Error::Tally {
            path: path.to_owned(),
            message,
        };
        let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        // The header first (any other fields ignored), then the whole file parsed straight
        // into its types: through serde_json::Value, weights over 2^64 would become floats.
        #[derive(Deserialize)]
        struct Header {
            format: Option<serde_json::Value>,
            version: Option<serde_json::Value>,
        }
        let header: Header = serde_json::from_slice(text)
            .map_err(|e| bad(format!("not a tally file (invalid JSON: {e})")))?;
        if header.format.as_ref().and_then(|v| v.as_str()) != Some(TALLY_FORMAT) {
            return Err(bad(format!(
                "not a tally file (no \"format\": \"{TALLY_FORMAT}\")"
            )));
        }
        let version = match header.version.as_ref().and_then(serde_json::Value::as_u64) {
            Some(v @ 1..=TALLY_VERSION_U64) => v,
            Some(v) => {
                return Err(bad(format!(
                    "tally format version {v}; this ipatlas reads versions 1 to {TALLY_VERSION} (upgrade ipatlas)"
                )));
            }
            None => return Err(bad("tally file has no version".into())),
        };
        let mut file: TallyFile =
            serde_json::from_slice(text).map_err(|e| bad(format!("malformed tally: {e}")))?;
        if version == 1 {
            upgrade_v1(&mut file).map_err(bad)?;
        }
        Ok(file)
    }

    /// The tally of a parsed tally file, its counters and places checked.
    pub(super) fn from_file(path: &str, file: TallyFile) -> Result<(Tally, Vec<DatabaseInfo>)> {
        let bad = |message: String| Error::Tally {
            path: path.to_owned(),
            message,
        };
        let cf = &file.counters;
        let counters = Counters {
            lines: cf.lines,
            skipped: cf.skipped,
            parsed: cf.parsed,
            excluded: cf.excluded,
            truncated_inputs: cf.truncated_inputs,
            invalid: unnamed(InvalidReason::ALL, InvalidReason::name, &cf.invalid_reasons)
                .map_err(&bad)?,
            records: [cf.ipv4_records, cf.ipv6_records],
            prefixes: [cf.ipv4_prefixes, cf.ipv6_prefixes],
            not_found: [
                unnamed(NotFound::ALL, NotFound::name, &cf.ipv4_not_found).map_err(&bad)?,
                unnamed(NotFound::ALL, NotFound::name, &cf.ipv6_not_found).map_err(&bad)?,
                unnamed(NotFound::ALL, NotFound::name, &cf.subnets_64_not_found).map_err(&bad)?,
            ],
            weight: cf.weight.unwrap_or(0),
        };
        if file.weight.as_deref().is_some_and(str::is_empty) {
            return Err(bad(
                "a weighted tally with an empty weight column name".into()
            ));
        }
        let mut tally = Tally {
            counters,
            weight: file.weight.clone(),
            ..Tally::with_detail(file.detail)
        };
        tally.reserve(file.places.len());
        for row in &file.places {
            let p = &row.place();
            let coords_ok = match (p.lat, p.lon) {
                (Some(lat), Some(lon)) => {
                    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)
                }
                (None, None) => true,
                _ => false,
            };
            if !coords_ok {
                return Err(bad(format!(
                    "place with invalid coordinates: {:?}, {:?}",
                    p.lat, p.lon
                )));
            }
            let slot = tally.slot(*p);
            tally.add(slot, Column::Ipv4, row.ipv4);
            tally.add(slot, Column::Ipv6, row.ipv6);
            tally.add(slot, Column::Subnets64, row.subnets_64);
        }
        let tally = tally.checked().map_err(|e| bad(e.to_string()))?;
        Ok((tally, file.databases))
    }
}

/// A version-1 tally kept one IPv6 weight: /64 subnets when the run had IPv6 prefixes,
/// addresses otherwise. Moves it to its column, or refuses a file that added the two.
fn upgrade_v1(file: &mut TallyFile) -> std::result::Result<(), String> {
    let c = &mut file.counters;
    if c.ipv6_prefixes == 0 {
        return Ok(());
    }
    if c.ipv6_prefixes < c.ipv6_records {
        return Err(format!(
            "this version-1 tally added {} single IPv6 addresses and the /64 subnets of {} IPv6 prefixes into one count, \
             which cannot be taken apart; resolve the inputs again with this ipatlas",
            c.ipv6_records - c.ipv6_prefixes,
            c.ipv6_prefixes
        ));
    }
    c.subnets_64_not_found = std::mem::take(&mut c.ipv6_not_found);
    for row in &mut file.places {
        row.subnets_64 = std::mem::take(&mut row.ipv6);
    }
    Ok(())
}

const TALLY_VERSION_U64: u64 = TALLY_VERSION as u64;

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}
