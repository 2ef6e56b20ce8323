//! The on-disk cache of compiled IPv4 tables.
//!
//! Building a table walks the whole IPv4 tree and decodes every record (about 0.3 s of CPU
//! for GeoLite2-City); loading a cached one reads one file. A cache file is keyed by a hash
//! of the database's bytes and of everything else its places depend on (the schema after
//! field overrides, the country fallback, the file format and the ipatlas version), so a
//! changed database or option simply misses. Files are written to a temporary name and
//! renamed into place: readers see a whole file or none, and two runs racing to write the
//! same table both succeed (the contents are identical). A file that fails its checksum or
//! any structural check is ignored and rebuilt.
//!
//! A loaded table is read in place: its /24 index and ranges are used where they lie in the
//! file, through a read-only memory map (`memmap2`), and only its records are
//! decoded. So a load costs little more than checking the file.
//!
//! Layout (little-endian): magic `IPATLAST`, format version (u32), flags (u32: 1 when the
//! table gives every address's database network as the tree names it), key
//! (u128), range count (u64), record count (u64), the end of the names (u64), the index's
//! position (u64, a multiple of 4096); ranges as `(start u32, id u32)`; records as
//! `offset u64, sample u32, flags u8, country [u8; 2], reserved u8, accuracy radius u32,
//! latitude f64, longitude f64, three name numbers u32`; the names; zeros to the index; the
//! /24 index (2^24 complemented entries as the table holds them) and the /24s' network
//! prefix lengths (2^24 bytes), their empty stretches written as holes; then XXH3-64 of
//! everything before the index, and XXH3-64 of the index and prefix lengths.
//! Machines that are not little-endian neither read nor write the cache.

use super::mapped::{Mapping, Words};
use super::names::Name;
use super::place::{
    CountryCode, CountrySource, Details, DetailsData, Place, PlaceDetail, Subdivision,
};
use super::table::{Ipv4Table, MIXED, NO_RECORD, TableRecord};
use super::table6::Ipv6Table;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

const MAGIC: &[u8; 8] = b"IPATLAST";
/// 2: pseudo-country codes (ZZ, EU, A1, ...) decode as no country.
/// 3: and the pseudo-code is kept (flag `PSEUDO_COUNTRY`, in the country bytes).
/// 4: places keep their subdivision and city: three name numbers per record (0 for none,
///    else 1 + the index in the names that follow the records).
/// 5: the /24 index is in the file, read in place.
/// 6: adjacent networks narrower than /24 stay apart, and the network prefix length of each
///    /24 covered by one network follows the index (`lookup` reads networks from the table).
const VERSION: u32 = 6;
const HEADER: usize = 8 + 4 + 4 + 16 + 8 + 8 + 8 + 8;
const RANGE: usize = 8;
pub(super) const RECORD: usize = 8 + 4 + 1 + 2 + 1 + 4 + 8 + 8 + 3 * 4;
const TRAILER: usize = 8;
/// The index's alignment in the file (a page, so it maps as the table uses it).
const PAGE: usize = 4096;
const INDEX_BYTES: usize = super::table::INDEX_LEN * 4;
/// The index and, after it, the per-/24 network prefix lengths.
const ARRAYS_BYTES: usize = INDEX_BYTES + super::table::INDEX_LEN;
/// The file can be read in place (ranges and index as the table holds them).
const IN_PLACE: bool = cfg!(target_endian = "little");
/// Table files kept per cache directory (the most recently written); older ones are removed.
const KEEP: usize = 4;
/// Compiled IPv6 tables kept per cache directory.
pub const KEEP_V6: usize = 4;

const HAS_COUNTRY: u8 = 1;
const REGISTERED: u8 = 2;
const HAS_COORDS: u8 = 4;
const HAS_RADIUS: u8 = 8;
const PSEUDO_COUNTRY: u8 = 16;

/// Where tables are cached unless told otherwise: `$IPATLAS_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/ipatlas`, else `~/.cache/ipatlas`.
#[must_use]
pub fn default_dir() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = env("IPATLAS_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = env("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("ipatlas"));
    }
    env("HOME").map(|home| PathBuf::from(home).join(".cache").join("ipatlas"))
}

/// The cache file of a table with this key.
#[must_use]
pub fn table_path(dir: &Path, key: u128) -> PathBuf {
    dir.join(format!("ipv4-table-{key:032x}.bin"))
}

/// Why a table file from another version of ipatlas is not used: after an upgrade this is
/// normal, and the table is rebuilt and replaced without a word.
pub const STALE: &str = "written by another version of ipatlas";

/// Why a cache file that exists was not used.
#[derive(Debug)]
pub enum Refused {
    /// Another user could have written it (not a regular file of ours, or writable by group
    /// or others), as ssh treats its keys: not read, and not replaced either.
    Unsafe(String),
    /// It is ours but not sound (checksum, structure, or disagreement with the database):
    /// rebuilt and replaced.
    Unsound(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Unsafe(m) | Refused::Unsound(m) => f.write_str(m),
        }
    }
}

