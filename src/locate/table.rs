//! The compiled IPv4 table: every IPv4 network of a database as a flat sorted array of range
//! starts with a record id each, behind a direct /24 index. Where one range covers a whole
//! /24 (most of them) the index holds the record id itself, so a lookup is one memory read;
//! otherwise it points into the ranges for a short forward walk.

use super::cache::MappedRecords;
use super::mapped::Words;
use super::{Atlas, Lookup, Place, PlaceDetail, RecordKey, record_key};
use crate::error::{Error, Result};
use maxminddb::WithinOptions;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};

/// The table's walk of the IPv4 space is split into this many subtrees (the /6s), walked in
/// parallel.
const WALK_PARTS: u32 = 64;

/// Databases smaller than this (bytes) are walked whole, on one thread.
pub(super) const SMALL_DB: u64 = 1 << 20;

/// A database network inside one part of the walk: first and last address, record offset,
/// and the network's prefix length (of the whole network, when the part cuts it). Sixteen
/// bytes: a walk of GeoLite2-City holds 2.8 million.
type Network = (u32, u32, u32, u8);

/// Prefix length of a walked network that lies above the IPv4 subtree (an IPv6 network
/// wider than `::/96`, which covers all of IPv4): rows name it in IPv6 form, which the table
/// does not keep.
const ABOVE_IPV4: u8 = u8::MAX;

/// Networks of at most this prefix length cover whole /24s: adjacent ones of one record
/// merge into one range, and the index says each /24's network.
const WIDE: u8 = 24;

/// Every network with a record within `net`, in order, with its record's offset, as the
/// database's walk gives them (a network wider than `net`, found above it in the tree, is
/// given whole). Returns false when `cancel` was raised first.
pub(super) fn walk_networks(
    db: &super::Database,
    net: ipnetwork::IpNetwork,
    cancel: &AtomicBool,
    mut found: impl FnMut(ipnetwork::IpNetwork, usize),
) -> Result<bool> {
    let walk = db
        .reader()
        .within(net, WithinOptions::default())
        .map_err(|e| Error::database(db.label(), e))?;
    for (n, item) in walk.enumerate() {
        if n % 4096 == 0 && cancel.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let result = item.map_err(|e| Error::database(db.label(), e))?;
        if let (Ok(network), Some(offset)) = (result.network(), result.offset()) {
            found(network, offset);
        }
    }
    Ok(true)
}

/// The networks with a record in part `part` of the IPv4 space split on its top `bits` bits
/// (0: all of it), in order, each cut to the part.
fn walk_part(
    db: &super::Database,
    bits: u32,
    part: u32,
    cancel: &AtomicBool,
) -> Result<Vec<Network>> {
    let first = u64::from(part) << (32 - bits);
    let end = first + (1u64 << (32 - bits));
    let net = ipnetwork::Ipv4Network::new(Ipv4Addr::from(first as u32), bits as u8)
        .map_err(|_| Error::Internal("bad part of the IPv4 space".into()))?;
    let mut out: Vec<Network> = Vec::new();
    let whole = walk_networks(db, net.into(), cancel, |network, offset| {
        let Some(net) = super::ipv4_part(network) else {
            return;
        };
        let start = u64::from(u32::from(net.network()));
        let stop = start + (1u64 << (32 - u32::from(net.prefix())));
        let (start, stop) = (start.max(first), stop.min(end));
        let prefix = match network {
            ipnetwork::IpNetwork::V6(n) if n.prefix() < 96 => ABOVE_IPV4,
            _ => net.prefix(),
        };
        if start < stop {
            // Always: a search-tree record, and so a record offset, is at most 32 bits.
            let Ok(offset) = u32::try_from(offset) else {
                return;
            };
            out.push((start as u32, (stop - 1) as u32, offset, prefix));
        }
    })?;
    Ok(if whole { out } else { Vec::new() })
}

/// Records decoded in one task of a table build.
const DECODE_BATCH: usize = 4096;

