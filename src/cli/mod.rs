//! The command line: clap definitions shared by the commands, database discovery, and `main`.

mod aggregate;
mod builddb;
mod compare;
mod geojson;
mod guard;
mod info;
mod lookup;
mod map;
mod merge;
mod observer;
mod sample;
mod signals;

/// `eprintln!` made safe: formats the whole line, then [`stderr_line`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::stderr_line(format!($($arg)*))
    };
}
pub(crate) use say;

/// Writes one line to stderr as one write (so concurrent output cannot split it); a
/// failure, such as a closed stderr, is ignored rather than a panic or another exit code.
/// Control characters other than line breaks and tabs (terminal escapes, from a file name
/// or a database's metadata) are written escaped.
pub(crate) fn stderr_line(line: impl std::fmt::Display) {
    use std::io::Write;
    let mut text = ipatlas::util::printable(&line.to_string());
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

use clap::{Args, Parser, Subcommand};
use ipatlas::error::{Error, ErrorKind, Result};
use ipatlas::input::{ColumnSpec, InputMode};
use ipatlas::locate::{Atlas, CountryFallback, FieldOverrides, FieldPath};
use ipatlas::pipeline::{Families, RunOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Examples:
  ipatlas map --whole-db -o atlas/                   map of the whole address space
  ipatlas aggregate --whole-db                       country table of the whole address space
  ipatlas aggregate access.log.gz --extract --summary s.json
  ipatlas aggregate --db GeoLite2-City.mmdb ips.txt --countries c.csv --cells cells.csv
  ipatlas lookup 8.8.8.8 --format jsonl              (arguments that are addresses are looked up)
  zcat dump.gz | ipatlas aggregate - --tally part1.json
  ipatlas geojson part1.json --layer countries -o countries.geojson
  ipatlas render part1.json -o view.html             interactive page: pan, zoom, hover, layers
  ipatlas compare 2012.json 2026.json -o change/     then versus now: tables and a change map

Databases: --db, else $IPATLAS_DB, else GeoLite2-City.mmdb, GeoIP2-City.mmdb or
dbip-city-lite*.mmdb in /usr/share/GeoIP, /var/lib/GeoIP, /usr/local/share/GeoIP, else the
embedded DB-IP IP to Country Lite database. IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0.

Exit codes: 0 ok; 1 input or output error; 2 bad usage, database or tally; 3 invalid record under --strict;
70 internal failure.";

/// Resolve IP address lists against MaxMind-DB geolocation databases and count them per
/// country and per grid cell.
#[derive(Parser, Debug)]
#[command(name = "ipatlas", version, about, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Describe a database: type, build date, IP version, record size, schema.
    Info(info::InfoArgs),
    /// One row per input record: ip,country,latitude,longitude,accuracy_radius,network.
    Lookup(lookup::LookupArgs),
    /// Count addresses per country and per grid cell; write tables, summary and tally.
    Aggregate(aggregate::AggregateArgs),
    /// Add tally files together (e.g. the shards of one dump).
    Merge(merge::MergeArgs),
    /// Compare two tallies (then versus now): country and cell tables of shares, change
    /// and ratio, and a map of the change.
    Compare(compare::CompareArgs),
    /// Resolve, aggregate and draw in one run: map.png and map.html plus tables, summary and
    /// GeoJSON.
    Map(map::MapCommandArgs),
    /// Draw a map (PNG and other images, or an interactive HTML page) from a saved tally,
    /// without resolving again.
    Render(map::RenderArgs),
    /// Write a GeoJSON layer (cells, places, countries or hex) or a shapefile, from a tally or inputs.
    Geojson(geojson::GeojsonArgs),
    /// Write N synthetic addresses drawn from a database's located address space.
    Sample(sample::SampleArgs),
    /// Convert a database (GeoLite2 CSV, legacy GeoLiteCity CSV, ip-location-db CSV, or an
    /// .mmdb) into an .mmdb with GeoLite2-shaped records that every MaxMind reader opens.
    BuildDb(builddb::BuildDbArgs),
    /// Write a database as GeoLite2-style CSV (blocks and locations).
    Export(builddb::ExportArgs),
}

/// Which database(s) to use and how to read their records.
#[derive(Args, Debug, Clone, Default)]
pub struct DbArgs {
    /// Database: an .mmdb file (repeat for separate IPv4 and IPv6 files), or a CSV database
    /// (GeoLite2 CSV, legacy GeoLiteCity CSV, ip-location-db CSV) as its files, their
    /// directory or the zip as distributed. `embedded` is the built-in DB-IP country database.
    #[arg(long = "db", value_name = "DB")]
    pub db: Vec<PathBuf>,
    /// Dotted path of the country code in records (default: detected).
    #[arg(long, value_name = "PATH")]
    pub country_field: Option<String>,
    /// Dotted path of the latitude in records (default: detected).
    #[arg(long, value_name = "PATH")]
    pub lat_field: Option<String>,
    /// Dotted path of the longitude in records (default: detected).
    #[arg(long, value_name = "PATH")]
    pub lon_field: Option<String>,
    /// Where a record has no `country`: leave it unknown, or use `registered_country`.
    #[arg(long, value_enum, default_value_t = CountryFallback::None)]
    pub country_fallback: CountryFallback,
    /// ASN database (GeoLite2-ASN .mmdb, or ip-location-db's asn .mmdb or CSV): each address
    /// also gets its network (autonomous system), for --asns, --country-asns and lookup's
    /// asn column. Runs then use the search tree, not the compiled IPv4 table.
    #[arg(long, value_name = "FILE")]
    pub asn_db: Option<PathBuf>,
}

/// Where the addresses come from: the databases, and the inputs or the whole database.
#[derive(Args, Debug)]
pub struct SourceArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Tally every network of the database, weighted by its size (IPv4 counts addresses,
    /// IPv6 counts /64 subnets), instead of reading inputs. IPv4 only unless --family says otherwise.
    #[arg(long, conflicts_with_all = ["inputs", "column", "extract"])]
    pub whole_db: bool,
}

/// A tally with what it was resolved against.
pub(crate) struct Resolved {
    pub tally: ipatlas::tally::Tally,
    pub databases: Vec<ipatlas::locate::DatabaseInfo>,
    /// Records decoded (0 when read from a tally file).
    pub decoded_records: u64,
    /// Where the compiled IPv4 table came from, if the run had one.
    pub ipv4_table: Option<ipatlas::locate::TableSource>,
    /// Where the compiled IPv6 table came from, if the run had one.
    pub ipv6_table: Option<ipatlas::locate::TableSource>,
    /// Where a CSV database's conversion came from, if the run had one.
    pub csv_database: Option<ipatlas::locate::TableSource>,
    /// Worker threads the run used (0 when read from a tally file).
    pub threads: usize,
}

impl SourceArgs {
    /// Declares the files this source reads (databases and inputs) for the output check.
    pub(crate) fn declare(&self, paths: &mut guard::Paths) {
        self.db.declare(paths);
        if !self.whole_db {
            for input in &self.input.inputs {
                paths.input("input", input);
            }
        }
    }

    /// The run options, with `--whole-db` counting IPv4 unless `--family` says otherwise.
    pub fn run_options(&self) -> Result<RunOptions> {
        self.input.run_options(if self.whole_db {
            Families::Ipv4
        } else {
            Families::All
        })
    }

    /// Reads a tally file when the only input is one; otherwise resolves the inputs (or the
    /// whole database).
    pub(crate) fn resolve(&self) -> Result<Resolved> {
        if let [only] = self.input.inputs.as_slice()
            && !self.input.extract
            && self.input.column.is_none()
            && let Some(text) = read_if_tally(only)?
        {
            let (tally, databases) =
                ipatlas::tally::Tally::from_json(&only.to_string_lossy(), &text)?;
            return Ok(Resolved {
                tally,
                databases,
                decoded_records: 0,
                ipv4_table: None,
                ipv6_table: None,
                csv_database: None,
                threads: 0,
            });
        }
        let atlas = self
            .db
            .open_strict(self.input.strict, self.input.cache_dir())?;
        let options = self.run_options()?;
        let (tally, threads) = with_threads(self.input.threads, || {
            // Read inside the pool: the threads this run's work actually ran on.
            let threads = rayon::current_num_threads();
            let tally = if self.whole_db {
                ipatlas::pipeline::aggregate_whole_db(&atlas, &options)
            } else {
                ipatlas::pipeline::aggregate(&atlas, &self.input.input_list()?, &options, None)
            }?;
            Ok((tally, threads))
        })?;
        if !self.input.quiet
            && let Some(hint) = column_hint(&tally)
        {
            crate::cli::say!("ipatlas: hint: {hint}");
        }
        Ok(Resolved {
            tally,
            databases: atlas.infos(),
            decoded_records: atlas.decoded_records(),
            ipv4_table: atlas.table_source(),
            ipv6_table: atlas.table6_source(),
            csv_database: atlas.csv_source(),
            threads,
        })
    }
}

/// The text of `path` when it is meant as a tally file: a regular file whose first 64 KiB
/// (after a byte-order mark and blanks) start with `{` and name `ipatlas-tally`, whatever
/// the key order. Such a file is then parsed whole, and a damaged one is an error rather
/// than an address list of invalid lines. Anything else (an address list, a JSON-lines log,
/// compressed input, stdin) is left to the pipeline, and never read whole here.
fn read_if_tally(path: &Path) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    if path.as_os_str() == "-" {
        return Ok(None);
    }
    let Ok((file, _)) = ipatlas::util::open_regular(path) else {
        return Ok(None);
    };
    let mut head = Vec::with_capacity(1 << 16);
    if file.take(1 << 16).read_to_end(&mut head).is_err() {
        return Ok(None);
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    if head.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{')
        || memchr::memmem::find(head, ipatlas::tally::TALLY_FORMAT.as_bytes()).is_none()
    {
        return Ok(None);
    }
    ipatlas::util::read_file(path)
        .map(Some)
        .map_err(|source| Error::Input {
            path: path.to_string_lossy().into_owned(),
            source,
        })
}

/// How inputs are read.
#[derive(Args, Debug, Clone, Default)]
pub struct InputArgs {
    /// Input files; `-` or none reads stdin. gzip, zstd, bzip2 and xz are decompressed
    /// (recognised by their content).
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Take the address from this CSV/TSV column (1-based number or header name).
    #[arg(long, value_name = "N|NAME", conflicts_with = "extract")]
    pub column: Option<String>,
    /// Field separator for --column: a character, or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",", requires = "column")]
    pub delimiter: String,
    /// With --column: the field holding each record's weight, a whole number (1-based number
    /// or header name). A record counts its weight, a prefix its size times its weight, and
    /// every count is then of weighted addresses; a bad weight is an invalid record
    /// (`bad_weight`).
    #[arg(long, value_name = "N|NAME", requires = "column")]
    pub weight_column: Option<String>,
    /// Take every IPv4/IPv6 address found anywhere in each line (logs).
    #[arg(long)]
    pub extract: bool,
    /// Count only one address family.
    #[arg(long, value_enum)]
    pub family: Option<Families>,
    /// Stop with exit code 3 at the first invalid record.
    #[arg(long)]
    pub strict: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub threads: Option<usize>,
    /// No progress bar and no closing summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// IPv4 lookups: auto (the search tree while a compiled table is built alongside, then
    /// the table), tree, or table (build it first). For benchmarks; answers are the same.
    #[arg(long, value_enum, default_value_t = ipatlas::pipeline::LookupStrategy::Auto)]
    pub lookup: ipatlas::pipeline::LookupStrategy,
    /// Where compiled IPv4 tables and converted CSV databases are cached, keyed by the
    /// database's checksum (default: $IPATLAS_CACHE_DIR, else $XDG_CACHE_HOME/ipatlas, else
    /// ~/.cache/ipatlas).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the cache (tables, converted CSV databases).
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// A damaged compressed input (truncated or corrupt .gz, .zst, .bz2 or .xz) counts its
    /// complete lines up to the damage, says so on stderr and in the summary, and the run
    /// goes on; without it the run stops with exit code 1.
    #[arg(long)]
    pub keep_going: bool,
}

impl InputArgs {
    /// The inputs, with stdin for none.
    pub fn input_list(&self) -> Result<Vec<ipatlas::input::Input>> {
        if self.inputs.is_empty() {
            if std::io::stdin().is_terminal() {
                return Err(Error::Usage(
                    "no input: name files, or pipe addresses into `-` (see --help)".into(),
                ));
            }
            return Ok(vec![ipatlas::input::Input::Stdin]);
        }
        Ok(self
            .inputs
            .iter()
            .map(|p| ipatlas::input::Input::arg(p.clone()))
            .collect())
    }

    /// The run options these flags describe.
    pub fn run_options(&self, default_family: Families) -> Result<RunOptions> {
        let mode = if self.extract {
            InputMode::Extract
        } else if let Some(col) = &self.column {
            let delimiter = match self.delimiter.as_str() {
                "tab" | "\\t" | "\t" => b'\t',
                d if d.len() == 1 => d.as_bytes()[0],
                d => {
                    return Err(Error::Usage(format!(
                        "--delimiter must be one character or `tab`, got {d:?}"
                    )));
                }
            };
            let spec = |flag: &str, text: &String| match text.parse::<usize>() {
                Ok(0) => Err(Error::Usage(format!("{flag} numbers start at 1"))),
                Ok(n) => Ok(ColumnSpec::Index(n - 1)),
                Err(_) => Ok(ColumnSpec::Name(text.clone())),
            };
            let column = spec("--column", col)?;
            let weight = self
                .weight_column
                .as_ref()
                .map(|w| spec("--weight-column", w))
                .transpose()?;
            if weight.is_some() && weight.as_ref() == Some(&column) {
                return Err(Error::Usage(
                    "--weight-column names the address column itself".into(),
                ));
            }
            InputMode::Column {
                column,
                delimiter,
                weight,
            }
        } else {
            InputMode::Lines
        };
        Ok(RunOptions {
            mode,
            family: self.family.unwrap_or(default_family),
            strict: self.strict,
            observer: observer::CliObserver::handle(!self.quiet && std::io::stderr().is_terminal()),
            lookup: self.lookup,
            keep_going: self.keep_going,
            cache_dir: self.cache_dir(),
            detail: ipatlas::tally::PlaceDetail::Full,
        })
    }

    /// Where tables and converted CSV databases are cached: `--cache-dir`, else the
    /// default place; none with `--no-cache`.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        if self.no_cache {
            None
        } else {
            self.cache_dir
                .clone()
                .or_else(ipatlas::locate::cache::default_dir)
        }
    }
}