/// Checks that a cache file is a regular file (not a symlink), owned by this user, and
/// writable by no one else.
fn trustworthy(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    if !meta.file_type().is_file() {
        return Err("it is not a regular file".into());
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!(
            "it is owned by user {}, not by this user ({me})",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "it is writable by group or others (mode {:o})",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// Loads the table with this key, if the cache holds one. `Err` says why a file that
/// exists was not used.
pub fn load(dir: &Path, key: u128, db_index: usize) -> Option<Result<Ipv4Table, Refused>> {
    load_mapped(&table_path(dir, key), |map| {
        let parts = check(map.bytes(), key)?;
        let misplaced = || "its arrays are misplaced".to_owned();
        let ranges = Words::mapped(map, HEADER, parts.ranges).ok_or_else(misplaced)?;
        let len = super::table::INDEX_LEN;
        let index = Words::mapped(map, parts.index_at, len).ok_or_else(misplaced)?;
        let networks =
            Words::mapped(map, parts.index_at + INDEX_BYTES, len).ok_or_else(misplaced)?;
        let records = parts.records.mapped(map);
        let networks = (networks, parts.exact_networks);
        Ok(Ipv4Table::from_mapped(
            index, ranges, networks, records, db_index,
        ))
    })
}

/// Maps the table file at `path`, if it exists, and reads a table from it with `read`;
/// `Err` says why a file that exists was not used.
fn load_mapped<T>(
    path: &Path,
    read: impl FnOnce(&Arc<Mapping>) -> Result<T, String>,
) -> Option<Result<T, Refused>> {
    if !IN_PLACE {
        return None;
    }
    std::fs::symlink_metadata(path).ok()?;
    if let Err(why) = trustworthy(path) {
        return Some(Err(Refused::Unsafe(why)));
    }
    let mapped = crate::util::open_regular(path)
        .and_then(|(file, len)| Mapping::new(&file, len))
        .map_err(|e| e.to_string());
    Some(mapped.and_then(|map| read(&map)).map_err(Refused::Unsound))
}

/// Writes a cache file atomically with `write` (the directory is created 0700, the file
/// 0600, under a temporary name renamed to `path`), then keeps only the `keep` newest files
/// named as `path` is up to its key.
fn store_file(
    path: &Path,
    prefix: &str,
    keep: usize,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{prefix}"))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    crate::util::register_temporary(tmp.path().to_path_buf());
    write(tmp.as_file_mut())?;
    tmp.persist(path).map_err(|e| e.error)?;
    prune_kind(dir, prefix, path, keep);
    Ok(())
}

/// Writes a table into the cache (atomically; the directory is created 0700 and the file
/// 0600), then trims the cache to its newest files.
pub fn store(dir: &Path, key: u128, table: &Ipv4Table) -> std::io::Result<()> {
    if !IN_PLACE {
        return Ok(());
    }
    // Not synced to disk: a file cut short by a crash fails its checksums and is rebuilt.
    store_file(&table_path(dir, key), "ipv4-table-", KEEP, |file| {
        write_table(file, table, key)
    })
}

/// Writes a whole table file: the head, the index (skipping pages of zeros, which become
/// holes), and the two checksums.
fn write_table(out: &mut std::fs::File, table: &Ipv4Table, key: u128) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let head = encode_head(table, key);
    let index: &[u8] = bytemuck::cast_slice(table.raw_index());
    let blank = super::table::blank_networks();
    let networks = match table.raw_networks() {
        n if n.len() == super::table::INDEX_LEN => n,
        _ => &blank,
    };
    out.write_all(&head)?;
    // Runs of pages with data are written whole (one call each, not one per page).
    let mut skipped = 0i64;
    const ZEROS: [u8; PAGE] = [0; PAGE];
    for array in [index, networks] {
        let mut run = 0..0;
        for (i, page) in array.chunks(PAGE).enumerate() {
            if page != &ZEROS[..page.len()] {
                if run.is_empty() {
                    if skipped > 0 {
                        out.seek(SeekFrom::Current(skipped))?;
                        skipped = 0;
                    }
                    run = i * PAGE..i * PAGE;
                }
                run.end = i * PAGE + page.len();
                continue;
            }
            out.write_all(&array[run.clone()])?;
            run = 0..0;
            skipped += page.len() as i64;
        }
        out.write_all(&array[run])?;
    }
    if skipped > 0 {
        out.seek(SeekFrom::Current(skipped))?;
    }
    let mut arrays = twox_hash::XxHash3_64::new();
    std::hash::Hasher::write(&mut arrays, index);
    std::hash::Hasher::write(&mut arrays, networks);
    let sums = [
        twox_hash::XxHash3_64::oneshot(&head),
        std::hash::Hasher::finish(&arrays),
    ];
    out.write_all(bytemuck::cast_slice(&sums.map(u64::to_le)))?;
    Ok(())
}

/// Removes all but the `count` most recently written `{prefix}*.bin` files, never `keep`
/// (best effort: another run may be removing or reading the same files).
fn prune_kind(dir: &Path, prefix: &str, keep: &Path, count: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut tables: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(prefix) && name.ends_with(".bin") && e.path() != keep
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    tables.sort_by_key(|t| std::cmp::Reverse(t.0));
    for (_, path) in tables.into_iter().skip(count.saturating_sub(1)) {
        let _ = std::fs::remove_file(path);
    }
}

/// The IPv6 table's file (beside the IPv4 table's, as `ipv6-table-<key>.bin`), read in place
/// as the IPv4 table's is. Layout (little-endian): magic `IPATLAS6`, version (u32),
/// reserved (u32), key (u128), range count (u64), record count (u64), the end of the names
/// (u64), reserved (u64); range starts (u128 each); their record ids (u32 each); the block
/// index (2^20 + 1 range positions, u32 each); the records and names as the IPv4 file holds
/// them (the IPv4 address unused); then XXH3-64 of everything before it.
const MAGIC6: &[u8; 8] = b"IPATLAS6";
const VERSION6: u32 = 1;

/// Loads the IPv6 table with this key, if the cache holds one (see [`load`]).
pub fn load6(dir: &Path, key: u128, db_index: usize) -> Option<Result<Ipv6Table, Refused>> {
    load_mapped(&blob_path(dir, TABLE6_KIND, key), |map| {
        let parts = check6(map.bytes(), key)?;
        let n = parts.ranges;
        let misplaced = || "its arrays are misplaced".to_owned();
        let starts = Words::mapped(map, HEADER, n).ok_or_else(misplaced)?;
        let ids = Words::mapped(map, HEADER + 16 * n, n).ok_or_else(misplaced)?;
        let index =
            Words::mapped(map, HEADER + 20 * n, Ipv6Table::INDEX_LEN).ok_or_else(misplaced)?;
        Ipv6Table::from_mapped(index, starts, ids, parts.records.mapped(map), db_index)
    })
}

/// Writes an IPv6 table into the cache (as [`store`]).
pub fn store6(dir: &Path, key: u128, table: &Ipv6Table) -> std::io::Result<()> {
    if !IN_PLACE {
        return Ok(());
    }
    let path = blob_path(dir, TABLE6_KIND, key);
    store_file(&path, &format!("{TABLE6_KIND}-"), KEEP_V6, |file| {
        file.write_all(&encode6(table, key))
    })
}

/// The IPv6 table cache file's name before its key.
pub const TABLE6_KIND: &str = "ipv6-table";

fn encode6(table: &Ipv6Table, key: u128) -> Vec<u8> {
    let (starts, ids, index) = table.raw_parts();
    let records = table.record_count();
    let mut out = Vec::with_capacity(HEADER + 20 * starts.len() + 4 * index.len());
    push_header(&mut out, (MAGIC6, VERSION6, key), starts.len(), records);
    for start in starts {
        out.extend_from_slice(&start.to_le_bytes());
    }
    for words in [ids, index] {
        for w in words {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    let records: Vec<_> = (0..records as u32)
        .map(|id| table.table_record(id))
        .collect();
    encode_records(&mut out, records.iter().map(|r| (r.offset, 0, &r.place)));
    let names_end = out.len() as u64;
    out[HEADER - 16..HEADER - 8].copy_from_slice(&names_end.to_le_bytes());
    let sum = twox_hash::XxHash3_64::oneshot(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Where the parts of a checked IPv6 table file lie.
struct Checked6 {
    ranges: usize,
    records: RecordParts,
}

/// Checks an IPv6 table file's header, checksum, records and names (the arrays are checked
/// by [`Ipv6Table::from_mapped`]).
fn check6(bytes: &[u8], key: u128) -> Result<Checked6, String> {
    if bytes.starts_with(BLOB_MAGIC) {
        // The sealed blob earlier versions wrote.
        return Err(STALE.into());
    }
    let [n_ranges, n_records, names_end, _] = header(bytes, MAGIC6, VERSION6, key)?;
    let records_at = n_ranges
        .checked_mul(20)
        .and_then(|n| n.checked_add((HEADER + 4 * Ipv6Table::INDEX_LEN) as u64));
    let sized = records_at
        .and_then(|at| n_records.checked_mul(RECORD as u64)?.checked_add(at + 8))
        .is_some_and(|n| n <= names_end)
        && names_end.checked_add(TRAILER as u64) == Some(bytes.len() as u64);
    if !sized {
        return Err("its size does not match its counts".into());
    }
    if n_ranges == 0 || n_ranges >= u64::from(NO_RECORD) || n_records >= u64::from(NO_RECORD) {
        return Err("implausible counts".into());
    }
    let (body, trailer) = bytes.split_at(names_end as usize);
    let mut sum = [0u8; 8];
    sum.copy_from_slice(trailer);
    if twox_hash::XxHash3_64::oneshot(body) != u64::from_le_bytes(sum) {
        return Err("checksum mismatch".into());
    }
    let records_at = records_at.unwrap_or(0) as usize;
    Ok(Checked6 {
        ranges: n_ranges as usize,
        records: RecordParts::check(body, records_at, n_records as usize, body.len())?,
    })
}

/// Cached blobs other than tables (a CSV database converted to `.mmdb`): `IPATLASB`,
/// version (u32), reserved (u32), key (u128), payload length (u64), the payload, then
/// XXH3-64 of everything before it.
const BLOB_MAGIC: &[u8; 8] = b"IPATLASB";
const BLOB_VERSION: u32 = 1;
const BLOB_HEADER: usize = 8 + 4 + 4 + 16 + 8;
/// Converted CSV databases kept per cache directory (each can be tens of megabytes).
pub const KEEP_CSV: usize = 2;

/// The cache file of a blob of this kind (`csv-db`) and key.
#[must_use]
pub fn blob_path(dir: &Path, kind: &str, key: u128) -> PathBuf {
    dir.join(format!("{kind}-{key:032x}.bin"))
}

/// Loads the blob of this kind and key, if the cache holds one: its payload, or why a file
/// that exists is not used.
pub fn load_blob(dir: &Path, kind: &str, key: u128) -> Option<Result<Vec<u8>, Refused>> {
    let path = blob_path(dir, kind, key);
    std::fs::symlink_metadata(&path).ok()?;
    if let Err(why) = trustworthy(&path) {
        return Some(Err(Refused::Unsafe(why)));
    }
    let bytes = match crate::util::read_file(&path) {
        Ok(b) => b,
        Err(e) => return Some(Err(Refused::Unsound(e.to_string()))),
    };
    Some(unseal(bytes, key).map_err(Refused::Unsound))
}

/// The payload of a sealed blob, after every check.
fn unseal(mut bytes: Vec<u8>, key: u128) -> Result<Vec<u8>, String> {
    if bytes.len() < BLOB_HEADER + TRAILER || &bytes[..8] != BLOB_MAGIC {
        return Err("not an ipatlas cache file".into());
    }
    let body = bytes.len() - TRAILER;
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&bytes[body..]);
    if twox_hash::XxHash3_64::oneshot(&bytes[..body]) != u64::from_le_bytes(sum) {
        return Err("its checksum does not match (a damaged file)".into());
    }
    let mut f = Fields(&bytes[8..BLOB_HEADER]);
    if f.u32() != BLOB_VERSION {
        return Err(STALE.into());
    }
    f.u32();
    let stored = u128::from_le_bytes(f.take());
    let len = f.u64();
    if stored != key {
        return Err("it was written for another key".into());
    }
    if len != (body - BLOB_HEADER) as u64 {
        return Err("its length does not match its header".into());
    }
    bytes.truncate(body);
    bytes.drain(..BLOB_HEADER);
    Ok(bytes)
}

/// Writes a blob into the cache (atomically, 0700 directory, 0600 file), then keeps only
/// the `keep` newest of its kind.
pub fn store_blob(
    dir: &Path,
    kind: &str,
    key: u128,
    payload: &[u8],
    keep: usize,
) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(BLOB_HEADER);
    head.extend_from_slice(BLOB_MAGIC);
    head.extend_from_slice(&BLOB_VERSION.to_le_bytes());
    head.extend_from_slice(&0u32.to_le_bytes());
    head.extend_from_slice(&key.to_le_bytes());
    head.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    let mut hasher = twox_hash::XxHash3_64::new();
    std::hash::Hasher::write(&mut hasher, &head);
    std::hash::Hasher::write(&mut hasher, payload);
    let path = blob_path(dir, kind, key);
    store_file(&path, &format!("{kind}-"), keep, |file| {
        file.write_all(&head)?;
        file.write_all(payload)?;
        file.write_all(&std::hash::Hasher::finish(&hasher).to_le_bytes())?;
        file.sync_data()
    })
}

/// Everything of a table file before its index: header, ranges, records, names, and zeros
/// to the index's position.
fn encode_head(table: &Ipv4Table, key: u128) -> Vec<u8> {
    let ranges = table.raw_ranges();
    let records = table.record_count();
    let mut out = Vec::with_capacity(HEADER + ranges.len() * RANGE + records * RECORD);
    // The end of the names and the index's position are filled in below.
    let flags = if table.exact_networks() {
        EXACT_NETWORKS
    } else {
        0
    };
    push_header_flags(
        &mut out,
        (MAGIC, VERSION, key),
        flags,
        ranges.len(),
        records,
    );
    for &[start, id] in ranges {
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&id.to_le_bytes());
    }
    let records: Vec<TableRecord> = (0..records as u32)
        .map(|id| table.table_record(id))
        .collect();
    encode_records(
        &mut out,
        records.iter().map(|r| (r.offset, r.sample, &r.place)),
    );
    let names_end = out.len();
    let index_at = names_end.div_ceil(PAGE) * PAGE;
    out.resize(index_at, 0);
    out[HEADER - 16..HEADER - 8].copy_from_slice(&(names_end as u64).to_le_bytes());
    out[HEADER - 8..HEADER].copy_from_slice(&(index_at as u64).to_le_bytes());
    out
}

/// Writes records as the table files hold them (offset, an IPv4 address inside, the place
/// with its names as numbers), then the names.
pub(super) fn encode_records<'a>(
    out: &mut Vec<u8>,
    records: impl Iterator<Item = (u64, u32, &'a Place)>,
) {
    let mut names: rustc_hash::FxHashMap<Name, u32> = rustc_hash::FxHashMap::default();
    let mut name_list: Vec<Name> = Vec::new();
    let mut number = |name: Option<Name>| -> u32 {
        name.map_or(0, |n| {
            *names.entry(n).or_insert_with(|| {
                name_list.push(n);
                name_list.len() as u32
            })
        })
    };
    for (offset, sample, p) in records {
        let sub = p.subdivision();
        let numbers = [
            number(sub.and_then(|s| s.code)),
            number(sub.and_then(|s| s.name)),
            number(p.city()),
        ];
        let mut flags = 0u8;
        let mut country = [0u8; 2];
        if let Some(c) = p.country {
            flags |= HAS_COUNTRY;
            country.copy_from_slice(c.as_str().as_bytes());
            if p.country_source == CountrySource::Registered {
                flags |= REGISTERED;
            }
        } else if let Some(c) = p.pseudo_country {
            flags |= PSEUDO_COUNTRY;
            country.copy_from_slice(c.as_str().as_bytes());
        }
        let coords = p.coords();
        if coords.is_some() {
            flags |= HAS_COORDS;
        }
        if p.accuracy_radius.is_some() {
            flags |= HAS_RADIUS;
        }
        let (lat, lon) = coords.unwrap_or((0.0, 0.0));
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&sample.to_le_bytes());
        out.push(flags);
        out.extend_from_slice(&country);
        out.push(0);
        out.extend_from_slice(&p.accuracy_radius.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&lat.to_le_bytes());
        out.extend_from_slice(&lon.to_le_bytes());
        for n in numbers {
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
    out.extend_from_slice(&(name_list.len() as u64).to_le_bytes());
    for name in name_list {
        out.extend_from_slice(&(name.as_str().len() as u32).to_le_bytes());
        out.extend_from_slice(name.as_str().as_bytes());
    }
}

/// Little-endian fields read in order from a byte slice whose length was checked first.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
}

/// Writes a table file's header (see [`header`]), its last two numbers 0 (filled in later).
fn push_header(out: &mut Vec<u8>, file: (&[u8; 8], u32, u128), ranges: usize, records: usize) {
    push_header_flags(out, file, 0, ranges, records);
}

/// [`push_header`] with flags in the word after the version.
fn push_header_flags(
    out: &mut Vec<u8>,
    file: (&[u8; 8], u32, u128),
    flags: u32,
    ranges: usize,
    records: usize,
) {
    let (magic, version, key) = file;
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&key.to_le_bytes());
    out.extend_from_slice(&(ranges as u64).to_le_bytes());
    out.extend_from_slice(&(records as u64).to_le_bytes());
    out.extend_from_slice(&[0; 16]);
}

/// The four numbers after the key in a table file's header (range count, record count, the
/// end of the names, and one more), once its magic, version and key are checked.
fn header(bytes: &[u8], magic: &[u8; 8], version: u32, key: u128) -> Result<[u64; 4], String> {
    header_flags(bytes, magic, version, key).map(|(numbers, _)| numbers)
}

/// [`header`], with the flags after the version.
fn header_flags(
    bytes: &[u8],
    magic: &[u8; 8],
    version: u32,
    key: u128,
) -> Result<([u64; 4], u32), String> {
    if bytes.len() < HEADER {
        return Err("shorter than its header".into());
    }
    let mut f = Fields(&bytes[..HEADER]);
    if &f.take::<8>() != magic {
        return Err("not an ipatlas table file".into());
    }
    if f.u32() != version {
        return Err(STALE.into());
    }
    let flags = f.u32();
    if u128::from_le_bytes(f.take()) != key {
        return Err("made from another database".into());
    }
    Ok(([f.u64(), f.u64(), f.u64(), f.u64()], flags))
}

/// Where a checked table file's records and names lie (what [`MappedRecords`] reads).
struct RecordParts {
    at: usize,
    count: usize,
    names: (usize, usize),
    spans: Vec<(u32, u32)>,
}

impl RecordParts {
    /// Checks the `count` records at byte `at` of a table file's `bytes`, and the names
    /// after them to byte `names_end`; where each name lies.
    fn check(bytes: &[u8], at: usize, count: usize, names_end: usize) -> Result<Self, String> {
        let names_at = count
            .checked_mul(RECORD)
            .and_then(|n| n.checked_add(at))
            .filter(|&n| n <= names_end && names_end <= bytes.len())
            .ok_or("its size does not match its counts")?;
        let spans = name_spans(&bytes[names_at..names_end])?;
        for (i, r) in bytes[at..names_at].chunks_exact(RECORD).enumerate() {
            RawRecord::read(r)
                .check(spans.len())
                .map_err(|why| format!("record {i}: {why}"))?;
        }
        Ok(RecordParts {
            at,
            count,
            names: (names_at, names_end),
            spans,
        })
    }

    /// The records, read in place from the file's `map`.
    fn mapped(self, map: &Arc<Mapping>) -> MappedRecords {
        MappedRecords {
            map: map.clone(),
            at: self.at,
            count: self.count,
            names: self.names,
            made: self.spans.iter().map(|_| OnceLock::new()).collect(),
            details: self.spans.iter().map(|_| OnceLock::new()).collect(),
            spans: self.spans,
        }
    }
}

/// Header flag of an IPv4 table file: its networks are the tree's (see
/// [`Ipv4Table::exact_networks`]).
const EXACT_NETWORKS: u32 = 1;

/// Where the parts of a checked table file lie.
struct Checked {
    exact_networks: bool,
    ranges: usize,
    records: RecordParts,
    index_at: usize,
}

/// Checks a whole table file: header, both checksums, and every range, record, name,
/// index entry and network (the arrays on another thread meanwhile).
fn check(bytes: &[u8], key: u128) -> Result<Checked, String> {
    let ([n_ranges, n_records, names_end, index_at], flags) =
        header_flags(bytes, MAGIC, VERSION, key)?;
    if flags & !EXACT_NETWORKS != 0 {
        return Err("unknown flags".into());
    }
    let fixed = n_ranges
        .checked_mul(RANGE as u64)
        .and_then(|r| n_records.checked_mul(RECORD as u64)?.checked_add(r))
        .and_then(|n| n.checked_add(HEADER as u64 + 8));
    let sized = fixed.is_some_and(|n| n <= names_end)
        && names_end <= index_at
        && index_at % PAGE as u64 == 0
        && index_at.checked_add((ARRAYS_BYTES + 2 * TRAILER) as u64) == Some(bytes.len() as u64);
    if !sized {
        return Err("its size does not match its counts".into());
    }
    if n_ranges == 0 || n_ranges >= u64::from(MIXED) || n_records >= u64::from(MIXED) {
        return Err("implausible counts".into());
    }
    let (n_ranges, n_records) = (n_ranges as usize, n_records as usize);
    let (head, rest) = bytes.split_at(index_at as usize);
    let (arrays, sums) = rest.split_at(ARRAYS_BYTES);
    let sum = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&sums[at..at + TRAILER]);
        u64::from_le_bytes(b)
    };
    // The head's checksum first: a damaged head is refused without reading the arrays.
    if twox_hash::XxHash3_64::oneshot(head) != sum(0) {
        return Err("checksum mismatch".into());
    }
    let records_at = HEADER + n_ranges * RANGE;
    let (index_ok, records) = rayon::join(
        || {
            if twox_hash::XxHash3_64::oneshot(arrays) != sum(TRAILER) {
                return Err("checksum mismatch".to_owned());
            }
            let (index, networks) = arrays.split_at(INDEX_BYTES);
            check_index(index, n_ranges as u32, n_records as u32)?;
            // Prefix lengths of networks that cover whole /24s (0 for none); the maximum
            // first, as it vectorises.
            if networks.iter().fold(0, |m, &p| m.max(p)) > 24 {
                let at = networks.iter().position(|&p| p > 24).unwrap_or(0);
                return Err(format!("the network of /24 {at} is not one"));
            }
            Ok(())
        },
        || {
            check_ranges(&head[HEADER..records_at], n_records)?;
            RecordParts::check(head, records_at, n_records, names_end as usize)
        },
    );
    let records = records?;
    index_ok?;
    Ok(Checked {
        exact_networks: flags & EXACT_NETWORKS != 0,
        ranges: n_ranges,
        records,
        index_at: index_at as usize,
    })
}

