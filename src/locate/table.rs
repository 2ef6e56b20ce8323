//! The compiled IPv4 table: every IPv4 network of a database as a flat sorted array of range
//! starts with a record id each, behind a direct /16 index, so a lookup is one index read
//! and a short binary search instead of a walk down the search tree.

use super::{Atlas, RecordKey, record_key};
use crate::error::{Error, Result};
use maxminddb::WithinOptions;
use rustc_hash::FxHashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};

/// Record id meaning "no record" (a gap between networks).
pub const NO_RECORD: u32 = u32::MAX;

/// A compiled IPv4 table (see the module documentation).
pub struct Ipv4Table {
    /// `index[h]`: position of the range that holds address `h << 16`; `index[65536]` is the
    /// last position. The range holding any address of /16 `h` lies in `index[h]..=index[h+1]`.
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
        let ranges: Vec<(u32, u32)> = starts
            .iter()
            .copied()
            .zip(records.iter().copied())
            .collect();
        let mut index = Vec::with_capacity(65_537);
        let mut pos = 0usize;
        for h in 0..=65_535u32 {
            let addr = h << 16;
            while pos + 1 < starts.len() && starts[pos + 1] <= addr {
                pos += 1;
            }
            index.push(pos as u32);
        }
        index.push((starts.len() - 1) as u32);
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
        let h = (ip >> 16) as usize;
        let (lo, hi) = (self.index[h] as usize, self.index[h + 1] as usize);
        let window = &self.ranges[lo..=hi];
        // The last range in the window starting at or before the address.
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