/// `--cell DEG`, parsed and checked once for every command: a grid of `DEG`-degree cells.
/// clap quotes what was typed in the error, with the flag.
fn cell_grid(text: &str) -> std::result::Result<ipatlas::tally::CellGrid, String> {
    let deg: f64 = text
        .trim()
        .parse()
        .map_err(|_| "not a number of degrees".to_owned())?;
    ipatlas::tally::CellGrid::new(deg).map_err(|_| {
        format!(
            "must be between {} and 180 degrees",
            ipatlas::tally::CellGrid::MIN_DEG
        )
    })
}

/// Process exit codes; documented in the README ("Exit codes").
pub mod exit {
    /// The run completed (invalid records, if any, are counted in the summary).
    pub const OK: u8 = 0;
    /// An input could not be read or an output could not be written.
    pub const IO: u8 = 1;
    /// Bad usage, or a database or tally that is missing, corrupt or of the wrong kind.
    pub const BAD_DATA: u8 = 2;
    /// `--strict` was given and an invalid record was found.
    pub const STRICT: u8 = 3;
    /// A failure that is not the input's: a bug, or memory exhausted.
    pub const INTERNAL: u8 = 70;
}

/// The exit code for an error.
fn exit_code(e: &Error) -> u8 {
    match (e, e.kind()) {
        (Error::Strict { .. }, _) => exit::STRICT,
        (_, ErrorKind::Io) => exit::IO,
        (_, ErrorKind::InvalidInput | ErrorKind::Database | ErrorKind::Tally) => exit::BAD_DATA,
        (_, ErrorKind::Internal) => exit::INTERNAL,
    }
}

