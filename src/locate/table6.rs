//! The compiled IPv6 table: every IPv6 network of a database as a sorted array of range
//! starts with a record id each, behind a direct index on the top 20 bits; a lookup is a
//! binary search among the ranges of its block. Space the table does not cover (gaps, the
//! IPv4 subtree at `::/96` and the aliases of it, which the walk does not list) says
//! [`NO_RECORD`]: the caller asks the search tree there, so every answer is the tree's.

use super::cache::MappedRecords;
use super::mapped::Words;
use super::table::{NO_RECORD, SMALL_DB, TableRecord6, walk_networks};
use super::{Atlas, Lookup, record_key};
use crate::error::{Error, Result};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::net::Ipv6Addr;
use std::sync::atomic::{AtomicBool, Ordering};

/// Bits of an address the index is on.
const INDEX_BITS: u32 = 20;

/// Addresses whose searches [`Ipv6Table::lookup_batch`] runs in lockstep.
const LOCKSTEP: usize = 64;

/// A large database's walk is split into the /8s, walked in parallel.
const WALK_BITS: u32 = 8;

/// A compiled IPv6 table (see the module documentation).
pub struct Ipv6Table {
    /// Per block of the top [`INDEX_BITS`] bits (and one past the last): the position of
    /// the range holding the block's first address.
    index: Words<u32>,
    /// Range starts, ascending; the first is 0.
    starts: Words<u128>,
    /// Per range: its record id, or [`NO_RECORD`] (ask the tree).
    ids: Words<u32>,
    /// Per record id: where it is in the database, and what it says.
    records: Records6,
    db_index: usize,
}

/// An IPv6 table's records: decoded when it was built, or read in place from its cache
/// file (with an address inside each, found in the ranges when the file was loaded).
enum Records6 {
    Decoded(Vec<TableRecord6>),
    Mapped {
        records: MappedRecords,
        samples: Vec<u128>,
    },
}

/// A database network inside one part of the walk: start, end (exclusive; 2^128 as
/// `None`), record offset.
type Network = (u128, Option<u128>, usize);

/// The networks with a record in part `part` of the IPv6 space split on its top `bits` bits
/// (0: the whole space), in order, each cut to the part; the IPv4 subtree (`::/96`) is left
/// to the tree.
fn walk_part(
    db: &super::Database,
    bits: u32,
    part: u32,
    cancel: &AtomicBool,
) -> Result<Vec<Network>> {
    let first = u128::from(part).checked_shl(128 - bits).unwrap_or(0);
    let end = first
        .checked_add(1u128.checked_shl(128 - bits).unwrap_or(0))
        .filter(|_| bits > 0);
    let net = ipnetwork::Ipv6Network::new(Ipv6Addr::from(first), bits as u8)
        .map_err(|_| Error::Internal("bad part of the IPv6 space".into()))?;
    let mut out: Vec<Network> = Vec::new();
    let whole = walk_networks(db, net.into(), cancel, |network, offset| {
        let ipnetwork::IpNetwork::V6(net) = network else {
            return;
        };
        let start = u128::from(net.network());
        let size_bits = 128 - u32::from(net.prefix());
        let stop = if size_bits == 128 {
            None
        } else {
            start.checked_add(1u128 << size_bits)
        };
        let stop = match (stop, end) {
            (Some(s), Some(e)) => Some(s.min(e)),
            (s, None) => s,
            (None, e) => e,
        };
        // Below 2^32 lies the IPv4 subtree (`::/96`): left to the tree.
        let start = start.max(first).max(1u128 << 32);
        if stop.is_some_and(|s| s <= start) {
            return;
        }
        match out.last_mut() {
            Some(last) if last.1 == Some(start) && last.2 == offset => last.1 = stop,
            _ => out.push((start, stop, offset)),
        }
    })?;
    Ok(if whole { out } else { Vec::new() })
}

