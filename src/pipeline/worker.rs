//! One worker: parses a chunk's records, looks them up (the compiled table in batches, else
//! the tree) and counts them into its own tally; per-record table counts merged by block.

use super::{Families, InvalidSink, RunOptions, Work};
use crate::error::{Error, Result};
use crate::input::Family;
use crate::input::{self, Event, Input, InputMode, Item};
use crate::locate::asn::AsnTable;
use crate::locate::{
    Atlas, Ipv4Table, Ipv6Table, Lookup, MmdbResult, Network, NotFound, RecordKey, canonical,
    canonical_network,
};
use crate::tally::{Column, Tally};
use ipnetwork::IpNetwork;
use rustc_hash::FxHashMap;

/// One worker's state: its tally and its record-key -> tally-slot cache.
pub(super) struct Worker<'a> {
    atlas: &'a Atlas,
    options: &'a RunOptions,
    inputs: &'a [Input],
    invalid: Option<&'a InvalidSink>,
    pub(super) tally: Tally,
    slots: FxHashMap<RecordKey, u32>,
    /// The ASN database, when places carry networks; then slots are per record and network.
    asn: Option<&'a AsnTable>,
    network_slots: FxHashMap<(RecordKey, Option<Network>), u32>,
    /// Addresses counted per table record id (folded into places at the end).
    table_counts: RecordCounts,
    /// IPv4 addresses parsed but not yet looked up in the table (resolved in batches, so
    /// the cache misses of independent lookups overlap).
    batch: Vec<u32>,
    /// The table the counts refer to, and per record id of it the tally slot of its place
    /// plus one (0: not met yet), for addresses counted one by one (lookup rows).
    table: Option<&'a Ipv4Table>,
    slots4: Vec<u32>,
    /// IPv4 addresses of a chunk looked up ahead, in order, with their record id and network
    /// prefix length (see [`Worker::look_ahead`]).
    ahead: std::collections::VecDeque<(u32, u32, u8)>,
    /// The compiled IPv6 table, when there is one, and per record id of it the tally slot
    /// of its place plus one (0: not met yet).
    table6: Option<&'a Ipv6Table>,
    slots6: Vec<u32>,
    /// IPv6 addresses parsed but not yet looked up in the IPv6 table (as `batch`).
    batch6: Vec<u128>,
    /// Walking the whole database: IPv6 space aliased to the IPv4 data is not counted
    /// again as IPv6 (see [`NotFound::Ipv4Alias`]).
    pub(super) whole_db: bool,
    /// Report the database network of each located address (lookup rows show it).
    pub(super) networks: bool,
}

/// What one record, or one database network of a prefix record, resolved to.
pub(super) struct Resolved {
    pub(super) outcome: Outcome,
    /// The database network (parts of a prefix; addresses when the worker reports them).
    pub(super) network: Option<IpNetwork>,
    /// The network mirrors IPv4 data in IPv6 space (6to4, Teredo, IPv4-compatible).
    pub(super) aliased: bool,
}

/// Whether a record was counted, and where.
pub(super) enum Outcome {
    /// Left out by the run's family.
    Excluded,
    /// Located: the tally slot of its place.
    Found(u32),
    /// Not located, and why.
    NotFound(NotFound),
}

impl Resolved {
    fn excluded() -> Self {
        Resolved {
            outcome: Outcome::Excluded,
            network: None,
            aliased: false,
        }
    }

    fn found(slot: u32, network: Option<IpNetwork>, aliased: bool) -> Self {
        Resolved {
            outcome: Outcome::Found(slot),
            network,
            aliased,
        }
    }

    fn not_found(reason: NotFound, network: Option<IpNetwork>, aliased: bool) -> Self {
        Resolved {
            outcome: Outcome::NotFound(reason),
            network,
            aliased,
        }
    }
}

impl<'a> Worker<'a> {
    pub(super) fn new(
        atlas: &'a Atlas,
        options: &'a RunOptions,
        inputs: &'a [Input],
        invalid: Option<&'a InvalidSink>,
    ) -> Self {
        Worker {
            atlas,
            options,
            inputs,
            invalid,
            tally: Tally::with_detail(options.detail),
            slots: FxHashMap::default(),
            asn: atlas.asn(),
            network_slots: FxHashMap::default(),
            table_counts: RecordCounts::default(),
            batch: Vec::with_capacity(BATCH),
            table: None,
            table6: None,
            slots4: Vec::new(),
            ahead: std::collections::VecDeque::new(),
            slots6: Vec::new(),
            batch6: Vec::with_capacity(BATCH),
            whole_db: false,
            networks: false,
        }
    }

