//! Databases distributed as CSV (legacy GeoLiteCity, GeoLite2 CSV, ip-location-db), and
//! writing `.mmdb` files and GeoLite2-style CSV.
//!
//! Every source becomes one [`Source`]: address ranges, each pointing at a [`Record`] (the
//! fields maps need). A CSV database given as `--db` is turned into an MMDB in memory by the
//! same writer `build-db` uses, so every command then runs exactly as on an `.mmdb` file.

mod mmdb;
mod readers;
pub(crate) use readers::range_end;
mod write;

pub use write::{CsvOut, export_csv, from_database, to_mmdb};

use crate::error::{Error, Result};
use crate::locate::CountryCode;
use std::collections::BTreeMap;
use std::io::Read;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

/// What a record says, GeoLite2-shaped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// `country.iso_code`.
    pub country: Option<CountryCode>,
    /// `registered_country.iso_code`.
    pub registered: Option<CountryCode>,
    /// `location.latitude`, `location.longitude`.
    pub coords: Option<(f64, f64)>,
    /// `location.accuracy_radius`, kilometres.
    pub accuracy_radius: Option<u32>,
    /// `city.names.en`.
    pub city: Option<String>,
    /// `subdivisions[0].iso_code` and `subdivisions[0].names.en`.
    pub subdivision: Option<(Option<String>, Option<String>)>,
}