/// Every range starts after the one before (the first at 0) and names a record or none.
fn check_ranges(bytes: &[u8], n_records: usize) -> Result<(), String> {
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut prev: Option<u32> = None;
    for (i, r) in bytes.chunks_exact(RANGE).enumerate() {
        let (start, id) = (le32(&r[..4]), le32(&r[4..]));
        let ascending = prev.map_or(start == 0, |p| start > p);
        if !ascending || (id != NO_RECORD && id as usize >= n_records) {
            return Err(format!("range {i} is out of order or names no record"));
        }
        prev = Some(start);
    }
    Ok(())
}

/// Every index entry names a record, none, or (mixed) a range (both counts below
/// [`MIXED`]).
fn check_index(bytes: &[u8], n_ranges: u32, n_records: u32) -> Result<(), String> {
    // As words where aligned (a mapped file always is), so the check vectorises.
    let words: std::borrow::Cow<'_, [u32]> = match bytemuck::try_cast_slice(bytes) {
        Ok(words) => words.into(),
        Err(_) => bytes
            .chunks_exact(4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    };
    let bad = |w: u32| {
        let entry = !u32::from_le(w);
        let limit = if entry & MIXED != 0 {
            n_ranges
        } else {
            n_records
        };
        (entry != NO_RECORD) & (entry & !MIXED >= limit)
    };
    // Without a branch per entry; the position only when one is bad.
    if words.iter().fold(0u32, |any, &w| any | u32::from(bad(w))) != 0 {
        let at = words.iter().position(|&w| bad(w)).unwrap_or(0);
        return Err(format!("index entry {at} names no record or range"));
    }
    Ok(())
}

