//! `ipatlas aggregate`: resolve inputs (or the whole database) into country and cell counts.

use super::guard::Paths;
use super::{SourceArgs, with_threads};
use clap::Args;
use ipatlas::error::{Error, Result};
use ipatlas::outputs::{self as tables, OutputFile, Outputs, RunFacts, Summary};
use ipatlas::pipeline::{self, InvalidSink};
use ipatlas::tally::{CellGrid, Tally};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

/// `aggregate` arguments.
#[derive(Args, Debug)]
pub struct AggregateArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Grid cell size in degrees (0.01 to 180).
    #[arg(long, value_name = "DEG", default_value = "1", value_parser = super::cell_grid, allow_hyphen_values = true)]
    cell: CellGrid,
    /// Write the countries table (country,count,share) here; `-` for stdout.
    #[arg(long, value_name = "FILE")]
    countries: Option<PathBuf>,
    /// Write the subdivisions table (country,subdivision,name,count,share,unit) here: states,
    /// provinces, regions, where the database names them.
    #[arg(long, value_name = "FILE")]
    subdivisions: Option<PathBuf>,
    /// Write the cities table (country,subdivision,city,latitude,longitude,count,share,unit)
    /// here, for databases with city names.
    #[arg(long, value_name = "FILE")]
    cities: Option<PathBuf>,
    /// Write the networks table (asn,organization,count,share,unit) here (needs --asn-db).
    #[arg(long, value_name = "FILE")]
    asns: Option<PathBuf>,
    /// Write each country's networks (country,rank,asn,organization,count,share,
    /// country_share,unit) here (needs --asn-db).
    #[arg(long, value_name = "FILE")]
    country_asns: Option<PathBuf>,
    /// Keep the first N rows of the subdivisions, cities and networks tables (per unit; per
    /// country for --country-asns).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    top: Option<u64>,
    /// Write the grid cells table (lat_min,lon_min,lat_max,lon_max,count) here.
    #[arg(long, value_name = "FILE")]
    cells: Option<PathBuf>,
    /// Write the summary (JSON) here.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Write the mergeable tally (JSON, versioned) here.
    #[arg(long, value_name = "FILE")]
    tally: Option<PathBuf>,
    /// Write invalid records (input,line,reason,text) here.
    #[arg(long, value_name = "FILE")]
    invalid_out: Option<PathBuf>,
}

pub(super) fn run(args: &AggregateArgs) -> Result<()> {
    let started = Instant::now();
    let mut paths = Paths::default();
    args.source.declare(&mut paths);
    for (flag, out) in [
        ("--tally", &args.tally),
        ("--summary", &args.summary),
        ("--cells", &args.cells),
        ("--countries", &args.countries),
        ("--subdivisions", &args.subdivisions),
        ("--cities", &args.cities),
        ("--asns", &args.asns),
        ("--country-asns", &args.country_asns),
        ("--invalid-out", &args.invalid_out),
    ] {
        if let Some(path) = out {
            paths.output(flag, path);
        }
    }
    let mut outputs = paths.check()?;
    let grid = args.cell;
    let atlas = args
        .source
        .db
        .open_strict(args.source.input.strict, args.source.input.cache_dir())?;
    let mut options = args.source.run_options()?;
    // Countries, cells and the summary read a place's country and coordinates only: a run
    // that writes no table naming more (nor a tally file) keeps no more.
    let named = [
        &args.tally,
        &args.subdivisions,
        &args.cities,
        &args.asns,
        &args.country_asns,
    ];
    if named.iter().all(|out| out.is_none()) {
        options.detail = ipatlas::tally::PlaceDetail::Coarse;
    }
    let inputs = if args.source.whole_db {
        Vec::new()
    } else {
        args.source.input.input_list()?
    };
    let threads = args.source.input.threads;

    let (tally, threads_used) = with_threads(threads, || {
        let n = rayon::current_num_threads();
        if args.source.whole_db {
            return Ok((pipeline::aggregate_whole_db(&atlas, &options)?, n));
        }
        let invalid_out = args
            .invalid_out
            .as_deref()
            .map(InvalidOut::open)
            .transpose()?;
        let tally = pipeline::aggregate(
            &atlas,
            &inputs,
            &options,
            invalid_out.as_ref().map(|o| &o.sink),
        )?;
        if let Some(out) = invalid_out {
            outputs.add(out.finish());
        }
        Ok((tally, n))
    })?;

    let facts = RunFacts {
        databases: atlas.infos(),
        decoded_records: atlas.decoded_records(),
        ipv4_table: atlas.table_source(),
        ipv6_table: atlas.table6_source(),
        csv_database: atlas.csv_source(),
        elapsed_s: started.elapsed().as_secs_f64(),
        threads: threads_used,
        grid: Some(grid),
    };
    let mut summary = Summary::new(&tally, facts);
    summary.warnings = args.source.db.field_warnings(&tally);
    summary.warnings.extend(detail_warnings(args, &tally));
    for w in &summary.warnings {
        crate::cli::say!("ipatlas: warning: {w}");
    }
    write_outputs(&mut outputs, args, &tally, &grid, &summary, &atlas);
    outputs.commit()?;
    if let Some(note) = summary.cells.as_ref().and_then(|c| c.note.as_ref())
        && args.cells.is_some()
        && !args.source.input.quiet
    {
        crate::cli::say!("ipatlas: note: {note}");
    }
    if !args.source.input.quiet
        && let Some(hint) = super::column_hint(&tally)
    {
        crate::cli::say!("ipatlas: hint: {hint}");
    }
    if !args.source.input.quiet && std::io::stderr().is_terminal() {
        crate::cli::say!("{}", super::closing_line(&summary));
    }
    Ok(())
}