    /// Looks IPv4 addresses up in `table` (batched), when there is one.
    pub(super) fn with_table(mut self, table: Option<&'a Ipv4Table>) -> Self {
        self.use_table(table);
        self
    }

    /// Takes the IPv4 table, if the worker has none yet.
    fn use_table(&mut self, table: Option<&'a Ipv4Table>) {
        if self.table.is_none()
            && let Some(t) = table
        {
            self.table = Some(t);
            self.table_counts = RecordCounts::new(t.record_count());
            self.slots4 = vec![0; t.record_count()];
        }
    }

    /// Looks IPv6 addresses up in `table`, when there is one.
    pub(super) fn with_table6(mut self, table: Option<&'a Ipv6Table>) -> Self {
        self.use_table6(table);
        self
    }

    /// Takes the IPv6 table, if the worker has none yet.
    fn use_table6(&mut self, table: Option<&'a Ipv6Table>) {
        if self.table6.is_none()
            && let Some(t) = table
        {
            self.table6 = Some(t);
            self.slots6 = vec![0; t.record_count()];
        }
    }

    pub(super) fn chunk(
        &mut self,
        work: &Work,
        table: Option<&'a Ipv4Table>,
        table6: Option<&'a Ipv6Table>,
    ) -> Result<()> {
        self.use_table(table);
        self.use_table6(table6);
        let name = self
            .inputs
            .get(work.chunk.input)
            .map_or_else(|| "-".to_owned(), Input::name);
        let name = name.as_str();
        let mut rows = self.invalid.map(|_| csv::Writer::from_writer(Vec::new()));
        let lines = input::scan(
            &work.chunk,
            &self.options.mode,
            work.column,
            |line, event| self.event(name, line, event, rows.as_mut()),
        )?;
        self.tally.counters.lines += lines;
        if let (Some(sink), Some(w)) = (self.invalid, rows) {
            // The rows are written into memory: an error here is ipatlas's, not the output's
            // (the sink's own writes report the file they write).
            let bytes = w
                .into_inner()
                .map_err(|e| Error::Internal(format!("invalid records: {}", e.error())))?;
            sink.submit(work.chunk.seq, bytes);
        }
        Ok(())
    }

    /// Counts one event of a line: a skipped line, a record, or an invalid record (written
    /// to `rows` for the invalid-record sink, when there is one).
    #[inline]
    pub(super) fn event(
        &mut self,
        name: &str,
        line: u64,
        event: Event<'_>,
        rows: Option<&mut csv::Writer<Vec<u8>>>,
    ) -> Result<()> {
        match event {
            Event::Skip => self.tally.counters.skipped += 1,
            Event::Item(item) => self.item(item)?,
            // Weighted records skip the table's batches: they are few (feeds, not dumps).
            Event::Weighted(item, weight) => {
                self.record_weighted(item, Some(weight), |_, _| Ok(()))?;
            }
            Event::Invalid(reason, text) => {
                if reason == input::InvalidReason::NotAnAddress
                    && matches!(self.options.mode, InputMode::Lines)
                    && let Some(d) = separated_address(text)
                {
                    self.tally.separated_addresses[d] += 1;
                }
                let shown = self.invalid_record(name, line, reason, text)?;
                if let Some(w) = rows {
                    let record = [name, &line.to_string(), reason.name(), &shown];
                    w.write_record(record)
                        .map_err(|e| Error::Internal(format!("invalid records: {e}")))?;
                }
            }
        }
        Ok(())
    }

    /// Counts an invalid record; returns how messages and rows show it (its first 200
    /// bytes), or the error that ends a strict run.
    pub(super) fn invalid_record(
        &mut self,
        name: &str,
        line: u64,
        reason: input::InvalidReason,
        text: &[u8],
    ) -> Result<String> {
        self.tally.counters.invalid[reason.index()] += 1;
        let shown = String::from_utf8_lossy(&text[..text.len().min(200)]).into_owned();
        if self.options.strict {
            return Err(Error::Strict {
                path: name.to_owned(),
                line,
                reason: reason.name(),
                text: shown,
            });
        }
        Ok(shown)
    }

