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
//! Layout (little-endian): magic `IPATLAST`, format version (u32), reserved (u32), key
//! (u128), range count (u64), record count (u64); ranges as `(start u32, id u32)`; records
//! as `offset u64, sample u32, flags u8, country [u8; 2], reserved u8, accuracy radius u32,
//! latitude f64, longitude f64`; then XXH3-64 of everything before it.

use super::names::Name;
use super::place::{CountryCode, CountrySource, Place, Subdivision};
use super::table::{Ipv4Table, NO_RECORD, TableRecord};
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"IPATLAST";
/// 2: pseudo-country codes (ZZ, EU, A1, ...) decode as no country.
/// 3: and the pseudo-code is kept (flag `PSEUDO_COUNTRY`, in the country bytes).
/// 4: places keep their subdivision and city: three name numbers per record (0 for none,
///    else 1 + the index in the names that follow the records).
const VERSION: u32 = 4;
const HEADER: usize = 8 + 4 + 4 + 16 + 8 + 8;
const RANGE: usize = 8;
pub(super) const RECORD: usize = 8 + 4 + 1 + 2 + 1 + 4 + 8 + 8 + 3 * 4;
const TRAILER: usize = 8;
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
    let path = table_path(dir, key);
    std::fs::symlink_metadata(&path).ok()?;
    if let Err(why) = trustworthy(&path) {
        return Some(Err(Refused::Unsafe(why)));
    }
    // The blank /24 index is made on another thread while the file is read and checked
    // (its fresh memory's page zeroing is as slow as the reading on some machines).
    let (index, read) = rayon::join(super::table::blank_index, || {
        crate::util::read_file(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| decode(&bytes, key))
    });
    Some(
        read.map(|(ranges, records)| Ipv4Table::from_parts(ranges, records, db_index, index))
            .map_err(Refused::Unsound),
    )
}

/// Writes a table into the cache (atomically; the directory is created 0700 and the file
/// 0600), then trims the cache to its newest files.
pub fn store(dir: &Path, key: u128, table: &Ipv4Table) -> std::io::Result<()> {
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".ipv4-table-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    crate::util::register_temporary(tmp.path().to_path_buf());
    tmp.write_all(&encode(table, key))?;
    tmp.as_file().sync_data()?;
    let path = table_path(dir, key);
    tmp.persist(&path).map_err(|e| e.error)?;
    prune(dir, &path);
    Ok(())
}

/// Removes all but the [`KEEP`] most recently written table files, never the one just
/// written (best effort: another run may be removing or reading the same files).
fn prune(dir: &Path, keep: &Path) {
    prune_kind(dir, "ipv4-table-", keep, KEEP);
}

/// Removes all but the `count` most recently written `{prefix}*.bin` files, never `keep`.
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
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{kind}-"))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    crate::util::register_temporary(tmp.path().to_path_buf());
    let mut head = Vec::with_capacity(BLOB_HEADER);
    head.extend_from_slice(BLOB_MAGIC);
    head.extend_from_slice(&BLOB_VERSION.to_le_bytes());
    head.extend_from_slice(&0u32.to_le_bytes());
    head.extend_from_slice(&key.to_le_bytes());
    head.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    let mut hasher = twox_hash::XxHash3_64::new();
    std::hash::Hasher::write(&mut hasher, &head);
    std::hash::Hasher::write(&mut hasher, payload);
    tmp.write_all(&head)?;
    tmp.write_all(payload)?;
    tmp.write_all(&std::hash::Hasher::finish(&hasher).to_le_bytes())?;
    tmp.as_file().sync_data()?;
    let path = blob_path(dir, kind, key);
    tmp.persist(&path).map_err(|e| e.error)?;
    prune_kind(dir, &format!("{kind}-"), &path, keep);
    Ok(())
}