/// The unit a map or layer shows, and a message about the choice.
pub(crate) struct UnitChoice {
    /// The unit shown.
    pub unit: ipatlas::tally::Unit,
    /// `--unit` names a unit with nothing located: the output is empty.
    pub warning: Option<String>,
    /// The tally holds the other unit too, which is not shown.
    pub note: Option<String>,
}

/// The unit a map or layer shows: `--unit`, else the one the tally located anything in
/// (addresses first).
pub(crate) fn choose_unit(
    tally: &ipatlas::tally::Tally,
    asked: Option<ipatlas::tally::Unit>,
    what: &str,
) -> UnitChoice {
    use ipatlas::tally::Unit;
    let found = |u: Unit| tally.located_unit(u).found;
    match asked {
        Some(arg) => {
            let unit = arg;
            let warning = (found(unit) == 0).then(|| {
                format!(
                    "--unit {}: no {} were located, so the {what} is empty",
                    unit.flag(),
                    unit.label()
                )
            });
            UnitChoice {
                unit,
                warning,
                note: None,
            }
        }
        None => {
            let unit = Unit::default_for(tally);
            let other = Unit::ALL.into_iter().find(|u| *u != unit && found(*u) > 0);
            let note = other.map(|o| {
                format!(
                    "this run counted {} and {} (IPv6 prefixes), which are never added together: the {what} shows the {}; --unit {} shows the {}",
                    Unit::Addresses.label(),
                    Unit::Subnets64.label(),
                    unit.label(),
                    o.flag(),
                    o.label()
                )
            });
            UnitChoice {
                unit,
                warning: None,
                note,
            }
        }
    }
}