/// [`decode_records`] for one part of the keys, on this thread.
fn decode_part<S, T>(
    atlas: &Atlas,
    db_index: usize,
    part: &[(usize, S)],
    record: &impl Fn(u64, S, Place) -> T,
) -> Result<Vec<T>>
where
    S: Copy + Into<std::net::IpAddr>,
{
    part.iter()
        .map(|&(offset, sample)| {
            if let Some(place) = atlas.decode_directly(db_index, offset) {
                return Ok(record(offset as u64, sample, place));
            }
            let key = record_key(db_index, offset);
            match atlas.lookup(sample.into())? {
                Lookup::Found(found, result) if found == key => Ok(record(
                    offset as u64,
                    sample,
                    atlas.decode_once(key, &result)?,
                )),
                _ => Err(Error::database(
                    atlas.dbs[db_index].label(),
                    "a network's record is not where the search tree says",
                )),
            }
        })
        .collect()
}

/// Decodes every record of a table once, in parallel (`keys`: its offset and an address
/// inside it, from a walk of the tree): directly by offset, or through the tree from that
/// address when the record is the general decoder's, checking that the tree finds it
/// there. `Ok(None)` when `cancel` is raised first.
pub(super) fn decode_records<S, T>(
    atlas: &Atlas,
    db_index: usize,
    keys: &[(usize, S)],
    cancel: &AtomicBool,
    record: impl Fn(u64, S, Place) -> T + Sync,
) -> Result<Option<Vec<T>>>
where
    S: Copy + Into<std::net::IpAddr> + Sync,
    T: Send,
{
    let records: Vec<Vec<T>> = keys
        .par_chunks(DECODE_BATCH)
        .map(|part| {
            if cancel.load(Ordering::Relaxed) {
                return Ok(Vec::new());
            }
            decode_part(atlas, db_index, part, &record)
        })
        .collect::<Result<_>>()?;
    if cancel.load(Ordering::Relaxed) {
        return Ok(None);
    }
    Ok(Some(records.into_iter().flatten().collect()))
}

/// Entries in the /24 index.
pub(super) const INDEX_LEN: usize = 1 << 24;

/// A blank per-/24 network index (every prefix length 0: none known).
pub(super) fn blank_networks() -> Vec<u8> {
    vec![0u8; INDEX_LEN]
}

/// A /24 index with no record anywhere (see [`Ipv4Table::from_parts`]). Entries are stored
/// complemented, so "no record" is 0: a blank index is zeroed memory straight from the
/// kernel, and a cache file stores its empty stretches as holes.
pub(super) fn blank_index() -> Vec<u32> {
    vec![0u32; INDEX_LEN]
}

/// The /24 index over validated ranges (see [`Ipv4Table::from_parts`]), made in `index`
/// (from [`blank_index`]; made anew when it is not one).
pub(super) fn index_of(ranges: &[[u32; 2]], mut index: Vec<u32>) -> Vec<u32> {
    if index.len() != INDEX_LEN {
        index = blank_index();
    }
    // Whole /24s of a range take its record id (a bulk fill); a /24 where a range starts
    // part-way is mixed, pointing at the range that holds its first address.
    for (i, &[start, id]) in ranges.iter().enumerate() {
        let end = range_end(ranges, i);
        let first_full = u64::from(start).div_ceil(256) as usize;
        let end_full = (end / 256) as usize;
        if first_full < end_full {
            index[first_full..end_full].fill(!id);
        }
        if start % 256 != 0 {
            let block = (start >> 8) as usize;
            let entry = !index[block];
            if entry & MIXED == 0 || entry == NO_RECORD {
                index[block] = !(MIXED | (i - 1) as u32);
            }
        }
    }
    index
}

/// Record id meaning "no record" (a gap between networks).
pub const NO_RECORD: u32 = u32::MAX;

/// Index flag: the /24 holds several ranges; the low bits are a position in `ranges`.
pub(super) const MIXED: u32 = 1 << 31;

/// Where range `k` ends (exclusive): the next range's start, or 2^32 after the last.
fn range_end(ranges: &[[u32; 2]], k: usize) -> u64 {
    ranges.get(k + 1).map_or(1u64 << 32, |r| u64::from(r[0]))
}