impl Ipv6Table {
    /// Walks the IPv6 space of the atlas's IPv6 database and decodes every record in it.
    /// `Ok(None)` when `cancel` is raised or no database covers IPv6.
    pub fn build(atlas: &Atlas, cancel: &AtomicBool) -> Result<Option<Ipv6Table>> {
        let Some(db_index) = atlas.route_v6 else {
            return Ok(None);
        };
        let db = &atlas.dbs[db_index];
        // A small database is walked whole: the split costs more than it saves.
        let bits = if db.size_bytes() < SMALL_DB {
            0
        } else {
            WALK_BITS
        };
        let parts: Vec<Vec<Network>> = (0..1u32 << bits)
            .into_par_iter()
            .map(|part| walk_part(db, bits, part, cancel))
            .collect::<Result<_>>()?;
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let mut starts: Vec<u128> = Vec::new();
        let mut ids: Vec<u32> = Vec::new();
        let mut by_offset: FxHashMap<usize, u32> = FxHashMap::default();
        let mut keys: Vec<(usize, Ipv6Addr)> = Vec::new();
        // Where the last range ended (`None`: the end of the space).
        let mut next: Option<u128> = Some(0);
        for &(start, stop, offset) in parts.iter().flatten() {
            // After a network that reached the end of the space, nothing may follow.
            let Some(at) = next.filter(|&at| start >= at) else {
                return Err(Error::database(
                    db.label(),
                    "IPv6 networks overlap or are out of order",
                ));
            };
            if start > at || starts.is_empty() {
                starts.push(at);
                ids.push(NO_RECORD);
            }
            let id = *by_offset.entry(offset).or_insert_with(|| {
                keys.push((offset, Ipv6Addr::from(start)));
                (keys.len() - 1) as u32
            });
            match (starts.last(), ids.last_mut()) {
                (Some(&s), Some(last)) if s == start => *last = id,
                (_, Some(last)) if *last == id => {}
                _ => {
                    starts.push(start);
                    ids.push(id);
                }
            }
            next = stop;
        }
        if starts.is_empty() {
            starts.push(0);
            ids.push(NO_RECORD);
        }
        if let Some(at) = next
            && at > 0
        {
            starts.push(at);
            ids.push(NO_RECORD);
        }
        if keys.len() >= NO_RECORD as usize || starts.len() >= NO_RECORD as usize {
            return Err(Error::database(
                db.label(),
                "too many networks for the compiled table",
            ));
        }
        let Some(records) = super::table::decode_records(
            atlas,
            db_index,
            &keys,
            cancel,
            |offset, sample, place| TableRecord6 {
                offset,
                sample: u128::from(sample),
                place,
            },
        )?
        else {
            return Ok(None);
        };
        Ok(Some(Ipv6Table::from_parts(starts, ids, records, db_index)))
    }

    /// Assembles a table from ranges (starts ascending from 0, ids below `records.len()`
    /// or [`NO_RECORD`]) by building the block index over them.
    fn from_parts(
        starts: Vec<u128>,
        ids: Vec<u32>,
        records: Vec<TableRecord6>,
        db_index: usize,
    ) -> Self {
        let blocks = 1usize << INDEX_BITS;
        let mut index = Vec::with_capacity(blocks + 1);
        let mut k = 0usize;
        for b in 0..blocks {
            let first = (b as u128) << (128 - INDEX_BITS);
            while starts.get(k + 1).is_some_and(|&s| s <= first) {
                k += 1;
            }
            index.push(k as u32);
        }
        index.push((starts.len() - 1) as u32);
        Ipv6Table {
            index: index.into(),
            starts: starts.into(),
            ids: ids.into(),
            records: Records6::Decoded(records),
            db_index,
        }
    }

    /// Entries in the block index.
    pub(super) const INDEX_LEN: usize = (1 << INDEX_BITS) + 1;

    /// A table read in place from a cache file, checked: starts ascending from 0, every id
    /// a record or none, every block's entry the range holding its first address, and
    /// every record in a range.
    pub(super) fn from_mapped(
        index: Words<u32>,
        starts: Words<u128>,
        ids: Words<u32>,
        records: MappedRecords,
        db_index: usize,
    ) -> std::result::Result<Self, String> {
        let n = starts.len();
        if starts.first() != Some(&0) || ids.len() != n || index.len() != Self::INDEX_LEN {
            return Err("its arrays do not match".into());
        }
        if let Some(i) = starts.windows(2).position(|w| w[0] >= w[1]) {
            return Err(format!("range {} is out of order", i + 1));
        }
        let mut samples: Vec<Option<u128>> = vec![None; records.len()];
        for (i, (&start, &id)) in starts.iter().zip(ids.iter()).enumerate() {
            if id == NO_RECORD {
                continue;
            }
            match samples.get_mut(id as usize) {
                Some(s) => {
                    s.get_or_insert(start);
                }
                None => return Err(format!("range {i} names no record")),
            }
        }
        let holds = |k: usize, ip: u128| {
            starts.get(k).is_some_and(|&s| s <= ip) && starts.get(k + 1).is_none_or(|&s| s > ip)
        };
        for (b, &k) in index.iter().enumerate() {
            let first = (b as u128)
                .checked_shl(128 - INDEX_BITS)
                .unwrap_or(u128::MAX);
            let right = if b + 1 == Self::INDEX_LEN {
                k as usize == n - 1
            } else {
                holds(k as usize, first)
            };
            if !right {
                return Err(format!("index entry {b} is wrong"));
            }
        }
        let samples = samples
            .into_iter()
            .enumerate()
            .map(|(i, s)| s.ok_or_else(|| format!("record {i} is in no range")))
            .collect::<std::result::Result<Vec<_>, String>>()?;
        Ok(Ipv6Table {
            index,
            starts,
            ids,
            records: Records6::Mapped { records, samples },
            db_index,
        })
    }