/// One record as a table file holds it.
struct RawRecord {
    offset: u64,
    sample: u32,
    flags: u8,
    country: [u8; 2],
    radius: u32,
    lat: f64,
    lon: f64,
    /// Subdivision code, subdivision name, city: 0 for none, else 1 + a name's number.
    names: [u32; 3],
}

impl RawRecord {
    /// The record in `r` ([`RECORD`] bytes; missing bytes read as zeros).
    fn read(r: &[u8]) -> RawRecord {
        let at = |i: usize| -> [u8; 8] {
            let mut b = [0u8; 8];
            let part = r.get(i..(i + 8).min(r.len())).unwrap_or(&[]);
            b[..part.len()].copy_from_slice(part);
            b
        };
        let word = |i: usize| {
            let b = at(i);
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        let flags = at(12);
        RawRecord {
            offset: u64::from_le_bytes(at(0)),
            sample: word(8),
            flags: flags[0],
            country: [flags[1], flags[2]],
            radius: word(16),
            lat: f64::from_le_bytes(at(20)),
            lon: f64::from_le_bytes(at(28)),
            names: [word(36), word(40), word(44)],
        }
    }

    /// Whether the record is one [`encode_records`] writes, among `names` names: then
    /// [`RawRecord::place`] reads it whole.
    fn check(&self, names: usize) -> Result<(), &'static str> {
        if self.names.iter().any(|&n| n as usize > names) {
            return Err("no such name");
        }
        if self.flags & (HAS_COUNTRY | PSEUDO_COUNTRY) != 0 && !self.code_written() {
            return Err("bad country");
        }
        let on_earth = (-90.0..=90.0).contains(&self.lat) && (-180.0..=180.0).contains(&self.lon);
        if self.flags & HAS_COORDS != 0 && !on_earth {
            return Err("bad coordinates");
        }
        Ok(())
    }