/// A compiled IPv4 table (see the module documentation).
pub struct Ipv4Table {
    /// Per /24, complemented (`!entry`, so that "no record" is 0): the record id (or
    /// [`NO_RECORD`]) when one range covers it, else [`MIXED`] | the position of the range
    /// holding its first address.
    index: Words<u32>,
    /// `[range start, record id or NO_RECORD]`, ascending by start; the first start is 0.
    /// Start and id share a cache line, so the search's last probe brings the answer along.
    ranges: Words<[u32; 2]>,
    /// Per /24 covered by one network with a record: the network's prefix length (0 where
    /// the /24 is shared by several ranges, or has no record). With `ranges`, it gives the
    /// database network of an address (see [`Ipv4Table::lookup_network`]).
    networks: Words<u8>,
    /// Whether `networks` and the ranges give every address's database network as the tree
    /// names it (not so when an IPv6 network above the IPv4 subtree covers IPv4).
    exact_networks: bool,
    /// Per record id: where it is in the database, and what it says.
    records: Records,
    /// The database the records belong to (its index in the atlas).
    db_index: usize,
}

/// A table's index and ranges, borrowed once for many lookups (the arrays may lie in a
/// mapped file; the view finds them once).
#[derive(Clone, Copy)]
pub struct Ipv4View<'a> {
    index: &'a [u32],
    ranges: &'a [[u32; 2]],
    networks: &'a [u8],
}

impl Ipv4View<'_> {
    /// The record id of an IPv4 address (as a `u32`), or [`NO_RECORD`].
    #[inline]
    #[must_use]
    pub fn lookup(&self, ip: u32) -> u32 {
        self.resolve(self.entry(ip), ip)
    }

    /// First step of [`lookup`](Self::lookup), split out so a batch can issue all its
    /// index reads (cache misses) before depending on any: the /24 index entry.
    #[inline]
    #[must_use]
    pub fn entry(&self, ip: u32) -> u32 {
        self.index.get((ip >> 8) as usize).map_or(NO_RECORD, |e| !e)
    }

    /// Second step of [`lookup`](Self::lookup): the record id from the index entry.
    #[inline]
    #[must_use]
    pub fn resolve(&self, entry: u32, ip: u32) -> u32 {
        if entry & MIXED == 0 || entry == NO_RECORD {
            return entry;
        }
        // Several ranges in this /24 (usually two to four, in one or two cache lines): walk
        // forward from the one holding the /24's first address to the last starting at or
        // before the address. At most 256 steps, for a /24 cut into single addresses.
        self.ranges
            .get(self.range_of(entry, ip))
            .map_or(NO_RECORD, |r| r[1])
    }

    /// Second step of [`Ipv4Table::lookup_network`] (record id and network prefix length),
    /// split out so a batch can issue all its index reads first: from the address's /24
    /// index entry.
    #[must_use]
    pub fn network_of(&self, entry: u32, ip: u32) -> (u32, u8) {
        if entry & MIXED == 0 || entry == NO_RECORD {
            let prefix = self.networks.get((ip >> 8) as usize).copied().unwrap_or(0);
            return (entry, prefix);
        }
        // In a shared /24, a range with a record is one network: its size gives the prefix.
        let k = self.range_of(entry, ip);
        let Some(&[start, id]) = self.ranges.get(k) else {
            return (NO_RECORD, 0);
        };
        let size = range_end(self.ranges, k) - u64::from(start);
        (id, (32 - size.trailing_zeros().min(32)) as u8)
    }

    /// The position of the range holding `ip`, from its /24's mixed index entry.
    #[inline]
    fn range_of(&self, entry: u32, ip: u32) -> usize {
        let mut k = (entry & !MIXED) as usize;
        while let Some(next) = self.ranges.get(k + 1)
            && next[0] <= ip
        {
            k += 1;
        }
        k
    }
}

/// One record of the table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TableRecord {
    /// The record's offset in the database's data section.
    pub offset: u64,
    /// One address inside it.
    pub sample: u32,
    /// The place it describes, decoded once when the table was built.
    pub place: Place,
}

/// One record of the IPv6 table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TableRecord6 {
    /// The record's offset in the database's data section.
    pub offset: u64,
    /// One address inside it.
    pub sample: u128,
    /// The place it describes, decoded once when the table was built.
    pub place: Place,
}

