//! The compiled IPv6 table: every IPv6 network of a database as a sorted array of range
//! starts with a record id each, behind a direct index on the top 20 bits; a lookup is a
//! binary search among the ranges of its block. Space the table does not cover (gaps, the
//! IPv4 subtree at `::/96` and the aliases of it, which the walk does not list) says
//! [`NO_RECORD`]: the caller asks the search tree there, so every answer is the tree's.

use super::table::{NO_RECORD, SMALL_DB, TableRecord6, walk_networks};
use super::{Atlas, Lookup, record_key};
use crate::error::{Error, Result};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::net::Ipv6Addr;
use std::sync::atomic::{AtomicBool, Ordering};

/// Bits of an address the index is on.
const INDEX_BITS: u32 = 20;

/// A large database's walk is split into the /8s, walked in parallel.
const WALK_BITS: u32 = 8;

/// A compiled IPv6 table (see the module documentation).
pub struct Ipv6Table {
    /// Per block of the top [`INDEX_BITS`] bits (and one past the last): the position of
    /// the range holding the block's first address.
    index: Vec<u32>,
    /// Range starts, ascending; the first is 0.
    starts: Vec<u128>,
    /// Per range: its record id, or [`NO_RECORD`] (ask the tree).
    ids: Vec<u32>,
    /// Per record id: where it is in the database, and what it says.
    records: Vec<TableRecord6>,
    db_index: usize,
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
            index,
            starts,
            ids,
            records,
            db_index,
        }
    }

    /// The record id of an IPv6 address, or [`NO_RECORD`] where the table leaves the
    /// answer to the search tree.
    #[inline]
    #[must_use]
    pub fn lookup(&self, ip: u128) -> u32 {
        let b = (ip >> (128 - INDEX_BITS)) as usize;
        let (lo, hi) = (self.index[b] as usize, self.index[b + 1] as usize);
        // The last range of the block starting at or before the address: the block's first
        // range holds the block's first address, so there is one.
        let within = &self.starts[lo..=hi];
        let k = lo + within.partition_point(|&s| s <= ip).saturating_sub(1);
        self.ids[k]
    }

    /// Number of distinct records.
    #[must_use]
    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// Number of ranges (networks merged where adjacent and alike, plus gaps).
    #[must_use]
    pub fn range_count(&self) -> usize {
        self.starts.len()
    }

    /// A record's key (database and data offset) and an address inside it.
    #[must_use]
    pub fn record(&self, id: u32) -> (super::RecordKey, Ipv6Addr) {
        let r = &self.records[id as usize];
        (
            record_key(self.db_index, r.offset as usize),
            Ipv6Addr::from(r.sample),
        )
    }

    /// The place a record describes.
    #[must_use]
    pub fn place(&self, id: u32) -> &super::Place {
        &self.records[id as usize].place
    }

    /// Every range as `(start, record id or NO_RECORD)`.
    pub fn ranges(&self) -> impl Iterator<Item = (u128, u32)> + '_ {
        self.starts.iter().copied().zip(self.ids.iter().copied())
    }
}

/// Ranges and records a loaded table is checked on against the tree.
const SPOT_CHECKS: usize = 1024;

/// Bytes of one range in a cache file: start (u128) and id (u32).
const RANGE: usize = 16 + 4;

impl Ipv6Table {
    /// The table as a cache payload: range and record counts (u64), the ranges, then the
    /// records as the IPv4 table files hold them (their IPv4 address unused) and the names.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.starts.len() * RANGE);
        out.extend_from_slice(&(self.starts.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.records.len() as u64).to_le_bytes());
        for (start, id) in self.ranges() {
            out.extend_from_slice(&start.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
        }
        super::cache::encode_records(
            &mut out,
            self.records.iter().map(|r| (r.offset, 0, &r.place)),
        );
        out
    }