fn write_outputs(
    outputs: &mut Outputs,
    args: &AggregateArgs,
    tally: &Tally,
    grid: &CellGrid,
    summary: &Summary,
    atlas: &ipatlas::Atlas,
) {
    let nothing_asked = args.countries.is_none()
        && args.subdivisions.is_none()
        && args.cities.is_none()
        && args.asns.is_none()
        && args.country_asns.is_none()
        && args.cells.is_none()
        && args.summary.is_none()
        && args.tally.is_none();
    if let Some(path) = &args.tally {
        outputs.write(path, |w| tally.write(atlas.infos(), w));
    }
    if let Some(path) = &args.summary {
        outputs.write(path, |w| {
            serde_json::to_writer_pretty(&mut *w, summary)?;
            writeln!(w)
        });
    }
    if let Some(path) = &args.cells {
        outputs.write(path, |w| tables::cells_csv(tally, grid, w));
    }
    if let Some(path) = &args.countries {
        outputs.write(path, |w| tables::countries_csv(tally, w));
    }
    let top = args.top.and_then(|n| usize::try_from(n).ok());
    if let Some(path) = &args.subdivisions {
        outputs.write(path, |w| tables::subdivisions_csv(tally, top, w));
    }
    if let Some(path) = &args.cities {
        outputs.write(path, |w| tables::cities_csv(tally, top, w));
    }
    if let Some(path) = &args.asns {
        outputs.write(path, |w| tables::asns_csv(tally, top, w));
    }
    if let Some(path) = &args.country_asns {
        outputs.write(path, |w| tables::country_asns_csv(tally, top, w));
    }
    if nothing_asked {
        outputs.write("-", |w| tables::countries_csv(tally, w));
    }
}

/// A table of subdivisions, cities or networks asked of a run whose places have none: the
/// table is written (its header), and this says why it is empty.
fn detail_warnings(args: &AggregateArgs, tally: &Tally) -> Vec<String> {
    let mut out = Vec::new();
    // Only tables asked for can be empty (no pass over the places otherwise).
    let asked = args.subdivisions.is_some()
        || args.cities.is_some()
        || args.asns.is_some()
        || args.country_asns.is_some();
    if !asked {
        return out;
    }
    let (subdivisions, cities, networks) = tally.has_details();
    let found = tally
        .units()
        .into_iter()
        .any(|u| tally.located_unit(u).found > 0);
    if !found {
        return out;
    }
    if args.subdivisions.is_some() && !subdivisions {
        out.push("--subdivisions: the database names no subdivision for any address found (a country-level database?): the table is empty".to_owned());
    }
    if args.cities.is_some() && !cities {
        out.push("--cities: the database names no city for any address found (a country-level database?): the table is empty".to_owned());
    }
    if (args.asns.is_some() || args.country_asns.is_some()) && !networks {
        out.push(
            "--asns/--country-asns: no address found has a network (give --asn-db FILE)".to_owned(),
        );
    }
    out
}

/// `--invalid-out`: rows go to an [`OutputFile`], committed at the end of a successful run.
struct InvalidOut {
    sink: InvalidSink,
    file: OutputFile,
}

impl InvalidOut {
    fn open(path: &std::path::Path) -> Result<Self> {
        let file = OutputFile::create(path)?;
        let sink = InvalidSink::new(file.writer()?).map_err(|e| Error::output(file.name(), e))?;
        Ok(InvalidOut { sink, file })
    }

    /// The complete file, to commit with the run's other outputs.
    fn finish(self) -> Result<OutputFile> {
        drop(
            self.sink
                .finish()
                .map_err(|e| Error::output(self.file.name(), e))?,
        );
        Ok(self.file)
    }
}