impl Ipv4Table {
    /// Walks the IPv4 space of the atlas's IPv4 database and decodes every record in it.
    /// Returns `Ok(None)` when `cancel` is raised (the run ended first) or no database
    /// covers IPv4.
    pub fn build(atlas: &Atlas, cancel: &AtomicBool) -> Result<Option<Ipv4Table>> {
        let Some(db_index) = atlas.route_v4 else {
            return Ok(None);
        };
        let db = &atlas.dbs[db_index];
        // The walk is split into subtrees walked in parallel, while another thread makes the
        // blank /24 index (64 MiB of fresh memory: on some machines its page zeroing costs
        // as much as a third of the build).
        // A small database (under a megabyte) is walked whole, and its index made only once
        // the walk has succeeded.
        let walk = |bits: u32| -> Result<Vec<Vec<Network>>> {
            (0..1u32 << bits)
                .into_par_iter()
                .map(|part| walk_part(db, bits, part, cancel))
                .collect()
        };
        let (parts, index) = if db.size_bytes() < SMALL_DB {
            (walk(0), Vec::new())
        } else {
            rayon::join(|| walk(WALK_PARTS.trailing_zeros()), blank_index)
        };
        let mut nets = blank_networks();
        let mut exact_networks = true;
        let parts = parts?;
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let mut ranges: Vec<[u32; 2]> = Vec::with_capacity(1 << 20);
        let mut keys: Vec<(usize, Ipv4Addr)> = Vec::new();
        // The records are decoded a batch at a time on the other core while this one merges
        // the networks into ranges (and then fills the index).
        let decoded: std::sync::Mutex<Vec<(usize, Result<Vec<TableRecord>>)>> =
            std::sync::Mutex::default();
        let record = |offset, sample: Ipv4Addr, place| TableRecord {
            offset,
            sample: u32::from(sample),
            place,
        };
        let merged = rayon::scope(|scope| -> Result<Vec<u32>> {
            let decode = |from: usize, batch: Vec<(usize, Ipv4Addr)>| {
                let (decoded, record) = (&decoded, &record);
                scope.spawn(move |_| {
                    if cancel.load(Ordering::Relaxed) {
                        return;
                    }
                    let got = decode_part(atlas, db_index, &batch, record);
                    decoded
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((from, got));
                });
            };
            let mut ids: FxHashMap<usize, u32> = FxHashMap::default();
            let mut next: u64 = 0;
            // Whether the last range is made of wide networks only (so a wide one may join
            // it).
            let mut last_wide = false;
            for &(start, last, offset, prefix) in parts.iter().flatten() {
                let (end, offset) = (u64::from(last) + 1, offset as usize);
                if prefix == ABOVE_IPV4 {
                    exact_networks = false;
                }
                let prefix = if prefix == ABOVE_IPV4 { 0 } else { prefix };
                if u64::from(start) < next {
                    return Err(Error::database(
                        db.label(),
                        "IPv4 networks overlap or are out of order",
                    ));
                }
                if u64::from(start) > next || ranges.is_empty() {
                    ranges.push([next as u32, NO_RECORD]);
                }
                let id = *ids.entry(offset).or_insert_with(|| {
                    keys.push((offset, Ipv4Addr::from(start)));
                    if keys.len().is_multiple_of(DECODE_BATCH) {
                        let from = keys.len() - DECODE_BATCH;
                        decode(from, keys[from..].to_vec());
                    }
                    (keys.len() - 1) as u32
                });
                // Adjacent wide networks of one record merge into one range; a narrower
                // network is a range of its own, so in a /24 shared by several ranges each
                // range with a record is one network.
                let wide = prefix <= WIDE;
                match ranges.last_mut() {
                    Some(last) if last[0] == start => last[1] = id,
                    Some(last) if last[1] == id && wide && last_wide => {}
                    _ => ranges.push([start, id]),
                }
                last_wide = wide;
                if wide {
                    nets[(start >> 8) as usize..(end >> 8) as usize].fill(prefix);
                }
                next = end;
            }
            let from = keys.len() - keys.len() % DECODE_BATCH;
            decode(from, keys[from..].to_vec());
            if ranges.is_empty() {
                ranges.push([0, NO_RECORD]);
            }
            if next < (1u64 << 32) && next > 0 {
                ranges.push([next as u32, NO_RECORD]);
            }
            if keys.len() >= MIXED as usize || ranges.len() >= MIXED as usize {
                return Err(Error::database(
                    db.label(),
                    "too many networks for the compiled table",
                ));
            }
            Ok(index_of(&ranges, index))
        });
        let index = merged?;
        let mut decoded = decoded
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        decoded.sort_unstable_by_key(|(from, _)| *from);
        let mut records = Vec::with_capacity(keys.len());
        for (_, batch) in decoded {
            records.extend(batch?);
        }
        if records.len() != keys.len() {
            return Err(Error::Internal("a batch of records was not decoded".into()));
        }
        let mut table = Ipv4Table::from_parts(ranges, records, db_index, index);
        table.networks = nets.into();
        table.exact_networks = exact_networks;
        Ok(Some(table))
    }