    /// The range starts, their record ids and the block index, as stored.
    pub(super) fn raw_parts(&self) -> (&[u128], &[u32], &[u32]) {
        (&self.starts, &self.ids, &self.index)
    }

    /// Record `id`: where it is in the database, an address inside, and its place. An id
    /// past the last record (never given by a lookup) has no place.
    #[must_use]
    pub fn table_record(&self, id: u32) -> TableRecord6 {
        let record = match &self.records {
            Records6::Decoded(r) => r.get(id as usize).copied(),
            Records6::Mapped { records, samples } => records.get(id).and_then(|r| {
                Some(TableRecord6 {
                    offset: r.offset,
                    sample: *samples.get(id as usize)?,
                    place: r.place,
                })
            }),
        };
        record.unwrap_or(TableRecord6 {
            offset: 0,
            sample: 0,
            place: super::Place::EMPTY,
        })
    }

    /// The record id of an IPv6 address, or [`NO_RECORD`] where the table leaves the
    /// answer to the search tree.
    #[inline]
    #[must_use]
    pub fn lookup(&self, ip: u128) -> u32 {
        let (index, starts, ids) = (&*self.index, &*self.starts, &*self.ids);
        let b = (ip >> (128 - INDEX_BITS)) as usize;
        let (Some(&lo), Some(&hi)) = (index.get(b), index.get(b + 1)) else {
            return NO_RECORD;
        };
        let (lo, hi) = (lo as usize, hi as usize);
        // The last range of the block starting at or before the address: the block's first
        // range holds the block's first address, so there is one.
        let Some(within) = starts.get(lo..=hi) else {
            return NO_RECORD;
        };
        let k = lo + within.partition_point(|&s| s <= ip).saturating_sub(1);
        ids.get(k).copied().unwrap_or(NO_RECORD)
    }

    /// The record ids of many IPv6 addresses at once (as [`Ipv6Table::lookup`] gives
    /// them, into `out`, which is at least as long as `ips`): all block index reads first,
    /// then the binary searches in lockstep, one step of every search per round, so that
    /// the cache misses of different addresses overlap instead of queueing.
    pub fn lookup_batch(&self, ips: &[u128], out: &mut [u32]) {
        let (index, starts, ids) = (&*self.index, &*self.starts, &*self.ids);
        for (ips, out) in ips.chunks(LOCKSTEP).zip(out.chunks_mut(LOCKSTEP)) {
            lookup_lockstep(index, starts, ids, ips, out);
        }
    }

    /// Number of distinct records.
    #[must_use]
    pub fn record_count(&self) -> usize {
        match &self.records {
            Records6::Decoded(r) => r.len(),
            Records6::Mapped { samples, .. } => samples.len(),
        }
    }

    /// Number of ranges (networks merged where adjacent and alike, plus gaps).
    #[must_use]
    pub fn range_count(&self) -> usize {
        self.starts.len()
    }

    /// A record's key (database and data offset) and an address inside it.
    #[must_use]
    pub fn record(&self, id: u32) -> (super::RecordKey, Ipv6Addr) {
        let r = self.table_record(id);
        (
            record_key(self.db_index, r.offset as usize),
            Ipv6Addr::from(r.sample),
        )
    }

    /// The place a record describes.
    #[must_use]
    pub fn place(&self, id: u32) -> super::Place {
        self.table_record(id).place
    }

    /// Every range as `(start, record id or NO_RECORD)`.
    pub fn ranges(&self) -> impl Iterator<Item = (u128, u32)> + '_ {
        self.starts.iter().copied().zip(self.ids.iter().copied())
    }
}