    /// Whether the country bytes are a code as written: two upper-case letters or digits.
    fn code_written(&self) -> bool {
        self.country
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    }

    /// The country code, when written as one.
    fn code(&self) -> Option<CountryCode> {
        if !self.code_written() {
            return None;
        }
        std::str::from_utf8(&self.country)
            .ok()
            .and_then(CountryCode::parse)
    }

    /// The place, from a record that passed [`RawRecord::check`].
    fn place(&self, names: &NameTable<'_>) -> Place {
        Place {
            details: names.details(self.names),
            ..self.located()
        }
    }

    /// The place without its named parts (subdivision, city).
    fn located(&self) -> Place {
        let mut place = Place::EMPTY;
        if self.flags & HAS_COUNTRY != 0 {
            place.country = self.code();
            if self.flags & REGISTERED != 0 {
                place.country_source = CountrySource::Registered;
            }
        } else if self.flags & PSEUDO_COUNTRY != 0 {
            place.pseudo_country = self.code().filter(CountryCode::is_pseudo);
        }
        if self.flags & HAS_COORDS != 0 {
            place.lat = Some(self.lat);
            place.lon = Some(self.lon);
        }
        if self.flags & HAS_RADIUS != 0 {
            place.accuracy_radius = Some(self.radius);
        }
        place
    }
}

