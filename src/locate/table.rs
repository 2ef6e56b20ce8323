//! The compiled IPv4 table: every IPv4 network of a database as a flat sorted array of range
//! starts with a record id each, behind a direct /24 index. Where one range covers a whole
//! /24 (most of them) the index holds the record id itself, so a lookup is one memory read;
//! otherwise it points into the ranges for a short binary search.

use super::{Atlas, RecordKey, record_key};
use crate::error::{Error, Result};
use maxminddb::WithinOptions;
use rustc_hash::FxHashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};

/// Record id meaning "no record" (a gap between networks).
pub const NO_RECORD: u32 = u32::MAX;

/// Index flag: the /24 holds several ranges; the low bits are a position in `ranges`.
const MIXED: u32 = 1 << 31;

/// A compiled IPv4 table (see the module documentation).
pub struct Ipv4Table {
    /// Per /24: the record id (or [`NO_RECORD`]) when one range covers it, else
    /// [`MIXED`] | the position of the range holding its first address.
    index: Vec<u32>,
    /// `(range start, record id or NO_RECORD)`, ascending by start; the first start is 0.
    /// Start and id share a cache line, so the search's last probe brings the answer along.
    ranges: Vec<(u32, u32)>,
    /// Per record id: its key (database and data offset) and one address inside it.
    keys: Vec<(RecordKey, u32)>,
}

impl Ipv4Table {
    /// Walks the IPv4 space of the atlas's IPv4 database. Returns `Ok(None)` when `cancel` is
    /// raised (the run ended first) or no database covers IPv4.
    pub fn build(atlas: &Atlas, cancel: &AtomicBool) -> Result<Option<Ipv4Table>> {
        let Some(db_index) = atlas.route_v4 else {
            return Ok(None);
        };
        let db = &atlas.dbs[db_index];
        let root = "0.0.0.0/0"
            .parse()
            .map_err(|_| Error::Usage("bad root".into()))?;
        let walk = db
            .reader()
            .within(root, WithinOptions::default())
            .map_err(|e| Error::database(db.label(), e))?;
        let mut starts: Vec<u32> = Vec::with_capacity(1 << 20);
        let mut records: Vec<u32> = Vec::with_capacity(1 << 20);
        let mut ids: FxHashMap<usize, u32> = FxHashMap::default();
        let mut keys: Vec<(RecordKey, u32)> = Vec::new();
        let mut next: u64 = 0;
        for (n, item) in walk.enumerate() {
            if n % 4096 == 0 && cancel.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let result = item.map_err(|e| Error::database(db.label(), e))?;
            let Ok(ipnetwork::IpNetwork::V4(net)) = result.network() else {
                continue;
            };
            let Some(offset) = result.offset() else {
                continue;
            };
            let start = u32::from(net.network());
            if u64::from(start) < next {
                return Err(Error::database(
                    db.label(),
                    "IPv4 networks overlap or are out of order",
                ));
            }
            if u64::from(start) > next {
                starts.push(next as u32);
                records.push(NO_RECORD);
            }
            let id = *ids.entry(offset).or_insert_with(|| {
                keys.push((record_key(db_index, offset), start));
                (keys.len() - 1) as u32
            });
            // Adjacent networks of one record merge into one range.
            if records.last() != Some(&id) {
                starts.push(start);
                records.push(id);
            }
            next = u64::from(start) + (1u64 << (32 - u32::from(net.prefix())));
        }
        if next < (1u64 << 32) {
            starts.push(next as u32);
            records.push(NO_RECORD);
        }
        if starts.first() != Some(&0) {
            starts.insert(0, 0);
            records.insert(0, NO_RECORD);
        }
        if keys.len() >= MIXED as usize || starts.len() >= MIXED as usize {
            return Err(Error::database(
                db.label(),
                "too many networks for the compiled table",
            ));
        }
        let ranges: Vec<(u32, u32)> = starts
            .iter()
            .copied()
            .zip(records.iter().copied())
            .collect();
        // Whole /24s of a range take its record id (a bulk fill); a /24 where a range
        // starts part-way is mixed, pointing at the range that holds its first address.
        let mut index = vec![NO_RECORD; 1 << 24];
        for (i, &(start, id)) in ranges.iter().enumerate() {
            if i % 4096 == 0 && cancel.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let end = ranges.get(i + 1).map_or(1u64 << 32, |r| u64::from(r.0));
            let first_full = u64::from(start).div_ceil(256) as usize;
            let end_full = (end / 256) as usize;
            if first_full < end_full {
                index[first_full..end_full].fill(id);
            }
            if start % 256 != 0 {
                let block = (start >> 8) as usize;
                if index[block] & MIXED == 0 || index[block] == NO_RECORD {
                    index[block] = MIXED | (i - 1) as u32;
                }
            }
        }
        Ok(Some(Ipv4Table {
            index,
            ranges,
            keys,
        }))
    }

    /// The record id of an IPv4 address (as a `u32`), or [`NO_RECORD`].
    #[inline]
    #[must_use]
    pub fn lookup(&self, ip: u32) -> u32 {
        let v = self.index[(ip >> 8) as usize];
        if v & MIXED == 0 || v == NO_RECORD {
            return v;
        }
        // Several ranges in this /24: the last one starting at or before the address.
        let pos = (v & !MIXED) as usize;
        let window = &self.ranges[pos..self.ranges.len().min(pos + 257)];
        let k = window.partition_point(|r| r.0 <= ip);
        window[k - 1].1
    }

    /// Number of distinct records.
    #[must_use]
    pub fn record_count(&self) -> usize {
        self.keys.len()
    }

    /// Number of ranges (networks merged where adjacent and alike, plus gaps).
    #[must_use]
    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// Every range as `(start, size in addresses, record id or NO_RECORD)`.
    pub fn ranges(&self) -> impl Iterator<Item = (u32, u64, u32)> + '_ {
        self.ranges.iter().enumerate().map(|(i, &(start, id))| {
            let end = self
                .ranges
                .get(i + 1)
                .map_or(1u64 << 32, |r| u64::from(r.0));
            (start, end - u64::from(start), id)
        })
    }

    /// A record's key and an address inside it (to decode it through the tree, once).
    #[must_use]
    pub fn record(&self, id: u32) -> (RecordKey, Ipv4Addr) {
        let (key, ip) = self.keys[id as usize];
        (key, Ipv4Addr::from(ip))
    }
}