    /// Assembles a table from validated ranges (ascending, first start 0, ids below
    /// `records.len()` or [`NO_RECORD`]) and their /24 index (from [`index_of`]; any other
    /// `index`, such as an empty one, is made here).
    pub(crate) fn from_parts(
        ranges: Vec<[u32; 2]>,
        records: Vec<TableRecord>,
        db_index: usize,
        index: Vec<u32>,
    ) -> Self {
        let index = if index.len() == INDEX_LEN {
            index
        } else {
            index_of(&ranges, blank_index())
        };
        Ipv4Table {
            index: index.into(),
            ranges: ranges.into(),
            networks: Vec::new().into(),
            exact_networks: false,
            records: Records::Decoded(records),
            db_index,
        }
    }

    /// A table read in place from a cache file: its index and ranges as they lie in the
    /// file, checked by the caller as [`from_parts`](Self::from_parts) would make them.
    pub(super) fn from_mapped(
        index: Words<u32>,
        ranges: Words<[u32; 2]>,
        networks: (Words<u8>, bool),
        records: MappedRecords,
        db_index: usize,
    ) -> Self {
        Ipv4Table {
            index,
            ranges,
            networks: networks.0,
            exact_networks: networks.1,
            records: Records::Mapped(records),
            db_index,
        }
    }

    /// Whether [`lookup_network`](Self::lookup_network) names every address's database
    /// network as the tree does.
    #[must_use]
    pub fn exact_networks(&self) -> bool {
        self.exact_networks
    }

    /// The record id of an IPv4 address (or [`NO_RECORD`]) and the prefix length of the
    /// database network holding it (meaningless without a record, or without
    /// [`exact_networks`](Self::exact_networks)).
    #[must_use]
    pub fn lookup_network(&self, ip: u32) -> (u32, u8) {
        let view = self.view();
        view.network_of(view.entry(ip), ip)
    }

    /// The table's arrays for a run of lookups (see [`Ipv4View`]).
    #[inline]
    #[must_use]
    pub fn view(&self) -> Ipv4View<'_> {
        Ipv4View {
            index: &self.index,
            ranges: &self.ranges,
            networks: &self.networks,
        }
    }

    /// The record id of an IPv4 address (as a `u32`), or [`NO_RECORD`].
    #[inline]
    #[must_use]
    pub fn lookup(&self, ip: u32) -> u32 {
        self.view().lookup(ip)
    }

    /// Number of distinct records.
    #[must_use]
    pub fn record_count(&self) -> usize {
        match &self.records {
            Records::Decoded(r) => r.len(),
            Records::Mapped(r) => r.len(),
        }
    }

    /// Number of ranges (networks merged where adjacent and alike, plus gaps).
    #[must_use]
    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// Every range as `(start, size in addresses, record id or NO_RECORD)`.
    pub fn ranges(&self) -> impl Iterator<Item = (u32, u64, u32)> + '_ {
        let ranges = &*self.ranges;
        ranges
            .iter()
            .enumerate()
            .map(|(i, &[start, id])| (start, range_end(ranges, i) - u64::from(start), id))
    }

    /// A record's key (database and data offset) and an address inside it.
    #[must_use]
    pub fn record(&self, id: u32) -> (RecordKey, Ipv4Addr) {
        let r = self.table_record(id);
        (
            record_key(self.db_index, r.offset as usize),
            Ipv4Addr::from(r.sample),
        )
    }

    /// The ranges as stored: `[start, record id or NO_RECORD]`, ascending.
    #[must_use]
    pub fn raw_ranges(&self) -> &[[u32; 2]] {
        &self.ranges
    }

    /// The /24 index as stored (complemented entries).
    #[must_use]
    pub(super) fn raw_index(&self) -> &[u32] {
        &self.index
    }

    /// The per-/24 network prefix lengths as stored (empty for a table made from parts).
    #[must_use]
    pub(super) fn raw_networks(&self) -> &[u8] {
        &self.networks
    }

    /// Record `id`: where it is in the database, an address inside, and its place (read
    /// from the cache file when the table was loaded from one). An id past the last record
    /// (never given by a lookup) has no place.
    #[must_use]
    pub fn table_record(&self, id: u32) -> TableRecord {
        let record = match &self.records {
            Records::Decoded(r) => r.get(id as usize).copied(),
            Records::Mapped(r) => r.get(id),
        };
        record.unwrap_or(TableRecord {
            offset: 0,
            sample: 0,
            place: Place::EMPTY,
        })
    }

    /// The place a record describes.
    #[must_use]
    pub fn place(&self, id: u32) -> Place {
        self.table_record(id).place
    }

    /// What a tally of `detail` keeps of the place a record describes
    /// ([`PlaceDetail::keep`]); read without naming a city or subdivision when it keeps
    /// none.
    #[must_use]
    pub fn kept_place(&self, id: u32, detail: PlaceDetail) -> Place {
        match (&self.records, detail) {
            (Records::Mapped(r), PlaceDetail::Coarse) => r.coarse_place(id).unwrap_or(Place::EMPTY),
            _ => detail.keep(self.place(id)),
        }
    }
}