/// The directories searched for a database when neither `--db` nor `$IPATLAS_DB` is set
/// (geoipupdate's usual places). `$IPATLAS_SEARCH_PATH` (colon-separated) replaces them.
pub const SEARCH_DIRS: [&str; 3] = [
    "/usr/share/GeoIP",
    "/var/lib/GeoIP",
    "/usr/local/share/GeoIP",
];

/// Database files looked for in each search directory, in order.
fn is_candidate(name: &str) -> Option<u8> {
    if name == "GeoLite2-City.mmdb" {
        Some(0)
    } else if name == "GeoIP2-City.mmdb" {
        Some(1)
    } else if name.starts_with("dbip-city-lite") && name.ends_with(".mmdb") {
        Some(2)
    } else {
        None
    }
}

/// Where a discovered database was found, for messages.
fn discovery_origin() -> String {
    if std::env::var_os("IPATLAS_DB").is_some_and(|p| !p.is_empty()) {
        "$IPATLAS_DB".to_owned()
    } else if std::env::var_os("IPATLAS_SEARCH_PATH").is_some() {
        "$IPATLAS_SEARCH_PATH".to_owned()
    } else {
        format!("the search path {}", SEARCH_DIRS.join(":"))
    }
}

/// Where the database comes from when `--db` is not given.
#[must_use]
pub fn discover_database() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("IPATLAS_DB").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let dirs: Vec<PathBuf> = match std::env::var_os("IPATLAS_SEARCH_PATH") {
        Some(p) => std::env::split_paths(&p).collect(),
        None => SEARCH_DIRS.iter().map(PathBuf::from).collect(),
    };
    for rank in 0..3 {
        for dir in &dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| is_candidate(n) == Some(rank))
                .collect();
            names.sort();
            if let Some(n) = names.last() {
                return Some(dir.join(n));
            }
        }
    }
    None
}