/// [`Ipv6Table::lookup_batch`] for up to [`LOCKSTEP`] addresses.
#[inline]
fn lookup_lockstep(index: &[u32], starts: &[u128], ids: &[u32], ips: &[u128], out: &mut [u32]) {
    // Per address: the first candidate range, and how many there are (0: none).
    let mut lo = [0u32; LOCKSTEP];
    let mut len = [0u32; LOCKSTEP];
    for ((&ip, lo), len) in ips.iter().zip(&mut lo).zip(&mut len) {
        let b = (ip >> (128 - INDEX_BITS)) as usize;
        if let (Some(&l), Some(&h)) = (index.get(b), index.get(b + 1))
            && l <= h
            && (h as usize) < starts.len()
        {
            *lo = l;
            *len = h - l + 1;
        }
    }
    // Each search keeps its answer in `lo..lo + len`: the last range starting at or before
    // the address (the block's first range holds the block's first address, so there is one).
    // A search over `len` candidates takes ceil(log2(len)) steps. Blocks differ in width by
    // a hundredfold, so the searches are ordered by their steps, most first: round `r`
    // steps the first `rounds[r]` of them, those with more than `r` steps, without a branch
    // on the data, and no search takes more steps than its own block needs.
    let steps_of = |len: u32| u32::BITS - len.saturating_sub(1).leading_zeros();
    // How many searches take each number of steps (0 to 32).
    let n = ips.len().min(LOCKSTEP);
    let mut active = [0u8; u32::BITS as usize + 1];
    for &l in &len[..n] {
        active[steps_of(l) as usize] += 1;
    }
    let mut order = [0u8; LOCKSTEP];
    let mut next = [0u8; u32::BITS as usize + 1];
    let mut at = 0u8;
    for s in (0..active.len()).rev() {
        next[s] = at;
        at += active[s];
    }
    for (i, &l) in len[..n].iter().enumerate() {
        let s = steps_of(l) as usize;
        order[usize::from(next[s])] = i as u8;
        next[s] += 1;
    }
    // Round `r` steps the searches with more than `r` steps: a prefix of `order`.
    let mut rounds = [0u8; u32::BITS as usize];
    let mut more = 0u8;
    for s in (1..active.len()).rev() {
        more += active[s];
        rounds[s - 1] = more;
    }
    for &n in rounds.iter().take_while(|&&n| n > 0) {
        for &i in &order[..usize::from(n)] {
            let i = usize::from(i);
            let half = len[i] / 2;
            let mid = lo[i] + half;
            let start = starts.get(mid as usize).copied().unwrap_or(u128::MAX);
            lo[i] = if start <= ips[i] { mid } else { lo[i] };
            len[i] -= half;
        }
    }
    for ((o, &lo), &len) in out.iter_mut().zip(&lo).zip(&len) {
        *o = if len == 0 {
            NO_RECORD
        } else {
            ids.get(lo as usize).copied().unwrap_or(NO_RECORD)
        };
    }
}

/// Ranges and records a loaded table is checked on against the tree.
const SPOT_CHECKS: usize = 1024;

