//! Writing a merged tally out: country and cell tables, the summary, the tally file —
//! each written atomically (temporary file, then rename) or to stdout for `-`.

mod details;
pub mod features;
mod file;
pub mod geojson;
pub mod shapefile;

pub use details::{asns_csv, cities_csv, country_asns_csv, subdivisions_csv};
pub use file::{
    OutputFile, Outputs, commit_all, guard_standard_descriptors, stdout_open, write_output,
};

use crate::input::Family;
use crate::input::InvalidReason;
use crate::locate::{DatabaseInfo, NotFound};
use crate::tally::{CellGrid, Column, Located, Tally, Unit};
use crate::util::trim_decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// `country,count,share,unit`: ISO code, weight, its share of all weight found in the
/// database in that unit (6 decimals), and the unit; by unit (addresses first), then count
/// descending, then code.
pub fn countries_csv(tally: &Tally, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "country,count,share,unit")?;
    for unit in tally.units() {
        let found = tally.located_unit(unit).found;
        for (code, n) in tally.countries(unit) {
            writeln!(
                w,
                "{code},{n},{:.6},{}",
                share(n, found),
                tally.unit_label(unit)
            )?;
        }
    }
    Ok(())
}

/// A count's share of a total, or 0 when the total is 0. The one meaning of `share` in
/// every table and layer: of all weight found in the database, in the count's unit.
#[must_use]
pub fn share(n: u128, total: u128) -> f64 {
    if total == 0 {
        0.0
    } else {
        n as f64 / total as f64
    }
}

/// `lat_min,lon_min,lat_max,lon_max,count,unit`: one row per non-empty cell and unit, by
/// unit (addresses first), then south to north, then west to east.
pub fn cells_csv(tally: &Tally, grid: &CellGrid, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "lat_min,lon_min,lat_max,lon_max,count,unit")?;
    for unit in tally.units() {
        for ((row, col), n) in tally.cells(grid, unit) {
            let (a, b, c, d) = grid.bounds(row, col);
            writeln!(
                w,
                "{},{},{},{},{n},{}",
                trim_decimal(a, 6),
                trim_decimal(b, 6),
                trim_decimal(c, 6),
                trim_decimal(d, 6),
                tally.unit_label(unit)
            )?;
        }
    }
    Ok(())
}

/// Located and unlocated weight in one unit.
#[derive(Serialize)]
pub struct UnitFigures {
    /// What the figures count: `addresses` or `/64 subnets`.
    pub unit: &'static str,
    /// The unit itself.
    #[serde(skip)]
    pub kind: Unit,
    /// Located weight.
    #[serde(flatten)]
    pub located: Located,
    /// Located weight whose record gave a pseudo-code (`EU`, `A1`, `ZZ`, ...) instead of
    /// a country, by code: counted as without a country.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pseudo_countries: BTreeMap<String, u128>,
    /// Weight not located.
    pub not_found: u128,
    /// By reason.
    pub not_found_reasons: BTreeMap<&'static str, u128>,
}

impl UnitFigures {
    fn new(
        unit: Unit,
        weighted: bool,
        located: Located,
        pseudo: BTreeMap<crate::locate::CountryCode, u128>,
        not_found: &[u128; NotFound::ALL.len()],
    ) -> Self {
        UnitFigures {
            unit: unit.label_of(weighted),
            kind: unit,
            pseudo_countries: pseudo
                .into_iter()
                .map(|(c, n)| (c.to_string(), n))
                .collect(),
            located,
            not_found: not_found.iter().fold(0, |a, n| a.saturating_add(*n)),
            not_found_reasons: reasons(NotFound::ALL, NotFound::name, |i| not_found[i]),
        }
    }
}