    /// Counts one record (IPv4 addresses go through the table in batches when there is
    /// one); what it resolved to is not reported.
    #[inline]
    pub(super) fn item(&mut self, item: Item) -> Result<()> {
        match item {
            Item::Addr(std::net::IpAddr::V4(v4))
                if self.table.is_some() && self.options.family != Families::Ipv6 =>
            {
                self.batch.push(u32::from(v4));
                if self.batch.len() == BATCH {
                    self.flush_batch();
                }
                Ok(())
            }
            Item::Addr(std::net::IpAddr::V6(v6))
                if self.options.family != Families::Ipv4 && v6.to_ipv4_mapped().is_none() =>
            {
                if self.table6.is_none() {
                    return self.record(item, |_, _| Ok(()));
                }
                self.batch6.push(u128::from(v6));
                if self.batch6.len() == BATCH {
                    self.flush_batch6()?;
                }
                Ok(())
            }
            item => self.record(item, |_, _| Ok(())),
        }
    }

    /// Looks up the batched IPv6 addresses in the IPv6 table together (so that their cache
    /// misses overlap) and counts each at its record's place, or (where the table leaves
    /// the answer to it) through the search tree.
    pub(super) fn flush_batch6(&mut self) -> Result<()> {
        let Some(table) = self.table6 else {
            return Ok(());
        };
        let batch = std::mem::take(&mut self.batch6);
        let mut ids = [0u32; BATCH];
        table.lookup_batch(&batch, &mut ids);
        for (&id, &ip) in ids.iter().zip(&batch) {
            if id as usize >= self.slots6.len() {
                let v6 = std::net::Ipv6Addr::from(ip);
                self.record(Item::Addr(v6.into()), |_, _| Ok(()))?;
                continue;
            }
            self.count_record(Family::Ipv6, None);
            let slot = record_slot(&mut self.tally, &mut self.slots6, id, || table.place(id));
            self.tally.add(slot, Column::Ipv6, 1);
        }
        self.batch6 = batch;
        self.batch6.clear();
        Ok(())
    }

    /// The counting core every command resolves through: counts one record into the
    /// worker's tally and tells `seen` what it resolved to (one call for an address or a
    /// record left out by the family; one per database network for a prefix).
    #[inline]
    pub(super) fn record(
        &mut self,
        item: Item,
        seen: impl FnMut(&Tally, Resolved) -> Result<()>,
    ) -> Result<()> {
        self.record_weighted(item, None, seen)
    }

    /// [`Worker::record`] for a record with a weight (`--weight-column`): an address counts
    /// `weight`, a prefix its size times `weight`, and the weight goes to the counters'
    /// total when the record is counted.
    #[inline]
    pub(super) fn record_weighted(
        &mut self,
        item: Item,
        weight: Option<u64>,
        mut seen: impl FnMut(&Tally, Resolved) -> Result<()>,
    ) -> Result<()> {
        let times = weight.map_or(1, u128::from);
        match item {
            Item::Addr(ip) => {
                let ip = canonical(ip);
                let fam = Family::of(ip);
                if !self.count_record(fam, weight) {
                    return seen(&self.tally, Resolved::excluded());
                }
                if let (std::net::IpAddr::V4(v4), Some(table), None) = (ip, self.table, self.asn)
                    && (table.exact_networks() || !self.networks)
                {
                    return self.ipv4_in_table(table, v4, times, seen);
                }
                match self.atlas.lookup(ip)? {
                    Lookup::Found(key, result) => {
                        let network = self.asn.and_then(|a| a.lookup(ip));
                        let slot = self.slot_of(key, &result, network)?;
                        self.tally.add(slot, Column::of(fam, false), times);
                        let network = if self.networks {
                            result.network().ok()
                        } else {
                            None
                        };
                        seen(&self.tally, Resolved::found(slot, network, false))
                    }
                    Lookup::NotFound(reason) => {
                        self.tally
                            .add_not_found(Column::of(fam, false), reason, times);
                        seen(&self.tally, Resolved::not_found(reason, None, false))
                    }
                }
            }
            Item::Prefix(net) => {
                let net = canonical_network(net);
                let fam = Family::of_network(net);
                if !self.count_record(fam, weight) {
                    return seen(&self.tally, Resolved::excluded());
                }
                self.tally.counters.prefixes[fam.index()] += 1;
                self.prefix(net, fam, times, seen)
            }
        }
    }