impl DbArgs {
    /// Warnings for field overrides that matched nothing: a `--country-field` no located
    /// record has, or `--lat-field`/`--lon-field` that gave no coordinates.
    pub(crate) fn field_warnings(&self, tally: &ipatlas::tally::Tally) -> Vec<String> {
        use ipatlas::tally::Unit;
        let mut warnings = Vec::new();
        // Only a field named on the command line can be missing (no pass over the places
        // otherwise).
        if self.country_field.is_none() && self.lat_field.is_none() && self.lon_field.is_none() {
            return warnings;
        }
        let (a, s) = (
            tally.located_unit(Unit::Addresses),
            tally.located_unit(Unit::Subnets64),
        );
        if a.found == 0 && s.found == 0 {
            return warnings;
        }
        if let Some(path) = &self.country_field
            && a.with_country == 0
            && s.with_country == 0
        {
            warnings.push(format!(
                "--country-field {path}: no located record has it, so no address has a country"
            ));
        }
        if (self.lat_field.is_some() || self.lon_field.is_some())
            && a.with_coords == 0
            && s.with_coords == 0
        {
            warnings.push(
                "--lat-field/--lon-field: no located record has both, so no address has coordinates"
                    .to_owned(),
            );
        }
        warnings
    }

    /// Declares the database files for the output check.
    pub(crate) fn declare(&self, paths: &mut guard::Paths) {
        if self.db.is_empty()
            && let Some(found) = discover_database()
        {
            paths.input("the database", found);
        }
        for db in &self.db {
            if db != Path::new("embedded") {
                paths.input("--db", db);
            }
        }
        if let Some(db) = &self.asn_db {
            paths.input("--asn-db", db);
        }
    }

