//! Writing a merged tally out: country and cell tables, the summary, the tally file —
//! each written atomically (temporary file, then rename) or to stdout for `-`.

pub mod features;
pub mod geojson;
mod output;
pub mod shapefile;

pub use output::{
    OutputFile, Outputs, commit_all, guard_standard_descriptors, stdout_open, write_output,
};

use crate::input::InvalidReason;
use crate::locate::{DatabaseInfo, NotFound};
use crate::tally::{CellGrid, Located, Tally, V4, V6, unit_name};
use crate::util::trim_decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// `country,count,share`: ISO code, weight, and share of all weight with a country
/// (6 decimals), by count descending then code.
pub fn countries_csv(tally: &Tally, w: &mut dyn Write) -> io::Result<()> {
    let rows = tally.countries();
    let total: u128 = rows.iter().fold(0, |a, (_, n)| a.saturating_add(*n));
    writeln!(w, "country,count,share")?;
    for (code, n) in rows {
        let share = if total == 0 {
            0.0
        } else {
            n as f64 / total as f64
        };
        writeln!(w, "{code},{n},{share:.6}")?;
    }
    Ok(())
}

/// `lat_min,lon_min,lat_max,lon_max,count`: one row per non-empty cell, south to north,
/// then west to east.
pub fn cells_csv(tally: &Tally, grid: &CellGrid, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "lat_min,lon_min,lat_max,lon_max,count")?;
    for ((row, col), n) in tally.cells(grid) {
        let (a, b, c, d) = grid.bounds(row, col);
        writeln!(
            w,
            "{},{},{},{},{n}",
            trim_decimal(a, 6),
            trim_decimal(b, 6),
            trim_decimal(c, 6),
            trim_decimal(d, 6)
        )?;
    }
    Ok(())
}

/// Located and unlocated weight of one family.
#[derive(Serialize)]
pub struct FamilySummary {
    /// What the weights count: `addresses`, or `/64 subnets` for IPv6 prefixes.
    pub unit: &'static str,
    /// Parsed records (addresses and prefixes) of this family.
    pub records: u64,
    /// Of which prefixes.
    pub prefixes: u64,
    #[serde(flatten)]
    /// Located weight.
    pub located: Located,
    /// Weight not located.
    pub not_found: u128,
    /// By reason.
    pub not_found_reasons: BTreeMap<&'static str, u128>,
}