    /// Looks up, ahead of counting them one by one, the IPv4 addresses of a chunk in the
    /// table, all index reads first so that their cache misses overlap (as [`flush_batch`]
    /// does); [`Worker::record`] then takes the answers in order.
    ///
    /// [`flush_batch`]: Worker::flush_batch
    pub(super) fn look_ahead(&mut self, work: &Work) -> Result<()> {
        let (Some(table), None) = (self.table, self.asn) else {
            return Ok(());
        };
        self.ahead.clear();
        if self.networks && !table.exact_networks() {
            return Ok(());
        }
        let mut ips: Vec<u32> = Vec::new();
        input::scan(&work.chunk, &self.options.mode, work.column, |_, event| {
            if let Event::Item(Item::Addr(ip)) | Event::Weighted(Item::Addr(ip), _) = event
                && let std::net::IpAddr::V4(v4) = canonical(ip)
                && self.options.family.allows(Family::Ipv4)
            {
                ips.push(u32::from(v4));
            }
            Ok(())
        })?;
        let view = table.view();
        let entries: Vec<u32> = ips.iter().map(|&ip| view.entry(ip)).collect();
        self.ahead
            .extend(ips.iter().zip(entries).map(|(&ip, entry)| {
                let (id, prefix) = view.network_of(entry, ip);
                (ip, id, prefix)
            }));
        Ok(())
    }

    /// An IPv4 address looked up in the table and counted at once (not batched), with its
    /// database network when the worker reports networks: the tree's answer, from the table.
    fn ipv4_in_table(
        &mut self,
        table: &'a Ipv4Table,
        v4: std::net::Ipv4Addr,
        times: u128,
        mut seen: impl FnMut(&Tally, Resolved) -> Result<()>,
    ) -> Result<()> {
        let col = Column::of(Family::Ipv4, false);
        let ip = u32::from(v4);
        let (id, prefix) = match self.ahead.pop_front() {
            Some((at, id, prefix)) if at == ip => (id, prefix),
            // Out of step (never expected): drop what was looked up ahead.
            Some(_) => {
                self.ahead.clear();
                table.lookup_network(ip)
            }
            None => table.lookup_network(ip),
        };
        if id == crate::locate::NO_RECORD {
            let reason = NotFound::unlocated(v4.into());
            self.tally.add_not_found(col, reason, times);
            return seen(&self.tally, Resolved::not_found(reason, None, false));
        }
        let detail = self.tally.detail();
        let slot = record_slot(&mut self.tally, &mut self.slots4, id, || {
            table.kept_place(id, detail)
        });
        self.tally.add(slot, col, times);
        let network = if self.networks {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            ipnetwork::Ipv4Network::new((ip & mask).into(), prefix)
                .ok()
                .map(IpNetwork::V4)
        } else {
            None
        };
        seen(&self.tally, Resolved::found(slot, network, false))
    }

    /// Counts a record of `fam` as parsed (with its weight, when weighted), or as excluded
    /// by the run's family; false when excluded.
    pub(super) fn count_record(&mut self, fam: Family, weight: Option<u64>) -> bool {
        if !self.options.family.allows(fam) {
            self.tally.counters.excluded += 1;
            return false;
        }
        self.tally.counters.weight += weight.map_or(0, u128::from);
        self.tally.counters.parsed += 1;
        self.tally.counters.records[fam.index()] += 1;
        true
    }

    /// Counts a prefix network by database network, each part weighted by its size (times
    /// the record's weight: 1 unless records are weighted).
    pub(super) fn prefix(
        &mut self,
        net: IpNetwork,
        fam: Family,
        times: u128,
        mut seen: impl FnMut(&Tally, Resolved) -> Result<()>,
    ) -> Result<()> {
        let atlas = self.atlas;
        let covered = atlas.covers(fam);
        let whole_db = self.whole_db;
        let col = Column::of(fam, true);
        atlas.for_each_network(net, |part| {
            let network = Some(part.network);
            // At most 2^64 /64 subnets times a weight below 2^64: below 2^128.
            let weight = part.weight.saturating_mul(times);
            let resolved = match part.found {
                Some(_) if whole_db && part.aliased => {
                    let reason = NotFound::Ipv4Alias;
                    self.tally.add_not_found(col, reason, weight);
                    Resolved::not_found(reason, network, true)
                }
                Some((key, result)) => match self.asn {
                    None => {
                        let slot = self.slot(key, &result)?;
                        self.tally.add(slot, col, weight);
                        Resolved::found(slot, network, part.aliased)
                    }
                    Some(asn) => {
                        // The part split along the ASN database's networks; the part is
                        // reported with the network of its first address.
                        let mut first = None;
                        for (w, net) in split_by_network(asn, part.network, part.weight) {
                            let slot = self.slot_of(key, &result, net)?;
                            self.tally.add(slot, col, w.saturating_mul(times));
                            first.get_or_insert(slot);
                        }
                        match first {
                            Some(slot) => Resolved::found(slot, network, part.aliased),
                            None => {
                                let slot = self.slot_of(key, &result, None)?;
                                Resolved::found(slot, network, part.aliased)
                            }
                        }
                    }
                },
                None => {
                    for (reason, w) in unlocated_weights(covered, fam, &part) {
                        self.tally
                            .add_not_found(col, reason, w.saturating_mul(times));
                    }
                    let reason = unlocated_reason(covered, fam, part.network);
                    Resolved::not_found(reason, network, part.aliased)
                }
            };
            seen(&self.tally, resolved)
        })
    }