/// The records of one family, and the addresses they counted.
#[derive(Serialize)]
pub struct FamilySummary {
    /// Parsed records (addresses and prefixes) of this family.
    pub records: u64,
    /// Of which prefixes.
    pub prefixes: u64,
    /// The addresses: IPv4 records, or single IPv6 addresses (the /64 subnets of IPv6
    /// prefixes are in the summary's `subnets_64`).
    #[serde(flatten)]
    pub figures: UnitFigures,
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
    /// Weighted records (`--weight-column`): the weight column and the sum of the
    /// counted records' weights; every figure below is then a sum of weights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<WeightSummary>,
    /// Addresses (IPv4, and single IPv6 addresses): found, not found, with a country...
    #[serde(flatten)]
    pub addresses: UnitFigures,
    /// The same figures for the /64 subnets of IPv6 prefixes, never added to addresses.
    pub subnets_64: UnitFigures,
    /// Records and addresses per family.
    pub by_family: BTreeMap<&'static str, FamilySummary>,
    /// Distinct countries (in either unit).
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
    /// Where the compiled IPv6 table came from, when the run had one: `built` or `cache`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_table: Option<&'static str>,
    /// For a CSV database: `built` (converted in this run) or `cache` (the conversion
    /// cache).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv_database: Option<&'static str>,
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
    /// What the interactive page holds (`map.html`): its size and each layer's features,
    /// and the layers left out for size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<crate::render::HtmlReport>,
    /// Flags that could not act on this run, and why (also said on stderr).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The weighting of a weighted run.
#[derive(Serialize)]
pub struct WeightSummary {
    /// The weight column, as named on the command line (`column 2`) or by its header.
    pub column: String,
    /// The sum of the counted records' weights.
    pub total: u128,
}

/// Run facts that are not in the tally.
pub struct RunFacts {
    /// The databases.
    pub databases: Vec<DatabaseInfo>,
    /// Records decoded.
    pub decoded_records: u64,
    /// Where the compiled IPv4 table came from, if the run had one.
    pub ipv4_table: Option<crate::locate::TableSource>,
    /// Where the compiled IPv6 table came from, if the run had one.
    pub ipv6_table: Option<crate::locate::TableSource>,
    /// Where a CSV database's conversion came from.
    pub csv_database: Option<crate::locate::TableSource>,
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
        let weighted = tally.weight.is_some();
        let fam = |f: Family| FamilySummary {
            records: c.records[f.index()],
            prefixes: c.prefixes[f.index()],
            figures: UnitFigures::new(
                Unit::Addresses,
                weighted,
                tally.located(Column::of(f, false)),
                BTreeMap::new(),
                &c.not_found[Column::of(f, false).index()],
            ),
        };
        // A unit the run counted nothing in has no located weight, pseudo-countries, cells
        // or countries: those passes over the places are skipped for it.
        let units = tally.units();
        let unit = |u: Unit| {
            let (located, pseudo) = if units.contains(&u) {
                (tally.located_unit(u), tally.pseudo_countries(u))
            } else {
                (Located::default(), BTreeMap::new())
            };
            UnitFigures::new(u, weighted, located, pseudo, &c.not_found_unit(u))
        };
        let (addresses, subnets_64) = (unit(Unit::Addresses), unit(Unit::Subnets64));
        let cells = facts.grid.map(|grid| {
            let non_empty = match units.as_slice() {
                [one] => tally.cells(&grid, *one).len(),
                all => all
                    .iter()
                    .flat_map(|u| tally.cells(&grid, *u).into_keys())
                    .collect::<std::collections::BTreeSet<(u32, u32)>>()
                    .len(),
            };
            let note = (non_empty == 0).then(|| {
                if addresses.located.found == 0 && subnets_64.located.found == 0 {
                    "no address was located, so no cell has a count".to_owned()
                } else {
                    "the database has no coordinates (country-level only), so there are no grid cells; \
                     use a city database (e.g. scripts/fetch-geolite2-2018.sh) for cells"
                        .to_owned()
                }
            });
            CellsSummary { deg: grid.deg(), non_empty, note }
        });
        let countries: std::collections::BTreeSet<_> = units
            .iter()
            .flat_map(|u| tally.countries(*u).into_iter().map(|(c, _)| c))
            .collect();
        Summary {
            ipatlas: env!("CARGO_PKG_VERSION"),
            lines: c.lines,
            skipped: c.skipped,
            parsed: c.parsed,
            excluded: c.excluded,
            invalid: c.invalid_total(),
            invalid_reasons: reasons(InvalidReason::ALL, InvalidReason::name, |i| c.invalid[i]),
            ipv4: c.records[Family::Ipv4.index()],
            ipv6: c.records[Family::Ipv6.index()],
            weight: tally.weight.as_ref().map(|column| WeightSummary {
                column: column.clone(),
                total: c.weight,
            }),
            addresses,
            subnets_64,
            countries: countries.len(),
            by_family: Family::ALL
                .into_iter()
                .map(|f| (f.name(), fam(f)))
                .collect(),
            cells,
            decoded_records: facts.decoded_records,
            truncated_inputs: c.truncated_inputs,
            ipv4_table: facts
                .ipv4_table
                .map_or("none", crate::locate::TableSource::name),
            ipv6_table: facts.ipv6_table.map(crate::locate::TableSource::name),
            csv_database: facts.csv_database.map(crate::locate::TableSource::name),
            elapsed_s: (facts.elapsed_s * 1000.0).round() / 1000.0,
            threads: facts.threads,
            database: facts.databases.first().cloned(),
            databases: facts.databases,
            map: None,
            html: None,
            warnings: Vec::new(),
        }
    }
}