/// The grid cells part of the summary.
#[derive(Serialize)]
pub struct CellsSummary {
    /// Cell size in degrees.
    pub deg: f64,
    /// Non-empty cells.
    pub non_empty: usize,
    /// Why there are no cells, when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The summary JSON (`--summary`). Documented in the README; names are stable.
#[derive(Serialize)]
pub struct Summary {
    /// ipatlas version.
    pub ipatlas: &'static str,
    /// Lines read.
    pub lines: u64,
    /// Blank, comment and header lines.
    pub skipped: u64,
    /// Records that parsed.
    pub parsed: u64,
    /// Parsed records left out by `--family`.
    pub excluded: u64,
    /// Invalid records.
    pub invalid: u64,
    /// By reason.
    pub invalid_reasons: BTreeMap<&'static str, u64>,
    /// Parsed IPv4 records.
    pub ipv4: u64,
    /// Parsed IPv6 records.
    pub ipv6: u64,
    /// Located weight, both families (see `units`).
    pub found: u128,
    /// Weight not located, both families.
    pub not_found: u128,
    /// By reason, both families.
    pub not_found_reasons: BTreeMap<&'static str, u128>,
    /// Located weight with a country.
    pub with_country: u128,
    /// Located weight with coordinates.
    pub with_coords: u128,
    /// Located weight with neither.
    pub without_location: u128,
    /// Weight whose country came from `registered_country`.
    pub country_from_registered: u128,
    /// Units of the weights per family.
    pub units: BTreeMap<&'static str, &'static str>,
    /// The same figures per family, kept apart.
    pub by_family: BTreeMap<&'static str, FamilySummary>,
    /// Distinct countries.
    pub countries: usize,
    /// Grid cells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cells: Option<CellsSummary>,
    /// Distinct database records decoded (each once per run).
    pub decoded_records: u64,
    /// Inputs that ended in damage and were counted up to it (`--keep-going`).
    pub truncated_inputs: u64,
    /// Where the compiled IPv4 table came from: `built`, `cache`, or `none` (the run
    /// used the search tree only).
    pub ipv4_table: &'static str,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
    /// Worker threads.
    pub threads: usize,
    /// The (first) database.
    pub database: Option<DatabaseInfo>,
    /// All databases.
    pub databases: Vec<DatabaseInfo>,
    /// What the map drew (the `map` command only): weight drawn, outside the bbox, and at
    /// coarse locations (left out with `--drop-coarse`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map: Option<crate::render::MapReport>,
    /// Flags that could not act on this run, and why (also said on stderr).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Run facts that are not in the tally.
pub struct RunFacts {
    /// The databases.
    pub databases: Vec<DatabaseInfo>,
    /// Records decoded.
    pub decoded_records: u64,
    /// Where the compiled IPv4 table came from, if the run had one.
    pub ipv4_table: Option<crate::locate::TableSource>,
    /// Seconds.
    pub elapsed_s: f64,
    /// Threads.
    pub threads: usize,
    /// The grid, if cells were asked for or are part of the run.
    pub grid: Option<CellGrid>,
}

fn reasons<const N: usize, T: Copy, C: Default + PartialOrd>(
    all: [T; N],
    name: fn(T) -> &'static str,
    counts: impl Fn(usize) -> C,
) -> BTreeMap<&'static str, C> {
    all.iter()
        .enumerate()
        .map(|(i, r)| (name(*r), counts(i)))
        .filter(|(_, n)| *n > C::default())
        .collect()
}

impl Summary {
    /// Builds the summary of a merged tally.
    #[must_use]
    pub fn new(tally: &Tally, facts: RunFacts) -> Summary {
        let c = &tally.counters;
        let fam = |f: usize| FamilySummary {
            unit: unit_name(f, c),
            records: c.records[f],
            prefixes: c.prefixes[f],
            located: tally.located(f),
            not_found: c.not_found_total(f),
            not_found_reasons: reasons(NotFound::ALL, NotFound::name, |i| c.not_found[f][i]),
        };
        let (v4, v6) = (fam(V4), fam(V6));
        let sum = |a: u128, b: u128| a.saturating_add(b);
        let cells = facts.grid.map(|grid| {
            let non_empty = tally.cells(&grid).len();
            let note = (non_empty == 0).then(|| {
                if v4.located.found + v6.located.found == 0 {
                    "no address was located, so no cell has a count".to_owned()
                } else {
                    "the database has no coordinates (country-level only), so there are no grid cells; \
                     use a city database (e.g. scripts/fetch-geolite2-2018.sh) for cells"
                        .to_owned()
                }
            });
            CellsSummary { deg: grid.deg(), non_empty, note }
        });
        Summary {
            ipatlas: env!("CARGO_PKG_VERSION"),
            lines: c.lines,
            skipped: c.skipped,
            parsed: c.parsed,
            excluded: c.excluded,
            invalid: c.invalid_total(),
            invalid_reasons: reasons(InvalidReason::ALL, InvalidReason::name, |i| c.invalid[i]),
            ipv4: c.records[V4],
            ipv6: c.records[V6],
            found: sum(v4.located.found, v6.located.found),
            not_found: sum(v4.not_found, v6.not_found),
            not_found_reasons: reasons(NotFound::ALL, NotFound::name, |i| {
                sum(c.not_found[V4][i], c.not_found[V6][i])
            }),
            with_country: sum(v4.located.with_country, v6.located.with_country),
            with_coords: sum(v4.located.with_coords, v6.located.with_coords),
            without_location: sum(v4.located.without_location, v6.located.without_location),
            country_from_registered: sum(
                v4.located.country_from_registered,
                v6.located.country_from_registered,
            ),
            units: [("ipv4", v4.unit), ("ipv6", v6.unit)].into_iter().collect(),
            countries: tally.countries().len(),
            by_family: [("ipv4", v4), ("ipv6", v6)].into_iter().collect(),
            cells,
            decoded_records: facts.decoded_records,
            truncated_inputs: c.truncated_inputs,
            ipv4_table: facts
                .ipv4_table
                .map_or("none", crate::locate::TableSource::name),
            elapsed_s: (facts.elapsed_s * 1000.0).round() / 1000.0,
            threads: facts.threads,
            database: facts.databases.first().cloned(),
            databases: facts.databases,
            map: None,
            warnings: Vec::new(),
        }
    }
}