fn encode(table: &Ipv4Table, key: u128) -> Vec<u8> {
    let ranges = table.raw_ranges();
    let records = table.records();
    let mut out =
        Vec::with_capacity(HEADER + ranges.len() * RANGE + records.len() * RECORD + TRAILER);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&key.to_le_bytes());
    out.extend_from_slice(&(ranges.len() as u64).to_le_bytes());
    out.extend_from_slice(&(records.len() as u64).to_le_bytes());
    for &(start, id) in ranges {
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&id.to_le_bytes());
    }
    encode_records(
        &mut out,
        records.iter().map(|r| (r.offset, r.sample, &r.place)),
    );
    let sum = twox_hash::XxHash3_64::oneshot(&out);
    out.extend_from_slice(&sum.to_le_bytes());
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
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn f64(&mut self) -> f64 {
        f64::from_le_bytes(self.take())
    }
}

/// The ranges and records of a table file, checked.
type Parts = (Vec<(u32, u32)>, Vec<TableRecord>);

fn decode(bytes: &[u8], key: u128) -> Result<Parts, String> {
    if bytes.len() < HEADER + TRAILER {
        return Err("shorter than its header".into());
    }
    let (body, trailer) = bytes.split_at(bytes.len() - TRAILER);
    let mut f = Fields(body);
    if &f.take::<8>() != MAGIC {
        return Err("not an ipatlas table file".into());
    }
    if f.u32() != VERSION {
        return Err(STALE.into());
    }
    f.u32();
    if u128::from_le_bytes(f.take()) != key {
        return Err("made from another database".into());
    }
    let n_ranges = f.u64();
    let n_records = f.u64();
    let fixed = n_ranges
        .checked_mul(RANGE as u64)
        .and_then(|r| n_records.checked_mul(RECORD as u64)?.checked_add(r))
        .and_then(|n| n.checked_add(HEADER as u64 + 8));
    if fixed.is_none_or(|n| n > body.len() as u64) {
        return Err("its size does not match its counts".into());
    }
    let mut sum = [0u8; 8];
    sum.copy_from_slice(trailer);
    if twox_hash::XxHash3_64::oneshot(body) != u64::from_le_bytes(sum) {
        return Err("checksum mismatch".into());
    }
    if n_ranges == 0 || n_records >= u64::from(NO_RECORD >> 1) {
        return Err("implausible counts".into());
    }
    let (range_bytes, rest) = body[HEADER..].split_at(n_ranges as usize * RANGE);
    let (record_bytes, name_bytes) = rest.split_at(n_records as usize * RECORD);
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut ranges = crate::util::vec_for_huge_pages(n_ranges as usize);
    let mut prev: Option<u32> = None;
    for (i, r) in range_bytes.chunks_exact(RANGE).enumerate() {
        let (start, id) = (le32(&r[..4]), le32(&r[4..]));
        let ascending = prev.map_or(start == 0, |p| start > p);
        if !ascending || (id != NO_RECORD && u64::from(id) >= n_records) {
            return Err(format!("range {i} is out of order or names no record"));
        }
        prev = Some(start);
        ranges.push((start, id));
    }
    let records = decode_records(record_bytes, name_bytes)?
        .into_iter()
        .map(|(offset, sample, place)| TableRecord {
            offset,
            sample,
            place,
        })
        .collect();
    Ok((ranges, records))
}

/// Reads records written by [`encode_records`]: `record_bytes` holds whole records, and
/// `name_bytes` the names after them, to the end of the body.
pub(super) fn decode_records(
    record_bytes: &[u8],
    name_bytes: &[u8],
) -> Result<Vec<(u64, u32, Place)>, String> {
    let names = decode_names(name_bytes)?;
    let name_at = |n: u32, i: usize| -> Result<Option<Name>, String> {
        match n {
            0 => Ok(None),
            n => names
                .get(n as usize - 1)
                .copied()
                .map(Some)
                .ok_or_else(|| format!("record {i}: no name {n}")),
        }
    };
    let mut records = Vec::with_capacity(record_bytes.len() / RECORD);
    for (i, r) in record_bytes.chunks_exact(RECORD).enumerate() {
        let mut f = Fields(r);
        let offset = f.u64();
        let sample = f.u32();
        let flags = f.u8();
        let country = f.take::<2>();
        f.u8();
        let radius = f.u32();
        let (lat, lon) = (f.f64(), f.f64());
        let numbers = [f.u32(), f.u32(), f.u32()];
        let mut place = Place::EMPTY;
        let (code, name) = (name_at(numbers[0], i)?, name_at(numbers[1], i)?);
        let subdivision = (code.is_some() || name.is_some()).then_some(Subdivision { code, name });
        place = place.with_names(subdivision, name_at(numbers[2], i)?);
        let code = || {
            std::str::from_utf8(&country)
                .ok()
                .and_then(CountryCode::parse)
                .filter(|c| c.as_str().as_bytes() == country)
                .ok_or_else(|| format!("record {i}: bad country"))
        };
        if flags & HAS_COUNTRY != 0 {
            place.country = Some(code()?);
            if flags & REGISTERED != 0 {
                place.country_source = CountrySource::Registered;
            }
        } else if flags & PSEUDO_COUNTRY != 0 {
            place.pseudo_country = Some(code()?).filter(CountryCode::is_pseudo);
        }
        if flags & HAS_COORDS != 0 {
            if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
                return Err(format!("record {i}: bad coordinates"));
            }
            place.lat = Some(lat);
            place.lon = Some(lon);
        }
        if flags & HAS_RADIUS != 0 {
            place.accuracy_radius = Some(radius);
        }
        records.push((offset, sample, place));
    }
    Ok(records)
}