    fn overrides(&self) -> Result<FieldOverrides> {
        let parse = |o: &Option<String>| {
            o.as_deref()
                .map(FieldPath::parse)
                .transpose()
                .map_err(Error::Usage)
        };
        Ok(FieldOverrides {
            country: parse(&self.country_field)?,
            lat: parse(&self.lat_field)?,
            lon: parse(&self.lon_field)?,
        })
    }

    /// Opens the databases named, or the discovered one, or the embedded one (a CSV
    /// database's conversion cached where tables are).
    pub fn open(&self) -> Result<Atlas> {
        self.open_strict(false, ipatlas::locate::cache::default_dir())
    }

    /// Like [`DbArgs::open`]; with `strict`, a CSV database with any bad row is refused
    /// (exit 3) instead of being reported on stderr and used without those rows. A CSV
    /// database's conversion is cached in `cache_dir` (none: converted every time).
    pub fn open_strict(&self, strict: bool, cache_dir: Option<PathBuf>) -> Result<Atlas> {
        let overrides = self.overrides()?;
        let discovered = self.db.is_empty();
        let paths: Vec<PathBuf> = if discovered {
            discover_database().into_iter().collect()
        } else {
            self.db.clone()
        };
        let result = self
            .open_paths(&paths, strict, overrides, cache_dir)
            .map(|mut atlas| {
                // Warnings about the table cache go to stderr.
                atlas.set_observer(observer::CliObserver::handle(false));
                atlas
            });
        match result {
            // Say where a database nobody named on the command line came from.
            Err(Error::Database { path, message }) if discovered => Err(Error::Database {
                path,
                message: format!("{message} (found through {})", discovery_origin()),
            }),
            other => other,
        }
    }

    fn open_paths(
        &self,
        paths: &[PathBuf],
        strict: bool,
        overrides: FieldOverrides,
        cache_dir: Option<PathBuf>,
    ) -> Result<Atlas> {
        let options = ipatlas::locate::OpenOptions {
            overrides,
            fallback: self.country_fallback,
            strict,
            cache_dir,
            asn_db: self.asn_db.clone(),
        };
        let atlas = Atlas::open(paths, &options)?;
        for line in atlas.csv_problems() {
            crate::cli::say!("ipatlas: {line}");
        }
        Ok(atlas)
    }
}

/// `--asn-db` is for commands that count or look up addresses.
pub(crate) fn refuse_asn_db(db: &DbArgs, command: &str) -> Result<()> {
    if db.asn_db.is_some() {
        return Err(Error::Usage(format!(
            "{command} does not read --asn-db (aggregate, map, sample and lookup do)"
        )));
    }
    Ok(())
}

/// Creates the directory an `-o` names (with its parents); a file already there is a usage
/// error saying so, not the system's "File exists".
pub(crate) fn create_output_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Usage(format!(
            "-o {}: a file is there, and -o names the directory the outputs are written into",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir.display().to_string(), e))
}

/// Runs `f` on a rayon pool of `threads` threads (all cores when `None`).
pub(crate) fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        if n == 0 {
            return Err(Error::Usage("--threads must be at least 1".into()));
        }
        // More workers than cores only adds switching and per-thread tables to merge.
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        if n > cores {
            crate::cli::say!(
                "ipatlas: note: --threads {n} capped at {cores}, the number of cores here"
            );
        }
        builder = builder.num_threads(n.min(cores));
    }
    let pool = builder
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {threads:?} threads: {e}")))?;
    pool.install(f)
}