impl Record {
    fn key(&self) -> RecordKey {
        RecordKey {
            country: self.country,
            registered: self.registered,
            coords: self.coords.map(|(a, b)| (a.to_bits(), b.to_bits())),
            accuracy_radius: self.accuracy_radius,
            city: self.city.clone(),
            subdivision: self.subdivision.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RecordKey {
    country: Option<CountryCode>,
    registered: Option<CountryCode>,
    coords: Option<(u64, u64)>,
    accuracy_radius: Option<u32>,
    city: Option<String>,
    subdivision: Option<(Option<String>, Option<String>)>,
}

/// When a database's data is from, and how that was found: never from the clock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataDate {
    /// Seconds since the Unix epoch (the first day of the year when only the year is
    /// known); 0 when unknown.
    pub epoch: u64,
    /// `YYYY-MM-DD`, `YYYY` when only the year is known, or `unknown`.
    pub text: String,
    /// Where it was found: `metadata` (an `.mmdb`'s build date), `file name`
    /// (`GeoLiteCity_20130101`), `zip entry date`, `copyright line` (the year of legacy
    /// files' notice) or `file modification time`; empty when unknown.
    pub from: &'static str,
}

impl DataDate {
    /// A known day.
    #[must_use]
    pub fn day(epoch: u64, from: &'static str) -> Self {
        DataDate {
            epoch,
            text: crate::util::utc_date(epoch),
            from,
        }
    }

    fn ymd(y: i64, m: u32, d: u32, from: &'static str) -> Option<Self> {
        let valid = (1990..=2200).contains(&y)
            && (1..=12).contains(&m)
            && (1..=days_in_month(y, m)).contains(&d);
        valid.then(|| Self::day(crate::util::epoch_of(y, m, d), from))
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A date written as 8 digits in a name (`GeoLiteCity_20130101`,
/// `GeoLite2-City-CSV_20260101.zip`): the last valid one.
fn date_in_name(name: &str) -> Option<DataDate> {
    let bytes = name.as_bytes();
    let mut found = None;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i - start == 8 {
            let n = |a: usize, b: usize| name[a..b].parse::<u32>().ok();
            if let (Some(y), Some(m), Some(d)) = (
                n(start, start + 4),
                n(start + 4, start + 6),
                n(start + 6, start + 8),
            ) {
                found = DataDate::ymd(i64::from(y), m, d, "file name").or(found);
            }
        }
    }
    found
}

/// The year of a `Copyright (c) 2008-2012 MaxMind ...` notice (its last year).
fn copyright_year(head: &str) -> Option<DataDate> {
    let line = head
        .trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .find(|l| l.to_ascii_lowercase().starts_with("copyright"))?;
    let year = line
        .rsplit(|c: char| !c.is_ascii_digit())
        .filter(|w| w.len() == 4)
        .filter_map(|w| w.parse::<i64>().ok())
        .find(|y| (1990..=2200).contains(y))?;
    Some(DataDate {
        epoch: crate::util::epoch_of(year, 1, 1),
        text: year.to_string(),
        from: "copyright line",
    })
}

/// A database read from CSV (or walked from an `.mmdb`): ranges and the records they name.
#[derive(Debug, Default)]
pub struct Source {
    /// What it was read from, for messages and metadata.
    pub label: String,
    /// The `database_type` to write: the source's own kind (`GeoLite2-City`, `GeoLiteCity`,
    /// `ip-location-db-...`), so attributions follow the data.
    pub database_type: String,
    /// When the data is from (see [`DataDate`]): what `build-db` records unless
    /// `$SOURCE_DATE_EPOCH` is set, and what outputs show for a CSV database.
    pub date: DataDate,
    /// IPv4 ranges `(first, last, record)`, inclusive.
    pub v4: Vec<(u32, u32, u32)>,
    /// IPv6 ranges `(first, last, record)`, inclusive.
    pub v6: Vec<(u128, u128, u32)>,
    /// The distinct records.
    pub records: Vec<Record>,
    /// Rows that were skipped, by reason, with the first few named.
    pub problems: Problems,
    index: rustc_hash::FxHashMap<RecordKey, u32>,
    /// Where each range came from (file, line), until [`Source::settle`] checks overlaps.
    v4_lines: Vec<(u32, u64)>,
    v6_lines: Vec<(u32, u64)>,
    files: Vec<String>,
}

impl Source {
    fn new(label: String, database_type: String) -> Self {
        Source {
            label,
            database_type,
            ..Source::default()
        }
    }

    /// The id of a record, interning it.
    pub fn intern(&mut self, record: Record) -> u32 {
        let key = record.key();
        if let Some(id) = self.index.get(&key) {
            return *id;
        }
        let id = self.records.len() as u32;
        self.records.push(record);
        self.index.insert(key, id);
        id
    }

    /// A file's index, for [`Source::push_v4`] and [`Source::push_v6`].
    fn file(&mut self, name: &str) -> u32 {
        self.files.push(name.to_owned());
        (self.files.len() - 1) as u32
    }

    fn push_v4(&mut self, first: u32, last: u32, record: u32, at: (u32, u64)) {
        self.v4.push((first, last, record));
        self.v4_lines.push(at);
    }

    /// An IPv6 range. The parts of it inside the IPv4 subtree (`::/96`) or its aliases
    /// (`::ffff:0:0/96`, `2002::/16`), which the IPv4 rows answer, are cut out and reported
    /// as `aliased_network` with the row's file and line; the rest is kept.
    fn push_v6(&mut self, first: u128, last: u128, record: u32, at: (u32, u64)) {
        // `from` is where the part still to keep starts; None once nothing is left.
        let mut from = Some(first);
        let mut cut = Vec::new();
        for (a, b) in mmdb::ipv4_answered_ranges() {
            let Some(f) = from else { break };
            if b < f || a > last {
                continue;
            }
            if a > f {
                self.v6.push((f, a - 1, record));
                self.v6_lines.push(at);
            }
            cut.push(format!(
                "{}-{}",
                Ipv6Addr::from(a.max(f)),
                Ipv6Addr::from(b.min(last))
            ));
            from = b.checked_add(1).filter(|&next| next <= last);
        }
        if let Some(f) = from {
            self.v6.push((f, last, record));
            self.v6_lines.push(at);
        }
        for text in cut {
            self.problem(at, Problem::AliasedNetwork, &text);
        }
    }

    /// A CIDR network's range, as [`Source::push_v4`] or [`Source::push_v6`].
    fn push_network(&mut self, network: ipnetwork::IpNetwork, record: u32, at: (u32, u64)) {
        match network {
            ipnetwork::IpNetwork::V4(n) => {
                self.push_v4(u32::from(n.network()), u32::from(n.broadcast()), record, at);
            }
            ipnetwork::IpNetwork::V6(n) => {
                let first = u128::from(n.network());
                self.push_v6(
                    first,
                    crate::util::block_last(first, n.prefix()),
                    record,
                    at,
                );
            }
        }
    }

    /// Reports lines of a file that were too long to read (see `readers::MAX_ROW_BYTES`).
    fn too_long(&mut self, file: u32, lines: &[u64]) {
        for &line in lines {
            self.problem((file, line), Problem::FieldTooLong, "");
        }
    }

    fn problem(&mut self, at: (u32, u64), problem: Problem, text: &str) {
        let file = self.files.get(at.0 as usize).map_or("", String::as_str);
        self.problems.add(file, at.1, problem, text);
    }

    /// Sorts the ranges and drops (and counts) those overlapping an earlier one.
    fn settle(&mut self) {
        // "The first stands" means first in the files: ranges are taken in file order, and
        // one that overlaps a range already taken is dropped, wherever it lies.
        fn settle<T: Copy + Ord>(
            ranges: &mut Vec<(T, T, u32)>,
            lines: &mut Vec<(u32, u64)>,
            show: impl Fn(T) -> String,
            mut report: impl FnMut((u32, u64), String),
        ) {
            let mut order: Vec<usize> = (0..ranges.len()).collect();
            order.sort_by_key(|&i| lines[i]);
            // Taken ranges, disjoint, by start: only the last one starting at or before a
            // new range's end can overlap it.
            let mut taken: BTreeMap<T, (T, u32)> = BTreeMap::new();
            for i in order {
                let (first, last, record) = ranges[i];
                let overlaps = taken
                    .range(..=last)
                    .next_back()
                    .is_some_and(|(_, &(end, _))| end >= first);
                if overlaps {
                    report(lines[i], format!("{}-{}", show(first), show(last)));
                    continue;
                }
                taken.insert(first, (last, record));
            }
            *ranges = taken
                .into_iter()
                .map(|(first, (last, record))| (first, last, record))
                .collect();
            lines.clear();
        }
        let mut found = Vec::new();
        let v4 = |a: u32| std::net::Ipv4Addr::from(a).to_string();
        let v6 = |a: u128| std::net::Ipv6Addr::from(a).to_string();
        settle(&mut self.v4, &mut self.v4_lines, v4, |at, t| {
            found.push((at, t))
        });
        settle(&mut self.v6, &mut self.v6_lines, v6, |at, t| {
            found.push((at, t))
        });
        for (at, text) in found {
            self.problem(at, Problem::Overlap, &text);
        }
    }
}

/// Why a row was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// Not enough fields, or a field that is not what the column holds.
    Malformed,
    /// A start or end that is not an address, or a network that does not parse.
    BadAddress,
    /// Start after end.
    StartAfterEnd,
    /// A range overlapping an earlier one.
    Overlap,
    /// A location or geoname id that the locations file does not have.
    UnknownLocation,
    /// Latitude or longitude missing one half, not a number, or out of range.
    BadCoordinates,
    /// An accuracy radius that is not a whole number of kilometres below 2^32.
    BadAccuracy,
    /// An IPv6 network inside the IPv4 subtree (`::/96`) or its aliases (`::ffff:0:0/96`,
    /// `2002::/16`): the IPv4 data answers those addresses.
    AliasedNetwork,
    /// A location (legacy `locId`, GeoLite2 `geoname_id`) defined again: the first stands.
    DuplicateLocation,
    /// A line longer than `readers::MAX_ROW_BYTES`, skipped without being held.
    FieldTooLong,
}

impl Problem {
    /// Every problem.
    pub const ALL: [Problem; 10] = [
        Problem::Malformed,
        Problem::BadAddress,
        Problem::StartAfterEnd,
        Problem::Overlap,
        Problem::UnknownLocation,
        Problem::BadCoordinates,
        Problem::BadAccuracy,
        Problem::AliasedNetwork,
        Problem::DuplicateLocation,
        Problem::FieldTooLong,
    ];

    /// The name used in reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Problem::Malformed => "malformed_row",
            Problem::BadAddress => "bad_address",
            Problem::StartAfterEnd => "start_after_end",
            Problem::Overlap => "overlapping_range",
            Problem::UnknownLocation => "unknown_location_id",
            Problem::BadCoordinates => "bad_coordinates",
            Problem::AliasedNetwork => "aliased_network",
            Problem::BadAccuracy => "bad_accuracy_radius",
            Problem::DuplicateLocation => "duplicate_location_id",
            Problem::FieldTooLong => "field_too_long",
        }
    }
}

/// Skipped rows: counts by reason and the first few with file and line.
#[derive(Debug, Default, Clone)]
pub struct Problems {
    /// Count per reason.
    pub counts: BTreeMap<&'static str, u64>,
    /// `(file, line, reason, text)` of the first [`EXAMPLES`] problems.
    pub examples: Vec<(String, u64, &'static str, String)>,
    /// Rows whose coordinates were dropped (the row itself was kept).
    pub coordinates_dropped: u64,
}

/// How many problems are named one by one.
pub const EXAMPLES: usize = 20;

impl Problems {
    fn add(&mut self, file: &str, line: u64, problem: Problem, text: &str) {
        *self.counts.entry(problem.name()).or_insert(0) += 1;
        if self.examples.len() < EXAMPLES {
            let text: String = text.chars().take(120).collect();
            self.examples
                .push((file.to_owned(), line, problem.name(), text));
        }
    }