    /// Looks up the batched IPv4 addresses in the table and counts them per record, in
    /// three passes so that the cache misses of different addresses overlap instead of
    /// queueing behind each other: all index reads, then the few mixed /24s, then counts.
    pub(super) fn flush_batch(&mut self) {
        let Some(table) = self.table else { return };
        let table = table.view();
        let counters = &mut self.tally.counters;
        counters.parsed += self.batch.len() as u64;
        counters.records[Family::Ipv4.index()] += self.batch.len() as u64;
        let mut ids = [0u32; BATCH];
        let ids = &mut ids[..self.batch.len()];
        for (id, &ip) in ids.iter_mut().zip(&self.batch) {
            *id = table.entry(ip);
        }
        for (id, &ip) in ids.iter_mut().zip(&self.batch) {
            *id = table.resolve(*id, ip);
        }
        for (&id, &ip) in ids.iter().zip(&self.batch) {
            if !self.table_counts.add(id, 1) {
                let reason = NotFound::unlocated(std::net::Ipv4Addr::from(ip).into());
                counters.not_found[Column::Ipv4.index()][reason.index()] += 1;
            }
        }
        self.batch.clear();
    }

    /// Ends the worker: its tally, and its counts per table record (empty without a table).
    pub(super) fn finish(mut self) -> Result<(Tally, RecordCounts)> {
        self.flush_batch();
        self.flush_batch6()?;
        Ok((self.tally, self.table_counts))
    }

    /// The ASN database the worker resolves networks with, if any.
    pub(super) fn asn_table(&self) -> Option<&'a AsnTable> {
        self.asn
    }

    /// The slot of a record's place with a network (from the ASN database; `None` where it
    /// has none). Without an ASN database, [`Worker::slot`].
    pub(super) fn slot_of(
        &mut self,
        key: RecordKey,
        result: &MmdbResult<'_>,
        network: Option<Network>,
    ) -> Result<u32> {
        if self.asn.is_none() {
            return self.slot(key, result);
        }
        if let Some(slot) = self.network_slots.get(&(key, network)) {
            return Ok(*slot);
        }
        let place = self.atlas.place(key, result)?.with_network(network);
        let slot = self.tally.slot(place);
        self.network_slots.insert((key, network), slot);
        Ok(slot)
    }

    #[inline]
    pub(super) fn slot(&mut self, key: RecordKey, result: &MmdbResult<'_>) -> Result<u32> {
        if let Some(slot) = self.slots.get(&key) {
            return Ok(*slot);
        }
        let place = self.atlas.place(key, result)?;
        let slot = self.tally.slot(place);
        self.slots.insert(key, slot);
        Ok(slot)
    }
}

/// A located part of a prefix cut along the ASN database: each piece's weight (addresses
/// for IPv4, /64 subnets for IPv6) and network. The weights add up to `weight`, the part's.
fn split_by_network(asn: &AsnTable, part: IpNetwork, weight: u128) -> Vec<(u128, Option<Network>)> {
    match part {
        IpNetwork::V4(n) => asn.split_v4(u32::from(n.network()), u32::from(n.broadcast())),
        // A part of /64 or wider weighs its /64s, each going by its first address.
        IpNetwork::V6(n) if n.prefix() <= 64 => {
            let first = u128::from(n.network());
            asn.split_v6(first, crate::util::block_last(first, n.prefix()))
        }
        // A smaller part weighs 0 or 1 (see `ipv6_part_weight`): its first address says.
        IpNetwork::V6(n) => vec![(weight, asn.lookup(std::net::IpAddr::V6(n.network())))],
    }
}