/// Parses the command line and runs it; returns the process exit code.
pub fn main() -> ExitCode {
    ipatlas::outputs::guard_standard_descriptors();
    signals::install();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::BAD_DATA
            } else {
                exit::OK
            };
            // One write, whatever clap has to say; stdout for --help and --version.
            let text = e.render().to_string();
            if e.use_stderr() {
                // The same prefix as every other message.
                stderr_line(format!("ipatlas: {}", text.trim_end()));
            } else {
                use std::io::Write;
                let _ = std::io::stdout().lock().write_all(text.as_bytes());
            }
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Info(a) => info::run(&a),
        Command::Lookup(a) => lookup::run(&a),
        Command::Aggregate(a) => aggregate::run(&a),
        Command::Merge(a) => merge::run(&a),
        Command::Compare(a) => compare::run(&a),
        Command::Geojson(a) => geojson::run(&a),
        Command::Map(a) => map::run_map(&a),
        Command::Render(a) => map::run_render(&a),
        Command::Sample(a) => sample::run(&a),
        Command::BuildDb(a) => builddb::run_build(&a),
        Command::Export(a) => builddb::run_export(&a),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) if e.is_broken_pipe() => ExitCode::from(exit::OK),
        Err(e) => {
            // One line, with file names and metadata made safe for a terminal; a library
            // option is named by its flag.
            let text = match &e {
                Error::Option { name, message } => {
                    format!("--{} {message}", name.replace('_', "-"))
                }
                other => other.to_string(),
            };
            crate::cli::say!("ipatlas: error: {}", ipatlas::util::escape_controls(&text));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// A hint when most lines that were not addresses start with one before a tab or a comma:
/// a table read without `--column` (the ipsum feed is `IP<TAB>count`).
pub(crate) fn column_hint(tally: &ipatlas::tally::Tally) -> Option<String> {
    let unread = tally.counters.invalid[ipatlas::input::InvalidReason::NotAnAddress.index()];
    let [tab, comma] = tally.separated_addresses;
    let (n, flags, what) = if tab >= comma {
        (tab, "--column 1 --delimiter tab", "a tab")
    } else {
        (comma, "--column 1", "a comma")
    };
    (unread > 0 && n.saturating_mul(2) >= unread).then(|| {
        format!(
            "{n} of the {unread} lines that are not addresses start with one followed by {what}: to read them, add {flags}"
        )
    })
}

/// One human line for the end of a run on a terminal (`aggregate`, `map`, `geojson`): the
/// counts in each unit the run counted, then the databases' attributions.
pub(crate) fn closing_line(s: &ipatlas::outputs::Summary) -> String {
    let rate = if s.elapsed_s > 0.0 {
        s.lines as f64 / s.elapsed_s
    } else {
        0.0
    };
    let mut dbs: Vec<String> = Vec::new();
    for d in &s.databases {
        let name = format!("{} ({})", d.display_name(), d.build_date);
        if !dbs.contains(&name) {
            dbs.push(name);
        }
    }
    let figures = |f: &ipatlas::outputs::UnitFigures| {
        format!(
            "{} {} located ({} with country, {} with coordinates), {} not found",
            f.located.found,
            f.kind.noun_of(f.located.found, s.weight.is_some()),
            f.located.with_country,
            f.located.with_coords,
            f.not_found
        )
    };
    let mut counted: Vec<String> = [&s.addresses, &s.subnets_64]
        .into_iter()
        .filter(|f| f.located.found > 0 || f.not_found > 0)
        .map(figures)
        .collect();
    if counted.is_empty() {
        counted.push(figures(&s.addresses));
    }
    let mut line = format!(
        "ipatlas: {} lines, {} parsed, {} invalid; {}; {} countries; {:.2} s ({:.2}M lines/s, {} threads); database {}",
        s.lines,
        s.parsed,
        s.invalid,
        counted.join("; "),
        s.countries,
        s.elapsed_s,
        rate / 1e6,
        s.threads,
        dbs.join(" + ")
    );
    let mut attributions: Vec<&str> = Vec::new();
    for a in s.databases.iter().filter_map(|d| d.attribution.as_deref()) {
        if !attributions.contains(&a) {
            attributions.push(a);
        }
    }
    for a in attributions {
        line.push_str("\n  ");
        line.push_str(a);
    }
    line
}