    /// Rows skipped in all.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// One line per problem kind and per example, for stderr.
    #[must_use]
    pub fn report(&self, label: &str) -> Vec<String> {
        if self.total() == 0 {
            return Vec::new();
        }
        let kinds: Vec<String> = self
            .counts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let mut lines = vec![format!(
            "{label}: {} rows skipped ({})",
            self.total(),
            kinds.join(", ")
        )];
        for (file, line, reason, text) in &self.examples {
            lines.push(format!("  {file}:{line}: {reason}: {text}"));
        }
        if self.total() > self.examples.len() as u64 {
            lines.push(format!(
                "  ... and {} more",
                self.total() - self.examples.len() as u64
            ));
        }
        lines
    }

    /// The first problem as a `--strict` error.
    pub fn strict(&self) -> Result<()> {
        match self.examples.first() {
            Some((file, line, reason, text)) => Err(Error::Strict {
                path: file.clone(),
                line: *line,
                reason,
                text: text.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// True when `path` names a CSV database (a directory, a `.zip`, or a `.csv` file) rather
/// than an `.mmdb` file.
#[must_use]
pub fn is_csv_source(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    // Only a regular file is opened to look at it: a FIFO would wait for a writer.
    if !path.is_file() {
        return false;
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    matches!(ext.as_deref(), Some("csv" | "zip"))
        || std::fs::File::open(path)
            .and_then(|mut f| {
                let mut magic = [0u8; 4];
                f.read_exact(&mut magic).map(|()| magic == *b"PK\x03\x04")
            })
            .unwrap_or(false)
}

/// The most a zip entry of `compressed` bytes may inflate to: 200 times its size (CSV
/// compresses 5 to 10 times; a bomb, 1,000 times and more), at least 16 MiB, at most 16 GiB.
fn inflate_limit(compressed: u64) -> u64 {
    compressed.saturating_mul(200).clamp(16 << 20, 16 << 30)
}

/// A zip entry's reader that fails once more than `limit` bytes come out of it.
struct InflateLimit<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for InflateLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the zip entry inflates to more than {} bytes, over 200 times its compressed size (a zip bomb?); unzip it and name the files",
                    self.limit
                ),
            )
        })?;
        Ok(n)
    }
}

/// One CSV file: on disk, or an entry of a zip archive.
#[derive(Clone, Debug)]
struct CsvFile {
    /// The zip it is in, if any.
    zip: Option<PathBuf>,
    /// The file's path (on disk, or inside the zip).
    name: String,
    /// Modification time, seconds since the epoch (the zip archive's for an entry).
    mtime: u64,
    /// A zip entry's own modification date, as the archive records it.
    entry_date: Option<DataDate>,
}

impl CsvFile {
    /// The file name without directories, for messages.
    fn short(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    /// Calls `f` with a reader over the file's bytes.
    fn with_reader<T>(&self, f: impl FnOnce(&mut dyn Read) -> Result<T>) -> Result<T> {
        let err = |e: std::io::Error| Error::database(&self.name, e);
        match &self.zip {
            None => {
                let (file, len) = crate::util::open_regular(Path::new(&self.name)).map_err(err)?;
                f(&mut file.take(len))
            }
            Some(zip) => {
                let label = zip.display().to_string();
                let (file, _) =
                    crate::util::open_regular(zip).map_err(|e| Error::database(&label, e))?;
                let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
                    .map_err(|e| Error::database(&label, e))?;
                let entry = archive
                    .by_name(&self.name)
                    .map_err(|e| Error::database(&label, e))?;
                let limit = inflate_limit(entry.compressed_size());
                f(&mut InflateLimit {
                    inner: entry,
                    left: limit,
                    limit,
                })
            }
        }
    }

    /// The first 4 KiB of the file, as text.
    fn head(&self) -> Result<String> {
        self.with_reader(|r| {
            let mut head = Vec::new();
            r.take(4096)
                .read_to_end(&mut head)
                .map_err(|e| Error::database(&self.name, e))?;
            Ok(String::from_utf8_lossy(&head).into_owned())
        })
    }

    /// The first line of the file that is not a copyright notice or blank.
    fn header(head: &str) -> String {
        head.trim_start_matches('\u{feff}')
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("copyright"))
            .unwrap_or("")
            .to_owned()
    }
}

/// The kinds of CSV file ipatlas reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    LegacyBlocks,
    LegacyLocations,
    Geolite2Blocks,
    Geolite2Locations,
    IpLocationDb,
}

fn classify(header: &str) -> Option<Kind> {
    let fields: Vec<String> = header
        .split(',')
        .map(|f| f.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let first = |a: &str, b: &str| fields.len() >= 2 && fields[0] == a && fields[1] == b;
    if first("startipnum", "endipnum") {
        Some(Kind::LegacyBlocks)
    } else if first("locid", "country") {
        Some(Kind::LegacyLocations)
    } else if first("network", "geoname_id") {
        Some(Kind::Geolite2Blocks)
    } else if first("geoname_id", "locale_code") {
        Some(Kind::Geolite2Locations)
    } else if fields.len() >= 3
        && readers::range_end(&fields[0], false).is_some()
        && readers::range_end(&fields[1], false).is_some()
    {
        // Addresses, or (the `*-num.csv` files) addresses as decimal integers.
        Some(Kind::IpLocationDb)
    } else {
        None
    }
}

const EXPECTED: &str = "expected a GeoLite2 CSV (GeoLite2-City-Blocks-IPv4.csv, -Blocks-IPv6.csv \
and -Locations-en.csv, or the Country edition's), a legacy GeoLiteCity CSV \
(GeoLiteCity-Blocks.csv and GeoLiteCity-Location.csv), or an ip-location-db CSV \
(ip_range_start,ip_range_end,country_code[,...], the ranges as addresses or, in the *-num.csv \
files, as decimal integers), as files, a directory or a zip";

/// Lists the CSV files of the paths given: files themselves, the `.csv` files of a
/// directory, the `.csv` entries of a zip. A blocks file named alone brings the locations
/// file(s) beside it.
fn list_files(paths: &[PathBuf]) -> Result<Vec<CsvFile>> {
    let mtime = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs())
    };
    let on_disk = |p: &Path| CsvFile {
        zip: None,
        name: p.display().to_string(),
        mtime: mtime(p),
        entry_date: None,
    };
    let is_csv = |name: &str| name.to_ascii_lowercase().ends_with(".csv");
    let mut files = Vec::new();
    for path in paths {
        let label = path.display().to_string();
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Error::database(&label, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_csv(&p.to_string_lossy()))
                .collect();
            entries.sort();
            files.extend(entries.iter().map(|p| on_disk(p)));
        } else if path.is_file() && !is_csv(&label) {
            let (file, _) =
                crate::util::open_regular(path).map_err(|e| Error::database(&label, e))?;
            let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
                Error::database(&label, format!("not a zip archive ({e}); {EXPECTED}"))
            })?;
            let mut names: Vec<String> = archive
                .file_names()
                .filter_map(|n| n.ok().map(|n| n.into_owned()))
                .filter(|n| is_csv(n))
                .collect();
            names.sort();
            for name in names {
                let entry_date = archive
                    .by_name(&name)
                    .ok()
                    .and_then(|e| e.last_modified())
                    .and_then(|d| {
                        DataDate::ymd(
                            i64::from(d.year()),
                            u32::from(d.month()),
                            u32::from(d.day()),
                            "zip entry date",
                        )
                    });
                files.push(CsvFile {
                    zip: Some(path.clone()),
                    name,
                    mtime: mtime(path),
                    entry_date,
                });
            }
        } else {
            files.push(on_disk(path));
            // Companions: the locations beside a blocks file, and the other family.
            if let Some(dir) = path.parent().filter(|_| paths.len() == 1) {
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                let mut beside: Vec<PathBuf> = std::fs::read_dir(dir)
                    .map(|d| {
                        d.filter_map(|e| e.ok().map(|e| e.path()))
                            .filter(|p| p != path && p.is_file() && is_csv(&p.to_string_lossy()))
                            .filter(|p| {
                                let n = p.file_name().map_or(String::new(), |n| {
                                    n.to_string_lossy().to_ascii_lowercase()
                                });
                                n.contains("location")
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                beside.sort();
                files.extend(beside.iter().map(|p| on_disk(p)));
            }
        }
    }
    Ok(files)
}

/// Reads a CSV database (files, a directory or a zip) into a [`Source`].
pub fn load(paths: &[PathBuf]) -> Result<Source> {
    let label = source_label(paths);
    let files = list_files(paths)?;
    let mut kinds: Vec<(CsvFile, Kind)> = Vec::new();
    let mut copyright: Option<DataDate> = None;
    for file in files {
        let head = file.head()?;
        if let Some(kind) = classify(&CsvFile::header(&head)) {
            if copyright.is_none() {
                copyright = copyright_year(&head);
            }
            kinds.push((file, kind));
        }
    }
    let of = |k: Kind| -> Vec<&CsvFile> {
        kinds
            .iter()
            .filter(|(_, kind)| *kind == k)
            .map(|(f, _)| f)
            .collect()
    };
    let date = data_date(paths, &kinds, copyright);
    let mut source = if !of(Kind::Geolite2Blocks).is_empty() {
        let locations = pick_locations(&of(Kind::Geolite2Locations));
        let blocks = of(Kind::Geolite2Blocks);
        let Some(locations) = locations else {
            return Err(Error::database(
                &label,
                "GeoLite2 blocks without a locations file (GeoLite2-*-Locations-en.csv)",
            ));
        };
        readers::geolite2(&label, &blocks, locations)?
    } else if let Some(blocks) = of(Kind::LegacyBlocks).first() {
        let Some(locations) = of(Kind::LegacyLocations).first().copied() else {
            return Err(Error::database(
                &label,
                "GeoLiteCity blocks without GeoLiteCity-Location.csv beside them",
            ));
        };
        readers::legacy(&label, blocks, locations)?
    } else if !of(Kind::IpLocationDb).is_empty() {
        readers::ip_location_db(&label, &of(Kind::IpLocationDb))?
    } else {
        return Err(Error::database(
            &label,
            format!("no CSV database recognised; {EXPECTED}"),
        ));
    };
    source.date = date;
    Ok(source)
}

/// When a CSV database's data is from: a date in a name (the zip, the directory, the
/// files), else the zip entries' own dates, else a legacy copyright notice's year, else the
/// files' modification time; never the clock.
fn data_date(
    paths: &[PathBuf],
    files: &[(CsvFile, Kind)],
    copyright: Option<DataDate>,
) -> DataDate {
    let names = paths
        .iter()
        .map(|p| p.display().to_string())
        .chain(files.iter().map(|(f, _)| f.name.clone()));
    let latest = |dates: Vec<DataDate>| dates.into_iter().max_by_key(|d| d.epoch);
    latest(names.filter_map(|n| date_in_name(&n)).collect())
        .or_else(|| {
            latest(
                files
                    .iter()
                    .filter_map(|(f, _)| f.entry_date.clone())
                    .collect(),
            )
        })
        .or(copyright)
        .or_else(|| {
            files
                .iter()
                .map(|(f, _)| f.mtime)
                .max()
                .filter(|t| *t > 0)
                .map(|t| DataDate::day(t, "file modification time"))
        })
        .unwrap_or_else(|| DataDate {
            epoch: 0,
            text: "unknown".to_owned(),
            from: "",
        })
}

/// Opens a CSV database (files, a directory or a zip) as a [`crate::locate::Database`]: the
/// rows become an `.mmdb` in memory, exactly as `build-db` would write it. Skipped rows are
/// returned for the caller to report (or, under `--strict`, refuse).
///
/// With `cache_dir`, the converted database (with its skipped rows and date) is cached
/// there, keyed by the source files' bytes, names and modification times, the paths as
/// given and the ipatlas version: a second run on the same files reads one file instead of
/// converting again. A cache file that is damaged, foreign or stale is converted again and
/// replaced; one that cannot be written only costs the conversion.
pub fn open_database(
    paths: &[PathBuf],
    overrides: &crate::locate::FieldOverrides,
    cache_dir: Option<&Path>,
) -> Result<(
    crate::locate::Database,
    Problems,
    crate::locate::TableSource,
)> {
    use crate::locate::TableSource;
    let label = source_label(paths);
    let key = match cache_dir {
        Some(_) => Some(source_key(paths, &label)?),
        None => None,
    };
    if let (Some(dir), Some(key)) = (cache_dir, key)
        && let Some(Ok(payload)) = crate::locate::cache::load_blob(dir, CSV_KIND, key)
        && let Some((date, problems, bytes)) = decode_converted(&payload)
    {
        let mut db = crate::locate::Database::from_memory(label, bytes.to_vec(), overrides)?;
        db.set_data_date(date.text, date.from);
        return Ok((db, problems, TableSource::Cache));
    }
    let mut source = load(paths)?;
    let description = describe(&source);
    let epoch = source.date.epoch;
    let bytes = to_mmdb(&mut source, &description, epoch)?;
    if let (Some(dir), Some(key)) = (cache_dir, key) {
        let payload = encode_converted(&source.date, &source.problems, &bytes);
        let _ = crate::locate::cache::store_blob(
            dir,
            CSV_KIND,
            key,
            &payload,
            crate::locate::cache::KEEP_CSV,
        );
    }
    let mut db = crate::locate::Database::from_memory(source.label.clone(), bytes, overrides)?;
    db.set_data_date(source.date.text.clone(), source.date.from);
    Ok((db, source.problems, TableSource::Built))
}

/// The cache files of converted CSV databases are `csv-db-<key>.bin`.
const CSV_KIND: &str = "csv-db";

/// How a CSV database is named in messages and metadata: its paths as given.
fn source_label(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The cache key of a CSV database: every file's name, modification time and bytes (a zip
/// once), the label and the ipatlas version.
fn source_key(paths: &[PathBuf], label: &str) -> Result<u128> {
    use std::hash::Hasher as _;
    let files = list_files(paths)?;
    let mut material = format!("csv-db|{}|{label}", env!("CARGO_PKG_VERSION")).into_bytes();
    let mut hashed: Vec<PathBuf> = Vec::new();
    for f in &files {
        material.extend_from_slice(format!("|{}|{}", f.name, f.mtime).as_bytes());
        let path = f.zip.clone().unwrap_or_else(|| PathBuf::from(&f.name));
        if hashed.contains(&path) {
            continue;
        }
        let name = path.display().to_string();
        let (mut file, _) =
            crate::util::open_regular(&path).map_err(|e| Error::database(&name, e))?;
        let mut hasher = twox_hash::XxHash3_64::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf).map_err(|e| Error::database(&name, e))?;
            if n == 0 {
                break;
            }
            hasher.write(&buf[..n]);
        }
        material.extend_from_slice(&hasher.finish().to_le_bytes());
        hashed.push(path);
    }
    Ok(twox_hash::XxHash3_128::oneshot(&material))
}

/// What a converted database's cache file holds besides the `.mmdb`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Converted {
    date_epoch: u64,
    date_text: String,
    date_from: String,
    counts: BTreeMap<String, u64>,
    examples: Vec<(String, u64, String, String)>,
    coordinates_dropped: u64,
}