/// Where each name lies in the names after the records (a count, then each as a length
/// and UTF-8 text, to the end of the body), each checked to be one `Name::new` keeps as
/// it is. Names are made only when a record is read.
fn name_spans(bytes: &[u8]) -> Result<Vec<(u32, u32)>, String> {
    let mut f = Fields(bytes);
    let count = f.u64();
    let mut spans = Vec::with_capacity((count as usize).min(bytes.len() / 5));
    let mut at = 8usize;
    for i in 0..count {
        let len = f.u32() as usize;
        at += 4;
        if len > f.0.len() {
            return Err(format!("name {i} is cut short"));
        }
        let (text, rest) = f.0.split_at(len);
        f.0 = rest;
        // The text as written: UTF-8, not blank, and not cut by `Name::new`.
        let kept = len <= super::names::MAX_NAME_BYTES
            && std::str::from_utf8(text).is_ok_and(|t| !t.trim().is_empty());
        if !kept || at + len > u32::MAX as usize {
            return Err(format!("name {i} is not a name"));
        }
        spans.push((at as u32, (at + len) as u32));
        at += len;
    }
    if !f.0.is_empty() {
        return Err("bytes after the names".into());
    }
    Ok(spans)
}

/// The names of a table file: its names' bytes and where each lies in them.
struct NameTable<'a> {
    bytes: &'a [u8],
    spans: &'a [(u32, u32)],
    /// Each name once made (interned), shared by the threads reading records: a name is
    /// made once per table, not once per record that names it.
    made: &'a [OnceLock<Name>],
    /// Details made from a record's names, filed under the last name the record has (its
    /// city, else its subdivision): records of one city share them.
    details: &'a [OnceLock<([u32; 3], Option<Details>)>],
}

impl NameTable<'_> {
    /// Name number `n` (1-based; 0 is none).
    fn get(&self, n: u32) -> Option<Name> {
        let i = (n as usize).checked_sub(1)?;
        let made = self.made.get(i)?;
        if let Some(&name) = made.get() {
            return Some(name);
        }
        let &(start, end) = self.spans.get(i)?;
        let text = self.bytes.get(start as usize..end as usize)?;
        let name = Name::new_kept(std::str::from_utf8(text).ok()?)?;
        Some(*made.get_or_init(|| name))
    }

    /// The details of a record's subdivision code, subdivision name and city (name numbers,
    /// 0 for none).
    fn details(&self, numbers: [u32; 3]) -> Option<Details> {
        let last = numbers.iter().rev().find(|&&n| n > 0)?;
        let filed = self.details.get((*last as usize).checked_sub(1)?);
        if let Some((known, details)) = filed.and_then(OnceLock::get)
            && *known == numbers
        {
            return *details;
        }
        let [code, name, city] = numbers.map(|n| self.get(n));
        let details = Details::new_kept(DetailsData {
            subdivision: Subdivision::of(code, name),
            city,
            network: None,
        });
        if let Some(filed) = filed {
            let _ = filed.set((numbers, details));
        }
        details
    }
}

