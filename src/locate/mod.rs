//! Locating addresses: one or more databases routed by address family, decoded once per record.

pub mod asn;
pub mod cache;
pub mod embedded;
mod mapped;
mod mmdb;
mod names;
mod place;
mod record;
mod schema;
mod table;
mod table6;

pub(crate) use mmdb::MmdbResult;
pub use mmdb::{CountryFallback, Database, DatabaseInfo, DbBytes, Metadata, NetworkCounts};
pub use names::{MAX_NAME_BYTES, Name};
pub use place::{
    CountryCode, CountrySource, Details, DetailsData, Network, Place, PlaceDetail, PlaceKey,
    Subdivision, place_order,
};
pub use schema::{FieldOverrides, FieldPath, Scalar, Schema, SchemaKind};
pub use table::{Ipv4Table, Ipv4View, NO_RECORD, TableRecord, TableRecord6};
pub use table6::Ipv6Table;

use cache::TABLE6_KIND;

/// A table from the cache, or a build to make (and whether to store it).
enum Cached<T> {
    Table(T),
    Build { store: bool },
}

use crate::error::{Error, Result};
use crate::input::Family;
use ipnetwork::IpNetwork;
use maxminddb::WithinOptions;
use rustc_hash::FxHashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why an address was not located. Each has its own counter in the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotFound {
    /// The database has no record for the address.
    NoRecord,
    /// Private, loopback, link-local, multicast, documentation or otherwise reserved space,
    /// which no geolocation database covers.
    Reserved,
    /// An IPv6 address, but no database given covers IPv6.
    NoIpv6Database,
    /// An IPv4 address, but no database given covers IPv4.
    NoIpv4Database,
    /// IPv6 space the database answers from its IPv4 data (6to4 `2002::/16`, Teredo
    /// `2001::/32`, `::/96`): in `--whole-db`, where the IPv4 space is counted as IPv4, this
    /// mirror of it is not counted again.
    Ipv4Alias,
}

impl NotFound {
    /// Every reason, in summary order.
    pub const ALL: [NotFound; 5] = [
        NotFound::NoRecord,
        NotFound::Reserved,
        NotFound::NoIpv6Database,
        NotFound::NoIpv4Database,
        NotFound::Ipv4Alias,
    ];

    /// The name used in summaries and `lookup` output.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            NotFound::NoRecord => "no_record",
            NotFound::Reserved => "reserved",
            NotFound::NoIpv6Database => "ipv6_not_in_database",
            NotFound::NoIpv4Database => "ipv4_not_in_database",
            NotFound::Ipv4Alias => "ipv4_alias",
        }
    }

    /// Index into per-reason counter arrays.
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Why an address the database covers has no record: reserved space, or simply none.
    #[must_use]
    pub fn unlocated(ip: IpAddr) -> NotFound {
        if is_reserved(ip) {
            NotFound::Reserved
        } else {
            NotFound::NoRecord
        }
    }
}

/// Identifies a record: which database, and the record's offset in its data section.
pub type RecordKey = u64;

fn record_key(db: usize, offset: usize) -> RecordKey {
    ((db as u64) << 48) | (offset as u64 & 0xFFFF_FFFF_FFFF)
}

/// The outcome of looking up one address.
pub(crate) enum Lookup<'a> {
    /// A record: its key (for caching) and the raw result (for decoding and its network).
    Found(RecordKey, MmdbResult<'a>),
    /// No record, and why.
    NotFound(NotFound),
}

/// One network inside a prefix, as walked by [`Atlas::for_each_network`].
pub(crate) struct NetworkWeight<'a> {
    /// The record, when the database has data for this network.
    pub found: Option<(RecordKey, MmdbResult<'a>)>,
    /// The part of the queried prefix this network covers.
    pub network: IpNetwork,
    /// Its weight: addresses for IPv4, /64 subnets for IPv6 (see [`ipv6_part_weight`]).
    pub weight: u128,
    /// An IPv6 network answered by the database's IPv4 data (see [`IPV4_ALIASED_V6`]).
    pub aliased: bool,
}

/// How [`Atlas::open`] reads databases.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Field paths that replace the detected ones.
    pub overrides: FieldOverrides,
    /// What to do with records that have only a `registered_country`.
    pub fallback: CountryFallback,
    /// Refuse a CSV database with any bad row (otherwise bad rows are skipped and listed
    /// by [`Atlas::csv_problems`]).
    pub strict: bool,
    /// Where a CSV database's conversion is cached (see [`crate::formats::open_database`]);
    /// `None` converts it on every open.
    pub cache_dir: Option<std::path::PathBuf>,
    /// An ASN database (`--asn-db`): places then carry each address's network.
    pub asn_db: Option<std::path::PathBuf>,
}