/// The cache payload: the length of a JSON header (u64), the header, then the `.mmdb`.
fn encode_converted(date: &DataDate, problems: &Problems, mmdb: &[u8]) -> Vec<u8> {
    let header = Converted {
        date_epoch: date.epoch,
        date_text: date.text.clone(),
        date_from: date.from.to_owned(),
        counts: problems
            .counts
            .iter()
            .map(|(k, n)| ((*k).to_owned(), *n))
            .collect(),
        examples: problems
            .examples
            .iter()
            .map(|(f, l, r, t)| (f.clone(), *l, (*r).to_owned(), t.clone()))
            .collect(),
        coordinates_dropped: problems.coordinates_dropped,
    };
    let json = serde_json::to_vec(&header).unwrap_or_default();
    let mut out = Vec::with_capacity(8 + json.len() + mmdb.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(mmdb);
    out
}

/// Reads a cache payload back; `None` for anything this build did not write.
fn decode_converted(payload: &[u8]) -> Option<(DataDate, Problems, &[u8])> {
    let len = usize::try_from(u64::from_le_bytes(payload.get(..8)?.try_into().ok()?)).ok()?;
    let json = payload.get(8..8usize.checked_add(len)?)?;
    let mmdb = payload.get(8 + len..)?;
    let h: Converted = serde_json::from_slice(json).ok()?;
    let problem = |name: &str| {
        Problem::ALL
            .into_iter()
            .map(Problem::name)
            .find(|n| *n == name)
    };
    let from = DATE_SOURCES.into_iter().find(|f| *f == h.date_from)?;
    let mut problems = Problems {
        coordinates_dropped: h.coordinates_dropped,
        ..Problems::default()
    };
    for (k, n) in h.counts {
        problems.counts.insert(problem(&k)?, n);
    }
    for (f, l, r, t) in h.examples {
        problems.examples.push((f, l, problem(&r)?, t));
    }
    let date = DataDate {
        epoch: h.date_epoch,
        text: h.date_text,
        from,
    };
    Some((date, problems, mmdb))
}

/// Every `DataDate::from` a CSV database's date can have (empty: unknown).
const DATE_SOURCES: [&str; 5] = [
    "",
    "file name",
    "zip entry date",
    "copyright line",
    "file modification time",
];

/// The metadata description of a database built from a source: its data's date and where
/// that came from.
#[must_use]
pub fn describe(source: &Source) -> String {
    let d = &source.date;
    let dated = if d.from.is_empty() {
        "undated".to_owned()
    } else {
        format!("data of {} (from the {})", d.text, d.from)
    };
    format!(
        "{}, {dated}, converted by ipatlas {} from {}",
        source.database_type,
        env!("CARGO_PKG_VERSION"),
        source.label
    )
}

/// Prefers the English locations file among several languages.
fn pick_locations<'a>(files: &[&'a CsvFile]) -> Option<&'a CsvFile> {
    files
        .iter()
        .find(|f| f.short().to_ascii_lowercase().contains("-en."))
        .or_else(|| files.first())
        .copied()
}