/// A table's records: decoded when it was built, or read in place from its cache file.
enum Records {
    Decoded(Vec<TableRecord>),
    Mapped(MappedRecords),
}

/// Ranges and records a loaded table is checked on (see [`Ipv4Table::spot_check`]).
const SPOT_CHECKS: usize = 2048;

impl Ipv4Table {
    /// Checks a table read from outside (the cache) against the database's search tree: the
    /// first and last address of up to `SPOT_CHECKS` (2,048) ranges spread over the table, and one
    /// address of as many records, must get the same answer (no record, or the same place).
    pub fn spot_check(&self, atlas: &Atlas) -> std::result::Result<(), String> {
        let db = atlas
            .dbs
            .get(self.db_index)
            .ok_or_else(|| "it names another database".to_owned())?;
        let agrees = |ip: u32, id: u32| -> std::result::Result<(), String> {
            let disagree = || {
                format!(
                    "it does not agree with the database at {}",
                    Ipv4Addr::from(ip)
                )
            };
            let tree = atlas
                .lookup(std::net::IpAddr::V4(ip.into()))
                .map_err(|e| e.to_string())?;
            match (tree, id) {
                (Lookup::NotFound(_), NO_RECORD) => Ok(()),
                (Lookup::Found(_, found), id) if id != NO_RECORD => {
                    if id as usize >= self.record_count() {
                        return Err(disagree());
                    }
                    let record = self.table_record(id);
                    let place = db
                        .decode_place(&found, atlas.fallback)
                        .map_err(|e| e.to_string())?;
                    if place == record.place {
                        Ok(())
                    } else {
                        Err(disagree())
                    }
                }
                _ => Err(disagree()),
            }
        };
        let n = self.ranges.len();
        if n == 0 {
            return Err("it has no ranges".into());
        }
        let stride = n.div_ceil(SPOT_CHECKS).max(1);
        let mut probes: Vec<(u32, u32)> = Vec::with_capacity(3 * SPOT_CHECKS + 2);
        for i in (0..n).step_by(stride).chain(std::iter::once(n - 1)) {
            let [start, id] = self.ranges[i];
            let last = self
                .ranges
                .get(i + 1)
                .map_or(u32::MAX, |r| r[0].wrapping_sub(1));
            probes.extend([(start, id), (last, id)]);
        }
        let m = self.record_count();
        let stride = m.div_ceil(SPOT_CHECKS).max(1);
        for id in (0..m).step_by(stride) {
            probes.push((self.table_record(id as u32).sample, id as u32));
        }
        // On all cores; the first disagreement in probe order is the one reported.
        probes
            .par_iter()
            .with_min_len(64)
            .map(|&(ip, id)| agrees(ip, id))
            .find_first(Result::is_err)
            .unwrap_or(Ok(()))
    }
}