impl Ipv6Table {
    /// Checks a table read from the cache against the database's search tree: the first
    /// and last address of up to 1,024 ranges spread over the table, and one
    /// address of as many records, get the same answer (the tree's place, or where the
    /// table says none, no record or one the table leaves to the tree).
    pub fn spot_check(&self, atlas: &Atlas) -> std::result::Result<(), String> {
        let db = atlas
            .dbs
            .get(self.db_index)
            .ok_or_else(|| "it names another database".to_owned())?;
        let agrees = |ip: u128| -> std::result::Result<(), String> {
            let id = self.lookup(ip);
            let disagree = || {
                format!(
                    "it does not agree with the database at {}",
                    Ipv6Addr::from(ip)
                )
            };
            if id == NO_RECORD {
                return Ok(());
            }
            match atlas
                .lookup(Ipv6Addr::from(ip).into())
                .map_err(|e| e.to_string())?
            {
                Lookup::Found(_, found) => {
                    let place = db
                        .decode_place(&found, atlas.fallback)
                        .map_err(|e| e.to_string())?;
                    if id as usize >= self.record_count() {
                        return Err(disagree());
                    }
                    if place == self.table_record(id).place {
                        Ok(())
                    } else {
                        Err(disagree())
                    }
                }
                Lookup::NotFound(_) => Err(disagree()),
            }
        };
        let n = self.starts.len();
        let stride = n.div_ceil(SPOT_CHECKS).max(1);
        let mut probes: Vec<u128> = Vec::with_capacity(3 * SPOT_CHECKS + 2);
        for i in (0..n).step_by(stride).chain(std::iter::once(n - 1)) {
            probes.push(self.starts[i]);
            probes.push(self.starts.get(i + 1).map_or(u128::MAX, |s| s - 1));
        }
        let m = self.record_count();
        for id in (0..m).step_by(m.div_ceil(SPOT_CHECKS).max(1)) {
            probes.push(self.table_record(id as u32).sample);
        }
        // On all cores; the first disagreement in probe order is the one reported.
        probes
            .par_iter()
            .with_min_len(64)
            .map(|&ip| agrees(ip))
            .find_first(Result::is_err)
            .unwrap_or(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded() -> (Atlas, Ipv6Table) {
        let db =
            super::super::Database::embedded(&super::super::FieldOverrides::default()).unwrap();
        let atlas = Atlas::new(vec![db], super::super::CountryFallback::None).unwrap();
        let table = Ipv6Table::build(&atlas, &AtomicBool::new(false))
            .unwrap()
            .unwrap();
        (atlas, table)
    }

    fn records(t: &Ipv6Table) -> Vec<TableRecord6> {
        (0..t.record_count() as u32)
            .map(|id| t.table_record(id))
            .collect()
    }

    #[test]
    fn a_cached_table_reads_back_whole_and_damage_is_refused() {
        use super::super::cache::{TABLE6_KIND, blob_path, load6, store6};
        let (atlas, table) = embedded();
        assert!(table.range_count() > 1000 && table.record_count() > 100);
        let dir = tempfile::tempdir().unwrap();
        store6(dir.path(), 9, &table).unwrap();
        let back = load6(dir.path(), 9, 0).unwrap().unwrap();
        assert_eq!(back.raw_parts(), table.raw_parts());
        assert_eq!(records(&back), records(&table));
        back.spot_check(&atlas).unwrap();
        for ip in [0u128, 1 << 100, 0x2001_0db8 << 96, u128::MAX] {
            assert_eq!(back.lookup(ip), table.lookup(ip));
        }
        // Another key misses; cut short, damaged, or a range out of order or naming no
        // record with the checksum made again: refused.
        assert!(load6(dir.path(), 8, 0).is_none());
        let path = blob_path(dir.path(), TABLE6_KIND, 9);
        let bytes = std::fs::read(&path).unwrap();
        let refused = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            load6(dir.path(), 9, 0).unwrap().is_err()
        };
        assert!(refused(&bytes[..bytes.len() / 2]));
        let mut bad = bytes.clone();
        bad[70] ^= 1;
        assert!(refused(&bad));
        let resum = |mut b: Vec<u8>| {
            let body = b.len() - 8;
            let sum = twox_hash::XxHash3_64::oneshot(&b[..body]);
            b[body..].copy_from_slice(&sum.to_le_bytes());
            b
        };
        let n = table.range_count();
        let id_at = 64 + 16 * n + 4;
        let mut bad = bytes.clone();
        bad[id_at..id_at + 4].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
        assert!(refused(&resum(bad)));
        let mut bad = bytes.clone();
        bad[64..80].copy_from_slice(&5u128.to_le_bytes());
        assert!(refused(&resum(bad)));
        let index_at = 64 + 20 * n + 4 * 77;
        let mut bad = bytes.clone();
        bad[index_at..index_at + 4].copy_from_slice(&3u32.to_le_bytes());
        assert!(refused(&resum(bad)));
        assert!(!refused(&resum(bytes)), "the same file, whole, is read");
        // A table in the sealed blob earlier versions wrote is stale: replaced quietly.
        super::super::cache::store_blob(dir.path(), TABLE6_KIND, 9, b"old", 4).unwrap();
        let why = load6(dir.path(), 9, 0).unwrap().err().unwrap().to_string();
        assert_eq!(why, super::super::cache::STALE);
    }

    #[test]
    fn a_table_that_disagrees_with_the_tree_fails_its_spot_check() {
        let (atlas, mut table) = embedded();
        // Every record's place moved: the tree says otherwise.
        let Records6::Decoded(records) = &mut table.records else {
            panic!("a built table holds its records")
        };
        for r in records {
            r.place.lat = Some(r.place.lat.unwrap_or(0.0) * 0.5 + 1.0);
        }
        assert!(table.spot_check(&atlas).is_err());
    }
}