/// What a database says about one address.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// A record answers it.
    Found {
        /// Where the record puts it.
        place: Place,
        /// The database network holding the address.
        network: IpNetwork,
    },
    /// No record does, and why.
    NotFound(NotFound),
}

/// The set of databases a run resolves against, with the decode-once record cache.
pub struct Atlas {
    dbs: Vec<Database>,
    route_v4: Option<usize>,
    route_v6: Option<usize>,
    fallback: CountryFallback,
    decoded: Mutex<FxHashMap<RecordKey, Place>>,
    decode_count: AtomicU64,
    table_source: std::sync::OnceLock<TableSource>,
    /// The compiled IPv4 table, once loaded or built: later runs of this atlas share it.
    table: std::sync::OnceLock<std::sync::Arc<Ipv4Table>>,
    /// The compiled IPv6 table and where it came from, likewise.
    table6: std::sync::OnceLock<std::sync::Arc<Ipv6Table>>,
    table6_source: std::sync::OnceLock<TableSource>,
    /// Table files being written into the cache in the background (joined on drop).
    stores: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>,
    observer: crate::observe::Observers,
    csv_problems: Vec<String>,
    /// Where the CSV database came from: converted in this run, or the conversion cache.
    csv_source: Option<TableSource>,
    /// The ASN database, when places carry networks.
    asn: Option<asn::AsnTable>,
}

/// Where a run's compiled IPv4 table (or converted CSV database) came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableSource {
    /// Built from the database in this run.
    Built,
    /// Loaded from the table cache.
    Cache,
}

impl TableSource {
    /// The name used in summaries.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            TableSource::Built => "built",
            TableSource::Cache => "cache",
        }
    }
}

impl Drop for Atlas {
    /// Waits for the table files still being written into the cache.
    fn drop(&mut self) {
        let stores = std::mem::take(
            self.stores
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for handle in stores {
            let _ = handle.join();
        }
    }
}

impl Atlas {
    /// Builds an atlas. IPv4 goes to the first IPv4-only database, else the first IPv6 one;
    /// IPv6 goes to the first IPv6 database. (DB-IP and ip-location-db ship separate IPv4
    /// and IPv6 files; `--db v4.mmdb --db v6.mmdb` acts as one database.)
    pub fn new(dbs: Vec<Database>, fallback: CountryFallback) -> Result<Self> {
        if dbs.is_empty() {
            return Err(Error::Usage("no database to resolve against".into()));
        }
        let first_with = |version: u16| dbs.iter().position(|d| d.metadata().ip_version == version);
        let route_v6 = first_with(6);
        let route_v4 = first_with(4).or(route_v6);
        if dbs.len() > 1 {
            for (i, db) in dbs.iter().enumerate() {
                if Some(i) != route_v4 && Some(i) != route_v6 {
                    return Err(Error::Usage(format!(
                        "database {} would never be used: give at most one IPv4 and one IPv6 database",
                        db.label()
                    )));
                }
            }
        }
        Ok(Atlas {
            dbs,
            route_v4,
            route_v6,
            fallback,
            decoded: Mutex::new(FxHashMap::default()),
            decode_count: AtomicU64::new(0),
            table_source: std::sync::OnceLock::new(),
            table: std::sync::OnceLock::new(),
            table6: std::sync::OnceLock::new(),
            stores: std::sync::Mutex::default(),
            table6_source: std::sync::OnceLock::new(),
            observer: crate::observe::Observers::default(),
            csv_problems: Vec::new(),
            csv_source: None,
            asn: None,
        })
    }