/// Why part of a prefix was not located.
/// The unlocated weight of a walked network, by reason: split where reserved space begins
/// or ends (see [`crate::locate::unlocated_parts`]), so every path classifies alike.
pub(super) fn unlocated_weights(
    covered: bool,
    fam: Family,
    part: &crate::locate::NetworkWeight<'_>,
) -> Vec<(NotFound, u128)> {
    let whole = || vec![(unlocated_reason(covered, fam, part.network), part.weight)];
    if !covered {
        return whole();
    }
    match part.network {
        IpNetwork::V4(n) => crate::locate::unlocated_parts(
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
            false,
        )
        .into_iter()
        .map(|(a, b, r)| (r, b - a + 1))
        .collect(),
        IpNetwork::V6(n) if n.prefix() <= 64 => {
            let first = u128::from(n.network());
            crate::locate::unlocated_parts(first, crate::util::block_last(first, n.prefix()), true)
                .into_iter()
                .map(|(a, b, r)| (r, (b - a).checked_add(1).map_or(1u128 << 64, |n| n >> 64)))
                .collect()
        }
        IpNetwork::V6(_) => whole(),
    }
}

pub(super) fn unlocated_reason(covered: bool, fam: Family, network: IpNetwork) -> NotFound {
    if !covered {
        match fam {
            Family::Ipv4 => NotFound::NoIpv4Database,
            Family::Ipv6 => NotFound::NoIpv6Database,
        }
    } else {
        NotFound::unlocated(network.network())
    }
}

/// Addresses counted per compiled-table record, and which blocks of records were touched:
/// merging and folding cost in proportion to the blocks a worker met (plus one flag per
/// block), not to the table's size times the workers. The counts are allocated zeroed, so
/// untouched pages cost no memory either. Marking a block is one unconditional byte store,
/// which keeps the per-address loop free of branches.
#[derive(Default)]
pub(super) struct RecordCounts {
    counts: Vec<u64>,
    blocks: Vec<bool>,
}

/// Records per touched-flag: 512 counts are one 4 KiB page.
pub(super) const BLOCK_SHIFT: u32 = 9;

impl RecordCounts {
    pub(super) fn new(records: usize) -> Self {
        RecordCounts {
            counts: vec![0; records],
            blocks: vec![false; (records >> BLOCK_SHIFT) + 1],
        }
    }

    /// Adds to a record's count; false when `id` is not a record (a gap in the table).
    #[inline]
    pub(super) fn add(&mut self, id: u32, n: u64) -> bool {
        match self.counts.get_mut(id as usize) {
            Some(c) => {
                *c += n;
                if let Some(b) = self.blocks.get_mut((id >> BLOCK_SHIFT) as usize) {
                    *b = true;
                }
                true
            }
            None => false,
        }
    }

    /// The touched records and their counts, in id order.
    pub(super) fn touched(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.blocks
            .iter()
            .enumerate()
            .filter(|(_, t)| **t)
            .flat_map(move |(b, _)| {
                let start = b << BLOCK_SHIFT;
                let end = ((b + 1) << BLOCK_SHIFT).min(self.counts.len());
                (start..end).map(move |i| (i as u32, self.counts[i]))
            })
            .filter(|(_, n)| *n > 0)
    }

    /// Adds another worker's counts, block by touched block.
    pub(super) fn merge(&mut self, other: RecordCounts) {
        if self.counts.is_empty() {
            *self = other;
            return;
        }
        for (id, n) in other.touched() {
            self.add(id, n);
        }
    }
}

/// The tally slot of a table record's place, the place made on first sight only: `slots`
/// holds per record id its slot plus one (0: not met yet).
fn record_slot(
    tally: &mut Tally,
    slots: &mut [u32],
    id: u32,
    place: impl FnOnce() -> crate::locate::Place,
) -> u32 {
    match slots.get_mut(id as usize) {
        Some(known) if *known > 0 => *known - 1,
        Some(known) => {
            let slot = tally.slot(place());
            *known = slot + 1;
            slot
        }
        None => tally.slot(place()),
    }
}