/// The records of a table file read in place: checked when the file was loaded, and each
/// made into a place when it is asked for.
pub(super) struct MappedRecords {
    map: Arc<Mapping>,
    /// Where the records start in the file, and how many there are.
    at: usize,
    count: usize,
    /// Where the names start and end in the file, and where each lies in them.
    names: (usize, usize),
    spans: Vec<(u32, u32)>,
    made: Vec<OnceLock<Name>>,
    details: Vec<OnceLock<([u32; 3], Option<Details>)>>,
}

impl MappedRecords {
    pub(super) fn len(&self) -> usize {
        self.count
    }

    /// What a coarse tally keeps of record `id`'s place ([`PlaceDetail::Coarse`]): no
    /// name is made. `None` past the last record.
    pub(super) fn coarse_place(&self, id: u32) -> Option<Place> {
        Some(PlaceDetail::Coarse.keep(self.raw(id)?.located()))
    }

    /// Record `id` as the file holds it (`None` past the last).
    fn raw(&self, id: u32) -> Option<RawRecord> {
        if id as usize >= self.count {
            return None;
        }
        let at = self.at + id as usize * RECORD;
        Some(RawRecord::read(self.map.bytes().get(at..at + RECORD)?))
    }

    /// Record `id` as the table holds it (`None` past the last).
    pub(super) fn get(&self, id: u32) -> Option<TableRecord> {
        let raw = self.raw(id)?;
        let bytes = self.map.bytes();
        let names = NameTable {
            bytes: bytes.get(self.names.0..self.names.1)?,
            spans: &self.spans,
            made: &self.made,
            details: &self.details,
        };
        Some(TableRecord {
            offset: raw.offset,
            sample: raw.sample,
            place: raw.place(&names),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table file's bytes, as `store` writes them.
    fn encode(table: &Ipv4Table, key: u128) -> Vec<u8> {
        let mut file = tempfile::tempfile().unwrap();
        write_table(&mut file, table, key).unwrap();
        let mut bytes = Vec::new();
        std::io::Seek::rewind(&mut file).unwrap();
        std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
        bytes
    }

    /// The table in a file's bytes, after every check `load` makes.
    fn decode_table(bytes: &[u8], key: u128) -> Result<Ipv4Table, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(table_path(dir.path(), key), bytes).unwrap();
        match load(dir.path(), key, 0) {
            Some(table) => table.map_err(|e| e.to_string()),
            None => Err("no file".into()),
        }
    }

    fn records(t: &Ipv4Table) -> Vec<TableRecord> {
        (0..t.record_count() as u32)
            .map(|id| t.table_record(id))
            .collect()
    }

    fn table() -> Ipv4Table {
        let place = |c: &str, lat: f64| {
            Place {
                country: CountryCode::parse(c),
                lat: Some(lat),
                lon: Some(-lat / 2.0),
                accuracy_radius: Some(50),
                ..Place::EMPTY
            }
            .with_names(
                Subdivision::new(Some("NY"), Some("New York")),
                Name::new("Brooklyn"),
            )
        };
        let records = vec![
            TableRecord {
                offset: 10,
                sample: 0x0100_0000,
                place: place("US", 40.5),
            },
            TableRecord {
                offset: 77,
                sample: 0x0100_0180,
                place: Place {
                    country: CountryCode::parse("DE"),
                    country_source: CountrySource::Registered,
                    ..Place::EMPTY
                },
            },
        ];
        let ranges = vec![
            [0, NO_RECORD],
            [0x0100_0000, 0],
            [0x0100_0180, 1],
            [0x0200_0000, NO_RECORD],
        ];
        Ipv4Table::from_parts(ranges, records, 0, Vec::new())
    }

    #[test]
    fn round_trip_keeps_every_range_and_place() {
        let t = table();
        let back = decode_table(&encode(&t, 42), 42).unwrap();
        assert_eq!(back.raw_ranges(), t.raw_ranges());
        assert_eq!(back.raw_index(), t.raw_index());
        assert_eq!(records(&back), records(&t));
        // Read again: the names now come from those made on the first read.
        assert_eq!(records(&back), records(&t));
        for ip in [
            0,
            0x0100_0000,
            0x0100_017f,
            0x0100_0180,
            0x01ff_ffff,
            0x0200_0000,
            u32::MAX,
        ] {
            assert_eq!(back.lookup(ip), t.lookup(ip), "{ip:#x}");
        }
        assert_eq!(t.lookup(0x0100_017f), 0);
        assert_eq!(t.lookup(0x0100_0180), 1);
    }

    #[test]
    fn records_sharing_a_city_keep_their_own_subdivisions() {
        // Details are filed under a record's last name (its city): records naming the same
        // city under other subdivisions, or none, must still get their own.
        let place = |code: Option<&str>, name: Option<&str>, city: Option<&str>, lat: f64| {
            Place {
                country: CountryCode::parse("US"),
                lat: Some(lat),
                lon: Some(lat),
                ..Place::EMPTY
            }
            .with_names(Subdivision::new(code, name), city.and_then(Name::new))
        };
        let places = [
            place(Some("NY"), Some("New York"), Some("Brooklyn"), 1.0),
            place(Some("NY"), Some("New York"), Some("Brooklyn"), 2.0),
            place(Some("MI"), Some("Michigan"), Some("Brooklyn"), 3.0),
            place(None, None, Some("Brooklyn"), 4.0),
            place(Some("MI"), None, None, 5.0),
            place(None, Some("Michigan"), None, 6.0),
            place(None, None, None, 7.0),
            place(Some("NY"), Some("New York"), Some("Brooklyn"), 8.0),
        ];
        let made: Vec<TableRecord> = (0u32..)
            .zip(places)
            .map(|(i, place)| TableRecord {
                offset: u64::from(i) * 10,
                sample: 0x0100_0000 + i * 256,
                place,
            })
            .collect();
        let mut ranges: Vec<[u32; 2]> = vec![[0, NO_RECORD]];
        ranges.extend((0..made.len() as u32).map(|i| [0x0100_0000 + i * 256, i]));
        ranges.push([0x0200_0000, NO_RECORD]);
        let t = Ipv4Table::from_parts(ranges, made, 0, Vec::new());
        let back = decode_table(&encode(&t, 7), 7).unwrap();
        for _ in 0..2 {
            assert_eq!(records(&back), records(&t));
        }
        let city_of = |id| back.place(id).city().map(Name::as_str);
        assert_eq!(city_of(2), Some("Brooklyn"));
        assert_eq!(
            back.place(2)
                .subdivision()
                .and_then(|s| s.name)
                .map(Name::as_str),
            Some("Michigan")
        );
        assert_eq!(back.place(3).subdivision(), None);
        assert_eq!(back.place(6).details, None);
    }

    #[test]
    fn wrong_key_damage_and_truncation_are_refused() {
        let bytes = encode(&table(), 42);
        assert_eq!(
            decode_table(&bytes, 43).err().unwrap(),
            "made from another database"
        );
        for cut in [0, 5, HEADER, PAGE, bytes.len() - 1] {
            assert!(check(&bytes[..cut], 42).is_err(), "cut at {cut}");
        }
        // A flipped byte after the key is caught (by the checksums or the checks): every
        // byte of the header and ranges, every third of the records and names, some of the
        // padding, entries spread over the index, and the checksums.
        let index_at = bytes.len() - ARRAYS_BYTES - 2 * TRAILER;
        let records_at = HEADER + 4 * RANGE;
        let names_end = records_at + 2 * RECORD + 60;
        let flips = (32..records_at)
            .chain((records_at..names_end).step_by(3))
            .chain((names_end..index_at).step_by(509))
            .chain((index_at..index_at + ARRAYS_BYTES).step_by(ARRAYS_BYTES / 7))
            .chain((bytes.len() - 16..bytes.len()).step_by(3));
        let mut bad = bytes.clone();
        for at in flips {
            bad[at] ^= 0x40;
            assert!(check(&bad, 42).is_err(), "flip at {at}");
            bad[at] ^= 0x40;
        }
        // The index of a small table is mostly holes on disk.
        assert_eq!(bytes.len(), index_at + ARRAYS_BYTES + 16);
    }

    #[test]
    fn structural_checks_hold_even_with_a_valid_checksum() {
        // A file with correct checksums but an id past the records (e.g. a bug in a
        // writer), in a range or in the index, must not reach the lookup path.
        let t = table();
        let bytes = encode(&t, 7);
        let index_at = bytes.len() - ARRAYS_BYTES - 2 * TRAILER;
        let resum = |mut bytes: Vec<u8>| {
            let (head, rest) = bytes.split_at(index_at);
            let sums = [
                twox_hash::XxHash3_64::oneshot(head),
                twox_hash::XxHash3_64::oneshot(&rest[..ARRAYS_BYTES]),
            ];
            let n = bytes.len();
            bytes[n - 16..n - 8].copy_from_slice(&sums[0].to_le_bytes());
            bytes[n - 8..].copy_from_slice(&sums[1].to_le_bytes());
            bytes
        };
        let mut bad = bytes.clone();
        let id_at = HEADER + RANGE + 4;
        bad[id_at..id_at + 4].copy_from_slice(&9u32.to_le_bytes());
        let why = check(&resum(bad), 7).err().unwrap();
        assert!(why.contains("names no record"), "{why}");
        for entry in [2u32, MIXED | 4] {
            let mut bad = bytes.clone();
            let at = index_at + 4 * 0x0100;
            bad[at..at + 4].copy_from_slice(&(!entry).to_le_bytes());
            let why = check(&resum(bad), 7).err().unwrap();
            assert!(why.contains("index entry 256"), "{why}");
        }
        let mut bad = bytes.clone();
        bad[index_at + INDEX_BYTES + 5] = 25;
        let why = check(&resum(bad), 7).err().unwrap();
        assert!(why.contains("/24 5 is not one"), "{why}");
        // And the same file, checksums made again, passes: the checks are what refused it.
        assert!(check(&resum(bytes), 7).is_ok());
    }

    #[test]
    fn blobs_round_trip_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        store_blob(dir.path(), "csv-db", 7, b"payload", KEEP_CSV).unwrap();
        assert_eq!(
            load_blob(dir.path(), "csv-db", 7).unwrap().unwrap(),
            b"payload"
        );
        assert!(
            load_blob(dir.path(), "csv-db", 8).is_none(),
            "another key misses"
        );
        let path = blob_path(dir.path(), "csv-db", 7);
        let mut bytes = std::fs::read(&path).unwrap();
        for (i, b) in [(BLOB_HEADER + 2, 1u8), (bytes.len() - 1, 1)] {
            let mut damaged = bytes.clone();
            damaged[i] ^= b;
            assert!(unseal(damaged, 7).is_err(), "byte {i}");
        }
        bytes.truncate(bytes.len() - 3);
        assert!(unseal(bytes.clone(), 7).is_err(), "truncated");
        assert!(unseal(Vec::new(), 7).is_err(), "empty");
        for k in 0..3u128 {
            store_blob(dir.path(), "csv-db", 100 + k, b"x", KEEP_CSV).unwrap();
        }
        let kept = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("csv-db-")
            })
            .count();
        assert_eq!(kept, KEEP_CSV);
    }

    #[test]
    fn store_then_load_and_prune() {
        let dir = tempfile::tempdir().unwrap();
        let t = table();
        for key in 0..6u128 {
            store(dir.path(), key, &t).unwrap();
        }
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(
            files, KEEP,
            "pruned to the newest {KEEP}, no temporary left"
        );
        let loaded = load(dir.path(), 5, 0).unwrap().unwrap();
        assert_eq!(records(&loaded), records(&t));
        assert_eq!(loaded.lookup(0x0100_0180), 1);
        assert!(load(dir.path(), 99, 0).is_none());
    }
}