/// Decodes a CSV field: UTF-8 when it is valid UTF-8, else ISO-8859-1 (the legacy files'
/// encoding, where every byte is the code point of the same value).
fn text(field: &[u8]) -> String {
    raw_text(field).trim().to_owned()
}

/// A field as text, exactly as the file has it (a name may end in a line break).
fn raw_text(field: &[u8]) -> String {
    match std::str::from_utf8(field) {
        Ok(s) => s.to_owned(),
        Err(_) => field.iter().map(|&b| char::from(b)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_come_from_names_and_copyright_lines() {
        for epoch in [0, 86_400, 1_356_998_400, 1_530_633_617 / 86_400 * 86_400] {
            let text = crate::util::utc_date(epoch);
            let n = |a: usize, b: usize| text[a..b].parse::<u32>().unwrap();
            assert_eq!(
                crate::util::epoch_of(i64::from(n(0, 4)), n(5, 7), n(8, 10)),
                epoch,
                "{text}"
            );
        }
        let d = date_in_name("/x/GeoLiteCity_20130101/GeoLiteCity-Blocks.csv").unwrap();
        assert_eq!(
            (d.text.as_str(), d.from, d.epoch),
            ("2013-01-01", "file name", 1_356_998_400)
        );
        assert!(
            date_in_name("GeoLite2-City-CSV_20261399.zip").is_none(),
            "month 13"
        );
        assert!(date_in_name("blocks-123456789.csv").is_none(), "9 digits");
        assert!(date_in_name("20230229.csv").is_none(), "not a leap year");
        assert_eq!(date_in_name("20240229.csv").unwrap().text, "2024-02-29");
        let y = copyright_year(
            "Copyright (c) 2008-2012 MaxMind LLC.  All Rights Reserved.\nstartIpNum",
        )
        .unwrap();
        assert_eq!((y.text.as_str(), y.from), ("2012", "copyright line"));
        assert!(copyright_year("startIpNum,endIpNum,locId\n").is_none());
    }
}