/// Adds counts per table record to a tally. The records' places are read on all cores
/// (from the cache file, for a loaded table: only the records counted are ever read), a
/// block at a time: the next block is read while the last one's places are added to the
/// tally, which only one thread can do.
pub(super) fn fold_table_counts(tally: &mut Tally, table: &Ipv4Table, counts: &RecordCounts) {
    use rayon::prelude::*;
    let touched: Vec<(u32, u64)> = counts.touched().collect();
    tally.reserve(touched.len());
    let detail = tally.detail();
    let read = |part: &'_ [(u32, u64)]| -> Vec<(crate::locate::Place, u64)> {
        part.par_iter()
            .with_min_len(1024)
            .map(|&(id, _)| {
                let place = table.kept_place(id, detail);
                (place, Tally::place_hash(&place))
            })
            .collect()
    };
    let mut parts = touched.chunks(FOLD_BLOCK);
    let mut current = parts.next().map(|part| (part, read(part)));
    while let Some((part, places)) = current {
        let next = parts.next();
        let ((), read_next) = rayon::join(
            || {
                for (&(_, n), (place, hash)) in part.iter().zip(places) {
                    let slot = tally.slot_hashed(place, hash);
                    tally.add(slot, Column::Ipv4, u128::from(n));
                }
            },
            || next.map(|part| (part, read(part))),
        );
        current = read_next;
    }
}

/// Table records whose places are read together while the block before is tallied.
const FOLD_BLOCK: usize = 1 << 15;

/// IPv4 (or IPv6) addresses resolved together in the table.
pub(super) const BATCH: usize = 256;

/// Which separator (0: tab, 1: comma) ends an address at the start of `line`, if one does:
/// the line is a table row read without `--column`.
pub(super) fn separated_address(line: &[u8]) -> Option<usize> {
    [b'\t', b','].iter().position(|&d| {
        memchr::memchr(d, line)
            .is_some_and(|at| input::parse_item(input::trim(&line[..at])).is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn record_counts_merge_what_each_worker_touched() {
        let mut a = RecordCounts::new(2000);
        let mut b = RecordCounts::new(2000);
        assert!(a.add(3, 2) && a.add(1500, 1) && b.add(3, 5) && b.add(700, 1));
        assert!(!a.add(2000, 1), "past the last record");
        // Only the blocks of 512 records that were written are visited.
        assert_eq!(b.blocks.iter().filter(|t| **t).count(), 2);
        a.merge(b);
        let got: Vec<(u32, u64)> = a.touched().collect();
        assert_eq!(got, vec![(3, 7), (700, 1), (1500, 1)]);
        let mut empty = RecordCounts::default();
        empty.merge(a);
        assert_eq!(empty.touched().count(), 3);
    }

    #[test]
    fn folding_in_blocks_gives_what_adding_one_record_at_a_time_gives() {
        use crate::locate::{CountryCode, Place, TableRecord};
        // Several blocks of records; every third place repeats one from two blocks back,
        // so places met in one block are found again in a later one.
        let n = FOLD_BLOCK as u32 * 3 + 123;
        let place = |i: u32| {
            let i = if i.is_multiple_of(3) && i >= 2 * FOLD_BLOCK as u32 {
                i - 2 * FOLD_BLOCK as u32
            } else {
                i
            };
            Place {
                country: CountryCode::parse(["US", "DE", "BR"][i as usize % 3]),
                lat: Some(f64::from(i) / 1e4),
                lon: Some(-f64::from(i) / 1e4),
                ..Place::EMPTY
            }
        };
        let records: Vec<TableRecord> = (0..n)
            .map(|i| TableRecord {
                offset: u64::from(i),
                sample: i << 8,
                place: place(i),
            })
            .collect();
        let ranges: Vec<[u32; 2]> = (0..n).map(|i| [i << 8, i]).collect();
        let table = Ipv4Table::from_parts(ranges, records, 0, Vec::new());
        let mut counts = RecordCounts::new(n as usize);
        for i in (0..n).filter(|i| i % 7 != 1) {
            assert!(counts.add(i, u64::from(i % 5 + 1)));
        }
        let mut blocked = Tally::new();
        fold_table_counts(&mut blocked, &table, &counts);
        let mut single = Tally::new();
        for (id, c) in counts.touched() {
            let slot = single.slot(place(id));
            single.add(slot, Column::Ipv4, u128::from(c));
        }
        let got = blocked.places();
        assert!(got.len() > 2 * FOLD_BLOCK && got.len() < counts.touched().count());
        assert_eq!(got, single.places());
    }
}