    /// A table from a cache payload (sealed and checked by the blob store), checked: starts
    /// ascending from 0, every id a record or none, every record in a range.
    pub(super) fn decode(bytes: &[u8], db_index: usize) -> std::result::Result<Self, String> {
        let count = |at: usize| {
            bytes
                .get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
                .ok_or_else(|| "shorter than its counts".to_owned())
        };
        let (n_ranges, n_records) = (count(0)?, count(8)?);
        if n_ranges == 0
            || n_ranges > (bytes.len() / RANGE) as u64
            || n_records >= u64::from(NO_RECORD)
        {
            return Err("implausible counts".into());
        }
        let (n_ranges, n_records) = (n_ranges as usize, n_records as usize);
        let records_at = 16 + n_ranges * RANGE;
        let records_end = n_records
            .checked_mul(super::cache::RECORD)
            .and_then(|n| n.checked_add(records_at))
            .filter(|&n| n <= bytes.len())
            .ok_or_else(|| "its size does not match its counts".to_owned())?;
        let mut starts = Vec::with_capacity(n_ranges);
        let mut ids = Vec::with_capacity(n_ranges);
        let mut sample: Vec<Option<u128>> = vec![None; n_records];
        for (i, r) in bytes[16..records_at].chunks_exact(RANGE).enumerate() {
            let start = u128::from_le_bytes(r[..16].try_into().map_err(|_| "bad range")?);
            let id = u32::from_le_bytes(r[16..].try_into().map_err(|_| "bad range")?);
            let ascending = starts.last().map_or(start == 0, |&p| start > p);
            if !ascending || (id != NO_RECORD && id as usize >= n_records) {
                return Err(format!("range {i} is out of order or names no record"));
            }
            if let Some(s) = sample.get_mut(id as usize)
                && s.is_none()
            {
                *s = Some(start);
            }
            starts.push(start);
            ids.push(id);
        }
        let records =
            super::cache::decode_records(&bytes[records_at..records_end], &bytes[records_end..])?
                .into_iter()
                .zip(sample)
                .enumerate()
                .map(|(i, ((offset, _, place), sample))| {
                    sample
                        .map(|sample| TableRecord6 {
                            offset,
                            sample,
                            place,
                        })
                        .ok_or_else(|| format!("record {i} is in no range"))
                })
                .collect::<std::result::Result<Vec<_>, String>>()?;
        Ok(Ipv6Table::from_parts(starts, ids, records, db_index))
    }

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
                    let record = self.records.get(id as usize).ok_or_else(disagree)?;
                    if place == record.place {
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
        for i in (0..n).step_by(stride).chain(std::iter::once(n - 1)) {
            agrees(self.starts[i])?;
            agrees(self.starts.get(i + 1).map_or(u128::MAX, |s| s - 1))?;
        }
        let m = self.records.len();
        for id in (0..m).step_by(m.div_ceil(SPOT_CHECKS).max(1)) {
            agrees(self.records[id].sample)?;
        }
        Ok(())
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

    #[test]
    fn a_cached_table_reads_back_whole_and_damage_is_refused() {
        let (atlas, table) = embedded();
        assert!(table.range_count() > 1000 && table.record_count() > 100);
        let bytes = table.encode();
        let back = Ipv6Table::decode(&bytes, 0).unwrap();
        assert_eq!(
            back.ranges().collect::<Vec<_>>(),
            table.ranges().collect::<Vec<_>>()
        );
        assert_eq!(back.records, table.records);
        assert_eq!(back.index, table.index);
        back.spot_check(&atlas).unwrap();
        // Cut short, or a range out of order or naming no record: refused. (The blob store
        // checks the checksum; these are the structural checks behind it.)
        assert!(Ipv6Table::decode(&bytes[..bytes.len() / 2], 0).is_err());
        let mut bad = bytes.clone();
        bad[16 + RANGE + 16..16 + RANGE + 20].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
        assert!(Ipv6Table::decode(&bad, 0).is_err());
        let mut bad = bytes;
        bad[16..32].copy_from_slice(&5u128.to_le_bytes());
        assert!(Ipv6Table::decode(&bad, 0).is_err());
    }

    #[test]
    fn a_table_that_disagrees_with_the_tree_fails_its_spot_check() {
        let (atlas, mut table) = embedded();
        // Every record's place moved: the tree says otherwise.
        for r in &mut table.records {
            r.place.lat = Some(r.place.lat.unwrap_or(0.0) * 0.5 + 1.0);
        }
        assert!(table.spot_check(&atlas).is_err());
    }
}