    /// Opens databases the way the command line does: `.mmdb` files (an IPv4 and an IPv6
    /// file act as one database), the files, directory or zip of one CSV database (GeoLite2
    /// CSV, legacy GeoLiteCity, ip-location-db), or `"embedded"` for the built-in DB-IP
    /// country database, which is also what no path at all opens.
    ///
    /// ```
    /// use ipatlas::locate::{Answer, Atlas, OpenOptions};
    ///
    /// let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
    /// match atlas.answer("8.8.8.8".parse().unwrap())? {
    ///     Answer::Found { place, .. } => assert_eq!(place.country.unwrap().as_str(), "US"),
    ///     Answer::NotFound(why) => panic!("not found: {}", why.name()),
    /// }
    /// # Ok::<(), ipatlas::Error>(())
    /// ```
    pub fn open(paths: &[impl AsRef<std::path::Path>], options: &OpenOptions) -> Result<Self> {
        use std::path::{Path, PathBuf};
        let embedded = |p: &Path| p.as_os_str() == "embedded";
        let overrides = &options.overrides;
        // CSV databases (files, directories, zips) named together make one database.
        let csv: Vec<PathBuf> = paths
            .iter()
            .map(|p| p.as_ref())
            .filter(|p| !embedded(p) && crate::formats::is_csv_source(p))
            .map(Path::to_path_buf)
            .collect();
        let mut problems = Vec::new();
        let mut csv_source = None;
        let mut dbs = Vec::new();
        let mut csv_done = false;
        for p in paths.iter().map(AsRef::as_ref) {
            if embedded(p) {
                dbs.push(Database::embedded(overrides)?);
            } else if csv.iter().any(|c| c == p) {
                if !csv_done {
                    let (db, bad, source) = crate::formats::open_database(
                        &csv,
                        overrides,
                        options.cache_dir.as_deref(),
                    )?;
                    if options.strict {
                        bad.strict()?;
                    }
                    problems = bad.report(db.label());
                    csv_source = Some(source);
                    csv_done = true;
                    dbs.push(db);
                }
            } else {
                dbs.push(Database::open(p, overrides)?);
            }
        }
        if dbs.is_empty() {
            dbs.push(Database::embedded(overrides)?);
        }
        let mut atlas = Atlas::new(dbs, options.fallback)?;
        atlas.csv_problems = problems;
        atlas.csv_source = csv_source;
        if let Some(path) = &options.asn_db {
            let table = asn::AsnTable::open(path)?;
            let (n, lines) = table.skipped();
            if n > 0 {
                let at: Vec<String> = lines.iter().map(u64::to_string).collect();
                atlas.csv_problems.push(format!(
                    "ASN database {}: {n} row{} skipped (not a range with an AS number), at line {}{}",
                    path.display(),
                    if n == 1 { "" } else { "s" },
                    at.join(", "),
                    if n > lines.len() as u64 { ", ..." } else { "" }
                ));
            }
            atlas.set_asn(table);
        }
        Ok(atlas)
    }

    /// Whether the CSV database was converted in this run or read from the conversion
    /// cache; `None` without a CSV database.
    #[must_use]
    pub fn csv_source(&self) -> Option<TableSource> {
        self.csv_source
    }

    /// The rows of a CSV database (or CSV ASN database) that were skipped, as report lines (a summary line per
    /// reason, then the first rows of each): empty for `.mmdb` databases.
    #[must_use]
    pub fn csv_problems(&self) -> &[String] {
        &self.csv_problems
    }

    /// The record that answers an address, as its key (the same for every address the
    /// record answers, and what [`Ipv4Table::record`] gives), or why none does. Nothing is
    /// decoded: the cheapest question a database answers.
    pub fn record(&self, ip: IpAddr) -> Result<std::result::Result<RecordKey, NotFound>> {
        Ok(match self.lookup(ip)? {
            Lookup::Found(key, _) => Ok(key),
            Lookup::NotFound(reason) => Err(reason),
        })
    }

    /// What the databases say about one address.
    pub fn answer(&self, ip: IpAddr) -> Result<Answer> {
        Ok(match self.lookup(ip)? {
            Lookup::Found(key, result) => Answer::Found {
                place: self.place(key, &result)?,
                network: result
                    .network()
                    .map_err(|e| Error::database(self.dbs[(key >> 48) as usize].label(), e))?,
            },
            Lookup::NotFound(reason) => Answer::NotFound(reason),
        })
    }

    /// Reports warnings (a cached table that cannot be used) to `observer`.
    pub fn set_observer(&mut self, observer: crate::observe::Observers) {
        self.observer = observer;
    }

    /// The databases, in the order given.
    #[must_use]
    pub fn databases(&self) -> &[Database] {
        &self.dbs
    }

    /// What outputs say about the databases (the ASN database last, when there is one).
    #[must_use]
    pub fn infos(&self) -> Vec<DatabaseInfo> {
        let mut infos: Vec<DatabaseInfo> = self.dbs.iter().map(Database::info).collect();
        infos.extend(self.asn.as_ref().map(asn::AsnTable::info));
        infos
    }

    /// Resolves networks with an ASN database from now on: every located address's place
    /// carries its network (`Place::network`). Runs then look addresses up in the search
    /// tree, not the compiled IPv4 table (whose places have no network).
    pub fn set_asn(&mut self, table: asn::AsnTable) {
        self.asn = Some(table);
    }

    /// The ASN database, when one was given.
    #[must_use]
    pub fn asn(&self) -> Option<&asn::AsnTable> {
        self.asn.as_ref()
    }

    /// True when some database covers this family.
    #[must_use]
    pub fn covers(&self, family: Family) -> bool {
        match family {
            Family::Ipv4 => self.route_v4.is_some(),
            Family::Ipv6 => self.route_v6.is_some(),
        }
    }

    /// True once the compiled IPv4 table has been loaded or built: later runs of this
    /// atlas use it at no cost.
    #[must_use]
    pub fn holds_ipv4_table(&self) -> bool {
        self.table.get().is_some()
    }