/// The names after the records: a count, then each as a length and UTF-8 text, to the
/// end of the body.
fn decode_names(bytes: &[u8]) -> Result<Vec<Name>, String> {
    let mut f = Fields(bytes);
    let count = f.u64();
    let mut names = Vec::with_capacity((count as usize).min(bytes.len() / 5));
    for i in 0..count {
        let len = f.u32() as usize;
        if len > f.0.len() {
            return Err(format!("name {i} is cut short"));
        }
        let (text, rest) = f.0.split_at(len);
        f.0 = rest;
        // The text as written: UTF-8, and not cut by `Name::new`.
        let name = std::str::from_utf8(text)
            .ok()
            .and_then(|t| Name::new(t).filter(|n| n.as_str() == t))
            .ok_or_else(|| format!("name {i} is not a name"))?;
        names.push(name);
    }
    if !f.0.is_empty() {
        return Err("bytes after the names".into());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_table(bytes: &[u8], key: u128) -> Result<Ipv4Table, String> {
        decode(bytes, key)
            .map(|(ranges, records)| Ipv4Table::from_parts(ranges, records, 0, Vec::new()))
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
            (0, NO_RECORD),
            (0x0100_0000, 0),
            (0x0100_0180, 1),
            (0x0200_0000, NO_RECORD),
        ];
        Ipv4Table::from_parts(ranges, records, 0, Vec::new())
    }

    #[test]
    fn round_trip_keeps_every_range_and_place() {
        let t = table();
        let back = decode_table(&encode(&t, 42), 42).unwrap();
        assert_eq!(back.raw_ranges(), t.raw_ranges());
        assert_eq!(back.records(), t.records());
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
    fn wrong_key_damage_and_truncation_are_refused() {
        let bytes = encode(&table(), 42);
        assert_eq!(
            decode_table(&bytes, 43).err().unwrap(),
            "made from another database"
        );
        for cut in [0, 5, HEADER, bytes.len() - 1] {
            assert!(decode_table(&bytes[..cut], 42).is_err(), "cut at {cut}");
        }
        // Every single flipped byte after the key is caught (by the checksum or the checks).
        for at in 32..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            assert!(decode_table(&bad, 42).is_err(), "flip at {at}");
        }
    }

    #[test]
    fn structural_checks_hold_even_with_a_valid_checksum() {
        // A file with a correct checksum but an id past the records (e.g. a bug in a
        // writer) must not reach the lookup path.
        let t = table();
        let mut bytes = encode(&t, 7);
        bytes.truncate(bytes.len() - TRAILER);
        let id_at = HEADER + RANGE + 4;
        bytes[id_at..id_at + 4].copy_from_slice(&9u32.to_le_bytes());
        let sum = twox_hash::XxHash3_64::oneshot(&bytes);
        bytes.extend_from_slice(&sum.to_le_bytes());
        assert!(
            decode_table(&bytes, 7)
                .err()
                .unwrap()
                .contains("names no record")
        );
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
        assert_eq!(loaded.records(), t.records());
        assert!(load(dir.path(), 99, 0).is_none());
    }
}
