//! `ipatlas build-db` (any source to `.mmdb`) and `ipatlas export` (any database to
//! GeoLite2-style CSV).

use super::DbArgs;
use clap::Args;
use ipatlas::error::{Error, Result};
use ipatlas::formats::{self, Source};
use ipatlas::locate::{Database, FieldOverrides};
use ipatlas::outputs::{OutputFile, write_output};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `build-db`.
#[derive(Args, Debug)]
pub struct BuildDbArgs {
    /// The source: an .mmdb (rewritten with only the fields maps need), CSV files, a
    /// directory of them, or the zip as distributed (GeoLite2 CSV, legacy GeoLiteCity CSV,
    /// ip-location-db CSV). Repeat for several files of one database.
    #[arg(long = "from", value_name = "SOURCE", required = true)]
    pub from: Vec<PathBuf>,
    /// The .mmdb file to write (atomically).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Refuse a source with any bad row (exit 3) instead of skipping and reporting them.
    #[arg(long)]
    pub strict: bool,
    /// No closing line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Where to write: a directory (created if missing) receives `<type>-Blocks-IPv4.csv`,
    /// `<type>-Blocks-IPv6.csv` and `<type>-Locations-en.csv`; a name ending in `.csv` receives
    /// the blocks of both families, with `<name>-Locations-en.csv` beside it.
    #[arg(short, long, value_name = "DIR|FILE.csv")]
    pub output: PathBuf,
    /// Refuse a CSV database with any bad row (exit 3).
    #[arg(long)]
    pub strict: bool,
}

/// Reads a source given as paths: one `.mmdb`, or CSV files, directories or zips.
fn read_source(paths: &[PathBuf], strict: bool) -> Result<Source> {
    let (csv, mmdb): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| formats::is_csv_source(p));
    let source = match (csv.is_empty(), mmdb.as_slice()) {
        (true, [one]) => {
            let db = if one.as_path() == Path::new("embedded") {
                Database::embedded(&FieldOverrides::default())?
            } else {
                Database::open(one, &FieldOverrides::default())?
            };
            formats::from_database(&db)?
        }
        (false, []) => formats::load(&csv.into_iter().cloned().collect::<Vec<_>>())?,
        _ => {
            return Err(Error::Usage(
                "--from takes one .mmdb, or the CSV files (or directory, or zip) of one database"
                    .into(),
            ));
        }
    };
    if strict {
        source.problems.strict()?;
    }
    for line in source.problems.report(&source.label) {
        crate::cli::say!("ipatlas: {line}");
    }
    Ok(source)
}

/// The build time to record: `$SOURCE_DATE_EPOCH` when set (reproducible builds), else the
/// data's own date (an `.mmdb`'s build date, a CSV database's date from its names, zip
/// entries or copyright notice), else, for data with no date at all, now (and a note says so).
fn build_epoch(source: &formats::Source, quiet: bool) -> u64 {
    if let Some(epoch) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
    {
        return epoch;
    }
    if source.date.epoch > 0 {
        return source.date.epoch;
    }
    if !quiet {
        crate::cli::say!(
            "ipatlas: note: {} carries no date (no date in its names, no zip entry dates, no copyright notice): the database is dated by this build",
            source.label
        );
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(super) fn run_build(args: &BuildDbArgs) -> Result<()> {
    let mut paths = super::guard::Paths::default();
    for from in &args.from {
        paths.input("--from", from);
    }
    paths.output("-o", &args.output).check()?;
    let mut source = read_source(&args.from, args.strict)?;
    let epoch = build_epoch(&source, args.quiet);
    let description = formats::describe(&source);
    let bytes = formats::to_mmdb(&mut source, &description, epoch)?;
    // Check what was written opens and decodes before it replaces anything.
    let check = Database::from_memory(
        args.output.display().to_string(),
        bytes.clone(),
        &FieldOverrides::default(),
    )?;
    drop(check);
    let path = args.output.to_string_lossy();
    write_output(&args.output, |w| w.write_all(&bytes))?;
    if !args.quiet {
        crate::cli::say!(
            "ipatlas: wrote {path}: {} ({} bytes): {} IPv4 and {} IPv6 ranges, {} distinct records",
            source.database_type,
            bytes.len(),
            source.v4.len(),
            source.v6.len(),
            source.records.len()
        );
    }
    Ok(())
}

pub(super) fn run_export(args: &ExportArgs) -> Result<()> {
    super::refuse_asn_db(&args.db, "export")?;
    if args.db.db.len() > 1 {
        return Err(Error::Usage(
            "export writes one database at a time: give one --db".into(),
        ));
    }
    let out = &args.output;
    if out.as_os_str() == "-" {
        return Err(Error::Usage(
            "export writes several files (blocks and locations): -o takes a directory or a \
             FILE.csv, not - (stdout)"
                .into(),
        ));
    }
    let name = out.to_string_lossy().into_owned();
    let atlas = args
        .db
        .open_strict(args.strict, ipatlas::locate::cache::default_dir())?;
    let Some(db) = atlas.databases().first() else {
        return Err(Error::Usage("no database to export".into()));
    };
    let source = formats::from_database(db)?;
    // Names taken from the database's metadata are sanitised, so every file lands in `out`.
    let stem = ipatlas::util::safe_file_name(&source.database_type);
    let names: Vec<std::path::PathBuf> = if name.to_ascii_lowercase().ends_with(".csv") {
        // FILE.csv and FILE-Locations-en.csv beside it, whatever bytes FILE is made of.
        let mut locations = out.with_extension("").into_os_string();
        locations.push("-Locations-en.csv");
        vec![out.clone(), locations.into()]
    } else {
        ["Blocks-IPv4.csv", "Blocks-IPv6.csv", "Locations-en.csv"]
            .iter()
            .map(|suffix| out.join(format!("{stem}-{suffix}")))
            .collect()
    };
    let mut paths = super::guard::Paths::default();
    args.db.declare(&mut paths);
    for n in &names {
        paths.output("-o", n);
    }
    paths.check()?;
    if let [blocks, locations] = names.as_slice() {
        let blocks = OutputFile::create(blocks)?;
        let locations = OutputFile::create(locations)?;
        write_pair(&source, &blocks, None, &locations)?;
        ipatlas::outputs::commit_all(vec![locations, blocks])?;
    } else {
        super::create_output_dir(out)?;
        let files = names
            .iter()
            .map(OutputFile::create)
            .collect::<Result<Vec<_>>>()?;
        write_pair(&source, &files[0], Some(&files[1]), &files[2])?;
        ipatlas::outputs::commit_all(files)?;
    }
    Ok(())
}

fn write_pair(
    source: &Source,
    v4: &OutputFile,
    v6: Option<&OutputFile>,
    locations: &OutputFile,
) -> Result<()> {
    let mut w4 = v4.writer()?;
    let mut w6 = v6.map(OutputFile::writer).transpose()?;
    let mut wl = locations.writer()?;
    formats::export_csv(
        source,
        formats::CsvOut {
            blocks_v4: &mut w4,
            blocks_v6: w6.as_mut().map(|w| w as &mut dyn Write),
            locations: &mut wl,
        },
    )
    .map_err(|e| Error::output(v4.name(), e))?;
    w4.flush().map_err(|e| Error::output(v4.name(), e))?;
    wl.flush().map_err(|e| Error::output(locations.name(), e))?;
    if let (Some(w), Some(f)) = (w6.as_mut(), v6) {
        w.flush().map_err(|e| Error::output(f.name(), e))?;
    }
    Ok(())
}