    /// How many records have been decoded so far (each distinct record once per run).
    #[must_use]
    pub fn decoded_records(&self) -> u64 {
        self.decode_count.load(Ordering::Relaxed)
    }

    /// Where this run's compiled IPv4 table came from, if it had one.
    #[must_use]
    pub fn table_source(&self) -> Option<TableSource> {
        self.table_source.get().copied()
    }

    /// The compiled IPv4 table: loaded from the cache in `cache_dir` when it holds one for
    /// this database and these options, else built (and then cached). `Ok(None)` when no
    /// database covers IPv4 or `cancel` was raised first. A cache that cannot be read or
    /// written only costs the build: it never fails the run.
    pub fn ipv4_table(
        &self,
        cache_dir: Option<&std::path::Path>,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<Option<std::sync::Arc<Ipv4Table>>> {
        let (Some(db_index), Some(key)) = (self.route_v4, self.table_key()) else {
            return Ok(None);
        };
        if self.asn.is_some() {
            return Ok(None);
        }
        if let Some(table) = self.table.get() {
            return Ok(Some(table.clone()));
        }
        let mut store = cache_dir;
        if let Some(dir) = cache_dir {
            let loaded = cache::load(dir, key, db_index).map(|r| {
                r.and_then(|table| {
                    table
                        .spot_check(self)
                        .map(|()| table)
                        .map_err(cache::Refused::Unsound)
                })
            });
            match self.cached(loaded, || cache::table_path(dir, key)) {
                Cached::Table(table) => {
                    let _ = self.table_source.set(TableSource::Cache);
                    return Ok(Some(self.table.get_or_init(|| table.into()).clone()));
                }
                Cached::Build { store: false } => store = None,
                Cached::Build { store: true } => {}
            }
        }
        // A table that cannot be built (a corrupt record somewhere) leaves the run on the
        // search tree, which gives the same answers and fails only where an address meets
        // the damage: the same result whichever path a run takes.
        let table = match Ipv4Table::build(self, cancel) {
            Ok(Some(table)) => table,
            Ok(None) => return Ok(None),
            // The summary's `ipv4_table` then says `none`.
            Err(_) => return Ok(None),
        };
        let _ = self.table_source.set(TableSource::Built);
        let table = self.table.get_or_init(|| table.into()).clone();
        if let Some(dir) = store {
            // Written (about 100 MB for a city database) while the run goes on with it.
            let (owned, kept) = (dir.to_path_buf(), table.clone());
            let writer = std::thread::Builder::new()
                .name("ipatlas-cache".into())
                .spawn(move || {
                    let _ = cache::store(&owned, key, &kept);
                });
            match writer {
                Ok(handle) => self
                    .stores
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(handle),
                Err(_) => {
                    let _ = cache::store(dir, key, &table);
                }
            }
        }
        Ok(Some(table))
    }

    /// Whether `cache_dir` holds a compiled IPv4 table for this atlas (a file by its key;
    /// [`Atlas::ipv4_table`] still checks it when it loads it).
    #[must_use]
    pub fn has_cached_ipv4_table(&self, cache_dir: Option<&std::path::Path>) -> bool {
        match (cache_dir, self.table_key()) {
            (Some(dir), Some(key)) if self.asn.is_none() => cache::table_path(dir, key).is_file(),
            _ => false,
        }
    }

    /// The compiled IPv6 table: loaded from the cache in `cache_dir` when it holds one,
    /// else built (and then cached), as [`Atlas::ipv4_table`]. `Ok(None)` when no database
    /// covers IPv6, places carry networks (an ASN database), or `cancel` was raised first;
    /// a table that cannot be built leaves the run on the tree.
    pub fn ipv6_table(
        &self,
        cache_dir: Option<&std::path::Path>,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<Option<std::sync::Arc<Ipv6Table>>> {
        let (Some(db_index), Some(key)) = (self.route_v6, self.table6_key()) else {
            return Ok(None);
        };
        if self.asn.is_some() {
            return Ok(None);
        }
        if let Some(table) = self.table6.get() {
            return Ok(Some(table.clone()));
        }
        let mut store = cache_dir;
        if let Some(dir) = cache_dir {
            let loaded = cache::load6(dir, key, db_index).map(|r| {
                r.and_then(|t| {
                    t.spot_check(self)
                        .map(|()| t)
                        .map_err(cache::Refused::Unsound)
                })
            });
            match self.cached(loaded, || cache::blob_path(dir, TABLE6_KIND, key)) {
                Cached::Table(table) => {
                    let _ = self.table6_source.set(TableSource::Cache);
                    return Ok(Some(self.table6.get_or_init(|| table.into()).clone()));
                }
                Cached::Build { store: false } => store = None,
                Cached::Build { store: true } => {}
            }
        }
        let table = match Ipv6Table::build(self, cancel) {
            Ok(Some(table)) => table,
            Ok(None) | Err(_) => return Ok(None),
        };
        let _ = self.table6_source.set(TableSource::Built);
        if let Some(dir) = store {
            let _ = cache::store6(dir, key, &table);
        }
        Ok(Some(self.table6.get_or_init(|| table.into()).clone()))
    }

    /// What a table read from the cache comes to: the table, or a build, whose result is
    /// stored unless the file was refused as unsafe (not ours to replace). A refused file
    /// (at `path`) is said as a warning; one from another version is replaced quietly, as
    /// after any upgrade.
    fn cached<T>(
        &self,
        loaded: Option<std::result::Result<T, cache::Refused>>,
        path: impl FnOnce() -> std::path::PathBuf,
    ) -> Cached<T> {
        match loaded {
            Some(Ok(table)) => Cached::Table(table),
            Some(Err(cache::Refused::Unsound(why))) if why == cache::STALE => {
                Cached::Build { store: true }
            }
            Some(Err(why)) => {
                let replaced = !matches!(why, cache::Refused::Unsafe(_));
                self.observer
                    .warning(&crate::observe::Warning::CacheRefused {
                        path: path(),
                        reason: why.to_string(),
                        replaced,
                    });
                Cached::Build { store: replaced }
            }
            None => Cached::Build { store: true },
        }
    }

    /// Whether this atlas holds a compiled IPv6 table already.
    #[must_use]
    pub fn holds_ipv6_table(&self) -> bool {
        self.table6.get().is_some()
    }

    /// Where this run's compiled IPv6 table came from, if it had one.
    #[must_use]
    pub fn table6_source(&self) -> Option<TableSource> {
        self.table6_source.get().copied()
    }

    /// Whether `cache_dir` holds a compiled IPv6 table for this atlas.
    #[must_use]
    pub fn has_cached_ipv6_table(&self, cache_dir: Option<&std::path::Path>) -> bool {
        match (cache_dir, self.table6_key()) {
            (Some(dir), Some(key)) if self.asn.is_none() => {
                cache::blob_path(dir, TABLE6_KIND, key).is_file()
            }
            _ => false,
        }
    }

    /// The cache key of the IPv6 table, made as the IPv4 table's from the IPv6 database.
    fn table6_key(&self) -> Option<u128> {
        self.key_of(self.route_v6?, "ipv6")
    }

    /// The cache key of the IPv4 table: the database's bytes and everything its places
    /// depend on (schema after overrides, country fallback, ipatlas version).
    fn table_key(&self) -> Option<u128> {
        self.key_of(self.route_v4?, "")
    }

    /// A table's cache key: database `index`'s bytes, everything its places depend on, and
    /// which table (`salt`).
    fn key_of(&self, index: usize, salt: &str) -> Option<u128> {
        let db = &self.dbs[index];
        let mut material = db.fingerprint().to_le_bytes().to_vec();
        material.extend_from_slice(
            format!(
                "{:?}|{:?}|{}",
                db.schema(),
                self.fallback,
                env!("CARGO_PKG_VERSION")
            )
            .as_bytes(),
        );
        material.extend_from_slice(salt.as_bytes());
        Some(twox_hash::XxHash3_128::oneshot(&material))
    }

    /// Looks up one address. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) resolves as IPv4.
    #[inline]
    pub(crate) fn lookup(&self, ip: IpAddr) -> Result<Lookup<'_>> {
        let ip = canonical(ip);
        let route = match ip {
            IpAddr::V4(_) => self.route_v4.ok_or(NotFound::NoIpv4Database),
            IpAddr::V6(_) => self.route_v6.ok_or(NotFound::NoIpv6Database),
        };
        let db_index = match route {
            Ok(i) => i,
            Err(reason) => return Ok(Lookup::NotFound(reason)),
        };
        let db = &self.dbs[db_index];
        let result = db
            .reader()
            .lookup(ip)
            .map_err(|e| Error::database(db.label(), e))?;
        Ok(match result.offset() {
            Some(offset) => Lookup::Found(record_key(db_index, offset), result),
            None => Lookup::NotFound(NotFound::unlocated(ip)),
        })
    }

    /// The place a record describes, decoded at most once per record for the whole run
    /// (all threads share this cache; callers keep their own key -> slot map in front of it,
    /// so the lock is taken once per distinct record per thread, not per address).
    pub(crate) fn place(&self, key: RecordKey, found: &MmdbResult<'_>) -> Result<Place> {
        let lock = || {
            self.decoded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(place) = lock().get(&key) {
            return Ok(*place);
        }
        // Decode outside the lock; if another thread raced us to it, keep the first.
        let db = &self.dbs[(key >> 48) as usize];
        let place = db.decode_place(found, self.fallback)?;
        let mut cache = lock();
        let entry = cache.entry(key);
        if matches!(entry, std::collections::hash_map::Entry::Vacant(_)) {
            self.decode_count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(*entry.or_insert(place))
    }

    /// Decodes a record without the shared cache, for callers that meet each record once
    /// (the compiled table's fold). Counted in [`Atlas::decoded_records`].
    pub(crate) fn decode_once(&self, key: RecordKey, found: &MmdbResult<'_>) -> Result<Place> {
        let place = self.dbs[(key >> 48) as usize].decode_place(found, self.fallback)?;
        self.decode_count.fetch_add(1, Ordering::Relaxed);
        Ok(place)
    }

    /// [`decode_once`](Self::decode_once) of the record at `offset` of database `db_index`
    /// (found by a walk of its tree) through the direct reader, without a search: `None`
    /// when the record is the general decoder's to read.
    pub(crate) fn decode_directly(&self, db_index: usize, offset: usize) -> Option<Place> {
        let place = self
            .dbs
            .get(db_index)?
            .direct_place(offset, self.fallback)?;
        self.decode_count.fetch_add(1, Ordering::Relaxed);
        Some(place)
    }

    /// Walks the database networks that cover `prefix`, each clipped to the prefix and
    /// weighted (IPv4: addresses; IPv6: /64 subnets). Parts of the prefix without data are
    /// reported with `found: None`, so the weights always add up to the prefix's own weight.
    /// The prefix is split along the database's own networks, never address by address.
    pub(crate) fn for_each_network(
        &self,
        prefix: IpNetwork,
        mut visit: impl FnMut(NetworkWeight<'_>) -> Result<()>,
    ) -> Result<()> {
        let prefix = canonical_network(prefix);
        let is_v6 = prefix.is_ipv6();
        let Some(db_index) = (if is_v6 { self.route_v6 } else { self.route_v4 }) else {
            return visit(NetworkWeight {
                found: None,
                network: prefix,
                weight: weight_of(prefix),
                aliased: false,
            });
        };
        let db = &self.dbs[db_index];
        // An IPv6 walk includes the space aliased to the IPv4 data (6to4, Teredo, ::/96):
        // those addresses have answers, as single lookups there show, and weigh like any
        // other part of the prefix.
        let options = if is_v6 {
            WithinOptions::default()
                .include_networks_without_data()
                .include_aliased_networks()
        } else {
            WithinOptions::default().include_networks_without_data()
        };
        let iter = db
            .reader()
            .within(prefix, options)
            .map_err(|e| Error::database(db.label(), e))?;
        for item in iter {
            let result = item.map_err(|e| Error::database(db.label(), e))?;
            let network = result
                .network()
                .map_err(|e| Error::database(db.label(), e))?;
            // An IPv6 walk meets the IPv4 subtree (::/96) as IPv4 networks: they are the
            // IPv6 networks ::a.b.c.d/(96+n). A walk of IPv4 space may meet an IPv6 network
            // above the subtree that covers all of it.
            let network = if is_v6 {
                match network {
                    IpNetwork::V4(n) => {
                        let v6 = ipnetwork::Ipv6Network::new(
                            n.network().to_ipv6_compatible(),
                            n.prefix() + 96,
                        )
                        .map_err(|e| Error::database(db.label(), e))?;
                        IpNetwork::V6(v6)
                    }
                    v6 => v6,
                }
            } else {
                match ipv4_part(network) {
                    Some(n) => IpNetwork::V4(n),
                    None => continue,
                }
            };
            // A prefix inside one database network is reported as that (larger) network.
            let clipped = if network.prefix() < prefix.prefix() {
                prefix
            } else {
                network
            };
            let (weight, aliased) = match (clipped, prefix) {
                (IpNetwork::V6(part), IpNetwork::V6(query)) => (
                    ipv6_part_weight(part, query),
                    network.is_ipv4() || within_any(part, db.ipv4_aliases()),
                ),
                _ => (weight_of(clipped), false),
            };
            let found = result
                .offset()
                .map(|offset| (record_key(db_index, offset), result));
            visit(NetworkWeight {
                found,
                network: clipped,
                weight,
                aliased,
            })?;
        }
        Ok(())
    }
}

/// IPv4-mapped IPv6 addresses become IPv4.
#[inline]
#[must_use]
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// IPv4-mapped IPv6 prefixes (`::ffff:0:0/96` and longer) become IPv4 prefixes.
#[must_use]
pub fn canonical_network(net: IpNetwork) -> IpNetwork {
    if let IpNetwork::V6(v6) = net
        && v6.prefix() >= 96
        && let Some(v4) = v6.network().to_ipv4_mapped()
        && let Ok(n) = ipnetwork::Ipv4Network::new(v4, v6.prefix() - 96)
    {
        return IpNetwork::V4(n);
    }
    net
}

/// The IPv4 network a walk of IPv4 space met: IPv4 networks as they are, and an IPv6
/// network that covers all of `::/96` (a database whose record for IPv4 addresses sits above
/// the IPv4 subtree, e.g. one network `::/1`) as `0.0.0.0/0`. `None` for other IPv6 networks.
#[must_use]
pub fn ipv4_part(network: IpNetwork) -> Option<ipnetwork::Ipv4Network> {
    match network {
        IpNetwork::V4(n) => Some(n),
        IpNetwork::V6(n) if n.prefix() <= 96 && u128::from(n.network()) == 0 => {
            ipnetwork::Ipv4Network::new(Ipv4Addr::UNSPECIFIED, 0).ok()
        }
        IpNetwork::V6(_) => None,
    }
}

/// The weight of a prefix: IPv4 counts addresses, IPv6 counts /64 subnets (a prefix
/// longer than /64 counts as one). Exact: `::/0` is 2^64.
#[must_use]
pub fn weight_of(net: IpNetwork) -> u128 {
    match net {
        IpNetwork::V4(n) => 1u128 << (32 - u32::from(n.prefix())),
        IpNetwork::V6(n) => ipv6_weight(n.prefix()),
    }
}

/// /64 subnets in an IPv6 prefix of length `prefix` (1 for a prefix longer than /64).
#[must_use]
pub fn ipv6_weight(prefix: u8) -> u128 {
    1u128 << 64u32.saturating_sub(u32::from(prefix))
}

/// IPv6 space that MaxMind-format databases alias to their IPv4 data: the IPv4 subtree
/// `::/96`, IPv4-mapped `::ffff:0:0/96`, Teredo `2001::/32` and 6to4 `2002::/16`.
pub const IPV4_ALIASED_V6: [(u128, u8); 4] = [
    (0, 96),
    (0xffff << 32, 96),
    (0x2001 << 112, 32),
    (0x2002 << 112, 16),
];

/// True when an IPv6 network lies inside space aliased to IPv4 (see [`IPV4_ALIASED_V6`]).
#[must_use]
pub fn in_ipv4_alias(net: ipnetwork::Ipv6Network) -> bool {
    within_any(net, &IPV4_ALIASED_V6)
}

/// True when `net` lies inside one of the prefixes `(base, length)`.
fn within_any(net: ipnetwork::Ipv6Network, prefixes: &[(u128, u8)]) -> bool {
    let addr = u128::from(net.network());
    prefixes.iter().any(|&(base, len)| {
        net.prefix() >= len && (addr ^ base).checked_shr(128 - u32::from(len)).unwrap_or(0) == 0
    })
}

/// The weight, in /64 subnets, of `part` of an IPv6 `query` prefix, by the rule that each
/// /64 belongs to the network that holds its first address: a part of /64 or wider weighs
/// its /64s; a smaller part weighs 1 if it holds its /64's first address (or, when the query
/// itself is smaller than a /64, the query's first address), else 0. The parts of a query
/// therefore add up to exactly [`ipv6_weight`] of the query, however finely the database
/// splits its /64s.
#[must_use]
pub fn ipv6_part_weight(part: ipnetwork::Ipv6Network, query: ipnetwork::Ipv6Network) -> u128 {
    if part.prefix() <= 64 {
        return ipv6_weight(part.prefix());
    }
    let start = u128::from(part.network());
    let anchor = (start & !((1u128 << 64) - 1)).max(u128::from(query.network()));
    u128::from(start == anchor)
}

/// The parts of an unlocated range `first..=last` (IPv4 as `u32` values, IPv6 as `u128`),
/// split where reserved space begins or ends, each with its reason: `reserved` or
/// `no_record`. Every path that counts unlocated space (the prefix walk, the compiled
/// table's gaps in `--whole-db`) classifies through this, so they agree. IPv6 is split at
/// /64 boundaries only (each /64 goes by its first address, see [`ipv6_part_weight`]).
#[must_use]
pub fn unlocated_parts(first: u128, last: u128, v6: bool) -> Vec<(u128, u128, NotFound)> {
    let reason = |a: u128| {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(a))
        } else {
            IpAddr::V4(Ipv4Addr::from(a as u32))
        };
        NotFound::unlocated(ip)
    };
    // Boundaries of the reserved blocks (their first addresses and the address after
    // their last), inside the range.
    let blocks: &[(u128, u8)] = if v6 { &RESERVED_V6 } else { &RESERVED_V4 };
    let width = if v6 { 128 } else { 32 };
    let mut cuts: Vec<u128> = blocks
        .iter()
        .flat_map(|&(base, len)| {
            let end = crate::util::block_last(base << (128 - width), len) >> (128 - width);
            [Some(base), end.checked_add(1)]
        })
        .flatten()
        .filter(|&c| c > first && c <= last)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut parts = Vec::with_capacity(cuts.len() + 1);
    let mut from = first;
    for cut in cuts {
        parts.push((from, cut - 1, reason(from)));
        from = cut;
    }
    parts.push((from, last, reason(from)));
    parts
}

/// Reserved IPv4 blocks, as `(first address, prefix length)`: what [`is_reserved`] says.
const RESERVED_V4: [(u128, u8); 13] = [
    (0x0000_0000, 8),
    (0x0a00_0000, 8),
    (0x6440_0000, 10),
    (0x7f00_0000, 8),
    (0xa9fe_0000, 16),
    (0xac10_0000, 12),
    (0xc000_0000, 24),
    (0xc000_0200, 24),
    (0xc0a8_0000, 16),
    (0xc612_0000, 15),
    (0xc633_6400, 24),
    (0xcb00_7100, 24),
    (0xe000_0000, 3),
];

/// Reserved IPv6 blocks at /64 granularity (`::` and `::1` lie in `::/64`).
const RESERVED_V6: [(u128, u8); 6] = [
    (0, 64),
    (0x0100 << 112, 64),
    (0x2001_0db8 << 96, 32),
    (0xfc00 << 112, 7),
    (0xfe80 << 112, 10),
    (0xff00 << 112, 8),
];

/// Address space no geolocation database covers (private, loopback, link-local, multicast,
/// documentation, benchmarking, CGNAT, reserved).
#[must_use]
pub fn is_reserved(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_reserved_v4(v4),
        IpAddr::V6(v6) => is_reserved_v6(v6),
    }
}

fn is_reserved_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0
        || a == 10
        || a == 127
        || a >= 224
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
}

fn is_reserved_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_unspecified()
        || ip.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xff00) == 0xff00 // multicast ff00::/8
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard 100::/64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlocated_ranges_split_where_reserved_space_begins_and_ends() {
        let v4 = |s: &str| u128::from(u32::from(s.parse::<Ipv4Addr>().unwrap()));
        let parts = unlocated_parts(v4("192.0.0.0"), v4("192.0.3.255"), false);
        let names: Vec<(u128, &str)> = parts.iter().map(|p| (p.1 - p.0 + 1, p.2.name())).collect();
        assert_eq!(
            names,
            [
                (256, "reserved"),
                (256, "no_record"),
                (256, "reserved"),
                (256, "no_record")
            ]
        );
        // Every reserved block agrees with is_reserved at its edges.
        for &(base, len) in &RESERVED_V4 {
            let last = crate::util::block_last(base << 96, len) >> 96;
            for a in [base, last] {
                assert!(is_reserved(IpAddr::V4(Ipv4Addr::from(a as u32))), "{a:#x}");
            }
            if let Some(after) = last.checked_add(1).filter(|a| *a <= u128::from(u32::MAX)) {
                let all = unlocated_parts(base, after, false);
                assert_eq!(all.last().unwrap().0, after);
            }
        }
        let whole = unlocated_parts(0, u128::from(u32::MAX), false);
        assert_eq!(whole.iter().map(|p| p.1 - p.0 + 1).sum::<u128>(), 1 << 32);
        for (a, b, r) in whole {
            for ip in [a, b] {
                assert_eq!(
                    NotFound::unlocated(IpAddr::V4(Ipv4Addr::from(ip as u32))),
                    r,
                    "{ip:#x}"
                );
            }
        }
    }

    #[test]
    fn reserved_ranges() {
        for ip in [
            "10.1.2.3",
            "192.168.0.1",
            "127.0.0.1",
            "172.31.0.1",
            "100.64.0.1",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "2001:db8::1",
        ] {
            assert!(is_reserved(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:4860::1"] {
            assert!(!is_reserved(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn mapped_addresses_and_prefixes_become_ipv4() {
        assert_eq!(
            canonical("::ffff:1.2.3.4".parse().unwrap()),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            canonical_network("::ffff:1.2.3.0/120".parse().unwrap()),
            "1.2.3.0/24".parse::<IpNetwork>().unwrap()
        );
    }

    #[test]
    fn weights_count_addresses_and_slash64s() {
        assert_eq!(weight_of("1.2.3.0/24".parse().unwrap()), 256);
        assert_eq!(weight_of("0.0.0.0/0".parse().unwrap()), 1 << 32);
        assert_eq!(weight_of("2001:db8::/48".parse().unwrap()), 65_536);
        assert_eq!(weight_of("2001:db8::1/128".parse().unwrap()), 1);
        assert_eq!(weight_of("::/0".parse().unwrap()), 1u128 << 64);
    }
}
