//! The parallel run: a reader thread cuts inputs into chunks, rayon workers parse, locate and
//! tally them into per-worker tallies (no lock in the hot loop), which are merged at the end.

use crate::error::{Error, Result};
use crate::input::{self, ColumnSpec, Event, Input, InputMode, Item, source};
use crate::locate::{
    Atlas, Ipv4Table, Lookup, MmdbResult, NotFound, RecordKey, canonical, canonical_network,
};
use crate::tally::{Tally, V4, V6, column};
use ipnetwork::IpNetwork;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};

/// Which address families a run counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Family {
    /// IPv4 and IPv6.
    #[default]
    #[cfg_attr(feature = "cli", value(name = "all"))]
    Both,
    /// IPv4 only (IPv4-mapped IPv6 counts as IPv4).
    Ipv4,
    /// IPv6 only.
    Ipv6,
}

impl Family {
    fn allows(self, family: usize) -> bool {
        match self {
            Family::Both => true,
            Family::Ipv4 => family == V4,
            Family::Ipv6 => family == V6,
        }
    }
}

/// Options of a run over inputs.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// How lines become records.
    pub mode: InputMode,
    /// Which families to count.
    pub family: Family,
    /// Stop at the first invalid record.
    pub strict: bool,
    /// Who hears of progress and warnings (nobody by default).
    pub observer: crate::observe::Observers,
    /// How IPv4 addresses are looked up.
    pub lookup: LookupStrategy,
    /// Where compiled IPv4 tables are cached (`None`: not cached).
    pub cache_dir: Option<std::path::PathBuf>,
    /// A damaged compressed input counts its lines up to the damage, and the run goes on.
    pub keep_going: bool,
}

/// How IPv4 addresses are looked up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum LookupStrategy {
    /// Start on the search tree while the compiled table is built on another thread, and
    /// switch to the table once it is ready: small inputs finish before paying for it.
    #[default]
    Auto,
    /// The search tree only.
    Tree,
    /// Build the compiled table first, then look everything up in it.
    Table,
}

/// A chunk with what workers need to read it.
struct Work {
    chunk: input::Chunk,
    column: Option<usize>,
}

/// Writes invalid records as CSV (`input,line,reason,text`), in input order whatever the
/// order in which workers finish their chunks.
pub struct InvalidSink {
    state: Mutex<SinkState>,
}

struct SinkState {
    next: u64,
    pending: BTreeMap<u64, Vec<u8>>,
    out: Box<dyn Write + Send>,
    error: Option<std::io::Error>,
}

impl InvalidSink {
    /// A sink writing to `out`; writes the CSV header at once.
    pub fn new(mut out: Box<dyn Write + Send>) -> std::io::Result<Self> {
        out.write_all(b"input,line,reason,text\n")?;
        Ok(InvalidSink {
            state: Mutex::new(SinkState {
                next: 0,
                pending: BTreeMap::new(),
                out,
                error: None,
            }),
        })
    }

    fn submit(&self, seq: u64, rows: Vec<u8>) {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.pending.insert(seq, rows);
        loop {
            let next = s.next;
            let Some(rows) = s.pending.remove(&next) else {
                break;
            };
            if s.error.is_none()
                && let Err(e) = s.out.write_all(&rows)
            {
                s.error = Some(e);
            }
            s.next += 1;
        }
    }

    /// Flushes and hands back the writer, or the first write error.
    pub fn finish(self) -> std::io::Result<Box<dyn Write + Send>> {
        let mut s = self
            .state
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pending = std::mem::take(&mut s.pending);
        for rows in pending.into_values() {
            s.out.write_all(&rows)?;
        }
        if let Some(e) = s.error {
            return Err(e);
        }
        s.out.flush()?;
        Ok(s.out)
    }
}

/// Resolves all inputs into one tally.
pub fn aggregate(
    atlas: &Atlas,
    inputs: &[Input],
    options: &RunOptions,
    invalid: Option<&InvalidSink>,
) -> Result<Tally> {
    let table: OnceLock<Ipv4Table> = OnceLock::new();
    let cancel = AtomicBool::new(false);
    // By input size: small regular files never pay for the table; large ones build it
    // first (it pays for itself many times over); unknown sizes (stdin, pipes) and the
    // band between start on the tree while it is built alongside.
    let strategy = match (options.lookup, known_input_bytes(inputs)) {
        (LookupStrategy::Auto, Some(bytes)) if bytes < SMALL_INPUT => LookupStrategy::Tree,
        (LookupStrategy::Auto, Some(bytes)) if bytes >= LARGE_INPUT => LookupStrategy::Table,
        (s, _) => s,
    };
    let cache_dir = options.cache_dir.as_deref();
    if strategy == LookupStrategy::Table
        && let Some(t) = atlas.ipv4_table(cache_dir, &cancel)?
    {
        let _ = table.set(t);
    }
    std::thread::scope(|scope| {
        let builder = (strategy == LookupStrategy::Auto && atlas.covers(false)).then(|| {
            scope.spawn(|| -> Result<()> {
                if let Some(t) = atlas.ipv4_table(cache_dir, &cancel)? {
                    let _ = table.set(t);
                }
                Ok(())
            })
        });
        let tally = with_chunks(inputs, options, |rx, recycle| {
            // Exactly one worker (and so one tally) per pool thread: memory does not grow
            // with the number of chunks. The lock is taken once per 4 MiB chunk, not per line.
            let rx = Mutex::new(rx);
            let failed = AtomicBool::new(false);
            let results = rayon::broadcast(|_| {
                let mut worker = Worker::new(atlas, options, inputs, invalid);
                while !failed.load(Ordering::Relaxed) {
                    let next = rx
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    let Ok(work) = next else { break };
                    if let Err(e) = worker.chunk(&work, table.get()) {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                    // Hand the buffer back to the reader: no allocator churn of 4 MiB blocks.
                    let _ = recycle.send(work.chunk.data);
                }
                Ok(worker.finish())
            });
            let mut total = Tally::new();
            let mut counts = RecordCounts::default();
            for result in results {
                let (tally, c) = result?;
                total.merge(&tally);
                counts.merge(c);
            }
            if let Some(t) = table.get() {
                fold_table_counts(&mut total, t, &counts);
            }
            Ok(total)
        });
        // A run that ends before the table is ready does not wait for it.
        cancel.store(true, Ordering::Relaxed);
        let built = builder.map_or(Ok(()), |b| {
            b.join()
                .unwrap_or_else(|_| Err(Error::Internal("the table builder thread failed".into())))
        });
        let (mut tally, damaged) = tally?;
        built?;
        tally.counters.truncated_inputs += damaged;
        tally.checked()
    })
}

/// Tallies the whole address space of the databases (the data behind the 2012
/// "Geo-Location of Global IP Addresses" map): every network weighted by its size.
pub fn aggregate_whole_db(
    atlas: &Atlas,
    family: Family,
    cache_dir: Option<&std::path::Path>,
) -> Result<Tally> {
    let options = RunOptions {
        family,
        ..RunOptions::default()
    };
    let mut roots: Vec<IpNetwork> = Vec::new();
    if family.allows(V4) && atlas.covers(false) {
        roots.push(
            "0.0.0.0/0"
                .parse()
                .map_err(|_| Error::Internal("bad root network".into()))?,
        );
    }
    if family.allows(V6) && atlas.covers(true) {
        roots.push(
            "::/0"
                .parse()
                .map_err(|_| Error::Internal("bad root network".into()))?,
        );
    }
    let mut total = Tally::new();
    for root in roots {
        let fam = if root.is_ipv6() { V6 } else { V4 };
        if fam == V4
            && let Some(table) = atlas.ipv4_table(cache_dir, &AtomicBool::new(false))?
        {
            // Every range of the compiled table, weighted by its size; gaps are split into
            // aligned blocks so each gets its own not-found reason, as a tree walk gives.
            let mut counts = RecordCounts::new(table.record_count());
            for (start, size, id) in table.ranges() {
                if !counts.add(id, size) {
                    let (first, last) =
                        (u128::from(start), u128::from(start) + u128::from(size) - 1);
                    for (a, b, reason) in crate::locate::unlocated_parts(first, last, false) {
                        total.add_not_found(V4, reason, b - a + 1);
                    }
                }
            }
            fold_table_counts(&mut total, &table, &counts);
            total.counters.parsed += 1;
            total.counters.records[V4] += 1;
            total.counters.prefixes[V4] += 1;
            continue;
        }
        // Split the space into 256 parts so both cores walk the tree.
        let parts: Vec<IpNetwork> = (0..=255u8)
            .filter_map(|b| match root {
                IpNetwork::V4(_) => {
                    IpNetwork::new(std::net::Ipv4Addr::new(b, 0, 0, 0).into(), 8).ok()
                }
                IpNetwork::V6(_) => IpNetwork::new(
                    std::net::Ipv6Addr::new(u16::from(b) << 8, 0, 0, 0, 0, 0, 0, 0).into(),
                    8,
                )
                .ok(),
            })
            .collect();
        let tally = parts
            .par_iter()
            .try_fold(
                || {
                    let mut w = Worker::new(atlas, &options, &[], None);
                    w.whole_db = true;
                    w
                },
                |mut w, part| {
                    w.prefix(*part, fam)?;
                    Ok::<_, Error>(w)
                },
            )
            .map(|w| w.map(|w| w.tally))
            .try_reduce(Tally::new, |mut a, b| {
                a.merge(&b);
                Ok(a)
            })?;
        total.merge(&tally);
        total.counters.parsed += 1;
        total.counters.records[fam] += 1;
        total.counters.prefixes[fam] += 1;
    }
    total.checked()
}

/// Items at least this many are worth the compiled IPv4 table (built or from the cache).
const TABLE_ITEMS: usize = 200_000;

/// Counts values already in memory on all pool threads, one worker per thread: `feed`
/// hands one value to a worker. The compiled IPv4 table is used when `options.lookup`
/// asks for it, or (`Auto`) when there are many values.
fn count_parallel<T: Sync>(
    atlas: &Atlas,
    values: &[T],
    options: &RunOptions,
    feed: impl Fn(&mut Worker<'_>, &T) -> Result<()> + Sync,
) -> Result<Tally> {
    let wants_table = match options.lookup {
        LookupStrategy::Tree => false,
        LookupStrategy::Table => true,
        LookupStrategy::Auto => values.len() >= TABLE_ITEMS,
    };
    let table = if wants_table && atlas.covers(false) {
        atlas.ipv4_table(options.cache_dir.as_deref(), &AtomicBool::new(false))?
    } else {
        None
    };
    let (mut total, counts) = values
        .par_chunks(4096)
        .try_fold(
            || Worker::new(atlas, options, &[], None).with_table(table.as_ref()),
            |mut w, chunk| {
                for v in chunk {
                    feed(&mut w, v)?;
                }
                Ok::<_, Error>(w)
            },
        )
        .map(|w| w.map(Worker::finish))
        .try_reduce(
            || (Tally::new(), RecordCounts::default()),
            |(mut ta, mut ca), (tb, cb)| {
                ta.merge(&tb);
                ca.merge(cb);
                Ok((ta, ca))
            },
        )?;
    if let Some(t) = &table {
        fold_table_counts(&mut total, t, &counts);
    }
    total.counters.lines += values.len() as u64;
    total.checked()
}

impl Atlas {
    /// Counts addresses and prefixes already parsed (no text round trip), in parallel.
    ///
    /// ```
    /// use ipatlas::input::Item;
    /// use ipatlas::locate::{Atlas, OpenOptions};
    /// use ipatlas::pipeline::RunOptions;
    /// use ipatlas::tally::Unit;
    ///
    /// let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
    /// let items = [Item::Addr("8.8.8.8".parse().unwrap()), Item::Addr("1.1.1.1".parse().unwrap())];
    /// let tally = atlas.aggregate_items(&items, &RunOptions::default())?;
    /// assert_eq!(tally.located_unit(Unit::Addresses).found, 2);
    /// # Ok::<(), ipatlas::Error>(())
    /// ```
    pub fn aggregate_items(&self, items: &[Item], options: &RunOptions) -> Result<Tally> {
        count_parallel(self, items, options, |w, item| w.item(*item))
    }

    /// Counts IPv4 addresses given as integers (`u32`, as in numpy arrays of addresses),
    /// in parallel, through the compiled table for large batches.
    ///
    /// ```
    /// use ipatlas::locate::{Atlas, OpenOptions};
    /// use ipatlas::pipeline::RunOptions;
    ///
    /// let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
    /// let ips: Vec<u32> = (0..1000u32).map(|i| 0x0808_0000 | i).collect(); // 8.8.0.0 up
    /// let tally = atlas.aggregate_ipv4(&ips, &RunOptions::default())?;
    /// assert_eq!(tally.countries(ipatlas::tally::Unit::Addresses)[0].1, 1000);
    /// # Ok::<(), ipatlas::Error>(())
    /// ```
    pub fn aggregate_ipv4(&self, ips: &[u32], options: &RunOptions) -> Result<Tally> {
        count_parallel(self, ips, options, |w, ip| {
            w.item(Item::Addr(std::net::IpAddr::V4((*ip).into())))
        })
    }

    /// Counts the records in text lines (addresses, prefixes, or what `options.mode`
    /// reads), as a file with these lines would be counted.
    ///
    /// ```
    /// use ipatlas::locate::{Atlas, OpenOptions};
    /// use ipatlas::pipeline::RunOptions;
    ///
    /// let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
    /// let tally = atlas.aggregate_lines(["8.8.8.8", "2001:4860::/32", "bogus"], &RunOptions::default())?;
    /// assert_eq!(tally.counters.invalid_total(), 1);
    /// # Ok::<(), ipatlas::Error>(())
    /// ```
    pub fn aggregate_lines<L: AsRef<[u8]>>(
        &self,
        lines: impl IntoIterator<Item = L>,
        options: &RunOptions,
    ) -> Result<Tally> {
        let mut text = Vec::new();
        for line in lines {
            text.extend_from_slice(line.as_ref());
            text.push(b'\n');
        }
        self.aggregate_reader("lines", std::io::Cursor::new(text), options)
    }

    /// Counts the records read from any reader (gzip and zstd are recognised, as for
    /// files); `name` is used in messages.
    pub fn aggregate_reader(
        &self,
        name: &str,
        reader: impl std::io::Read + Send + 'static,
        options: &RunOptions,
    ) -> Result<Tally> {
        aggregate(self, &[Input::reader(name, reader)], options, None)
    }
}

/// Runs `consume` over the chunks of all inputs, read by a separate thread. `consume` may
/// send spent chunk buffers back through the second argument for the reader to reuse.
/// Returns what `consume` returned and the number of inputs that ended in damage (only
/// under `--keep-going`; otherwise damage is an error).
fn with_chunks<T: Send>(
    inputs: &[Input],
    options: &RunOptions,
    consume: impl FnOnce(Receiver<Work>, Sender<Vec<u8>>) -> Result<T> + Send,
) -> Result<(T, u64)> {
    let threads = rayon::current_num_threads().max(1);
    let (tx, rx) = sync_channel::<Work>(threads * 2);
    let (recycle_tx, recycle_rx) = channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let fresh = || recycle_rx.try_recv().unwrap_or_default();
            read_all(inputs, options, fresh, |w| tx.send(w).is_ok())
        });
        let consumed = consume(rx, recycle_tx);
        // The reader ends by itself: either at the end of input or when its channel closes.
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the input reader thread failed".into())));
        match (consumed, read) {
            (Err(e), _) | (Ok(_), Err(e)) => Err(e),
            (Ok(v), Ok(damaged)) => Ok((v, damaged)),
        }
    })
}

fn read_all(
    inputs: &[Input],
    options: &RunOptions,
    mut fresh: impl FnMut() -> Vec<u8>,
    mut send: impl FnMut(Work) -> bool,
) -> Result<u64> {
    let raw = Arc::new(AtomicU64::new(0));
    let observer = &options.observer;
    let total_bytes = if observer.active() {
        known_input_bytes(inputs)
    } else {
        None
    };
    let mut seq = 0u64;
    let mut lines = 0u64;
    let mut damaged = 0u64;
    for (i, input) in inputs.iter().enumerate() {
        let name = &input.name();
        let reader = source::open(input, raw.clone())?;
        let mut column: Option<Option<usize>> = None;
        let mut open = true;
        let end = source::chunk_input(
            i,
            name,
            reader,
            &mut seq,
            options.keep_going,
            &mut fresh,
            |chunk| {
                let col = *column.get_or_insert_with(|| resolve_column(&options.mode, &chunk));
                if col.is_none() && matches!(options.mode, InputMode::Column { .. }) {
                    return false;
                }
                // Lines are counted for progress only: workers count them anyway.
                if observer.active() {
                    lines += memchr::memchr_iter(b'\n', &chunk.data).count() as u64;
                    observer.progress(crate::observe::Progress {
                        bytes: raw.load(Ordering::Relaxed),
                        total_bytes,
                        lines,
                    });
                }
                open = send(Work { chunk, column: col });
                open
            },
        )?;
        if let source::InputEnd::Damaged { error, .. } = end {
            damaged += 1;
            observer.warning(&crate::observe::Warning::DamagedInput {
                input: name.clone(),
                error: error.to_string(),
            });
        }
        if let (
            InputMode::Column {
                column: ColumnSpec::Name(n),
                ..
            },
            Some(None),
        ) = (&options.mode, column)
        {
            return Err(Error::Usage(format!(
                "{name}: no column named {n:?} in the header line"
            )));
        }
        if !open {
            break;
        }
    }
    observer.finished();
    Ok(damaged)
}

/// The total size of the inputs when all are regular files; `None` for stdin, pipes and
/// anything whose size cannot be known in advance.
fn known_input_bytes(inputs: &[Input]) -> Option<u64> {
    inputs
        .iter()
        .try_fold(0u64, |sum, i| i.file_size().map(|n| sum + n))
}

fn resolve_column(mode: &InputMode, first: &input::Chunk) -> Option<usize> {
    match mode {
        InputMode::Column {
            column: ColumnSpec::Name(name),
            delimiter,
        } => {
            let header = first.data.split(|b| *b == b'\n').next().unwrap_or(&[]);
            input::column_index(input::trim(header), *delimiter, name)
        }
        InputMode::Column {
            column: ColumnSpec::Index(i),
            ..
        } => Some(*i),
        _ => None,
    }
}

/// One worker's state: its tally and its record-key -> tally-slot cache.
struct Worker<'a> {
    atlas: &'a Atlas,
    options: &'a RunOptions,
    inputs: &'a [Input],
    invalid: Option<&'a InvalidSink>,
    tally: Tally,
    slots: FxHashMap<RecordKey, u32>,
    /// Addresses counted per table record id (folded into places at the end).
    table_counts: RecordCounts,
    /// IPv4 addresses parsed but not yet looked up in the table (resolved in batches, so
    /// the cache misses of independent lookups overlap).
    batch: Vec<u32>,
    /// The table the counts refer to.
    table: Option<&'a Ipv4Table>,
    /// Walking the whole database: IPv6 space aliased to the IPv4 data is not counted
    /// again as IPv6 (see [`NotFound::Ipv4Alias`]).
    whole_db: bool,
}

impl<'a> Worker<'a> {
    fn new(
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
            tally: Tally::new(),
            slots: FxHashMap::default(),
            table_counts: RecordCounts::default(),
            batch: Vec::with_capacity(BATCH),
            table: None,
            whole_db: false,
        }
    }

    /// Looks IPv4 addresses up in `table` (batched), when there is one.
    fn with_table(mut self, table: Option<&'a Ipv4Table>) -> Self {
        if let Some(t) = table {
            self.table = Some(t);
            self.table_counts = RecordCounts::new(t.record_count());
        }
        self
    }

    fn chunk(&mut self, work: &Work, table: Option<&'a Ipv4Table>) -> Result<()> {
        if self.table.is_none()
            && let Some(t) = table
        {
            self.table = Some(t);
            self.table_counts = RecordCounts::new(t.record_count());
        }
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
            |line, event| {
                match event {
                    Event::Skip => self.tally.counters.skipped += 1,
                    Event::Item(item) => self.item(item)?,
                    Event::Invalid(reason, text) => {
                        self.tally.counters.invalid[reason.index()] += 1;
                        if reason == input::InvalidReason::NotAnAddress
                            && matches!(self.options.mode, InputMode::Lines)
                            && let Some(d) = separated_address(text)
                        {
                            self.tally.separated_addresses[d] += 1;
                        }
                        let shown =
                            String::from_utf8_lossy(&text[..text.len().min(200)]).into_owned();
                        if self.options.strict {
                            return Err(Error::Strict {
                                path: name.to_owned(),
                                line,
                                reason: reason.name(),
                                text: shown,
                            });
                        }
                        if let Some(w) = &mut rows {
                            let record = [name, &line.to_string(), reason.name(), &shown];
                            w.write_record(record)
                                .map_err(|e| Error::output("--invalid-out", e.into()))?;
                        }
                    }
                }
                Ok(())
            },
        )?;
        self.tally.counters.lines += lines;
        if let (Some(sink), Some(w)) = (self.invalid, rows) {
            let bytes = w
                .into_inner()
                .map_err(|e| Error::output("--invalid-out", e.into_error()))?;
            sink.submit(work.chunk.seq, bytes);
        }
        Ok(())
    }

    #[inline]
    fn item(&mut self, item: Item) -> Result<()> {
        match item {
            Item::Addr(std::net::IpAddr::V4(v4))
                if self.table.is_some() && self.options.family != Family::Ipv6 =>
            {
                self.batch.push(u32::from(v4));
                if self.batch.len() == BATCH {
                    self.flush_batch();
                }
                Ok(())
            }
            Item::Addr(ip) => {
                let ip = canonical(ip);
                let fam = if ip.is_ipv6() { V6 } else { V4 };
                if !self.count_record(fam) {
                    return Ok(());
                }
                match self.atlas.lookup(ip)? {
                    Lookup::Found(key, result) => {
                        let slot = self.slot(key, &result)?;
                        self.tally.add(slot, fam, 1);
                    }
                    Lookup::NotFound(reason) => {
                        self.tally.counters.not_found[fam][reason.index()] += 1
                    }
                }
                Ok(())
            }
            Item::Prefix(net) => {
                let net = canonical_network(net);
                let fam = if net.is_ipv6() { V6 } else { V4 };
                if !self.count_record(fam) {
                    return Ok(());
                }
                self.tally.counters.prefixes[fam] += 1;
                self.prefix(net, fam)
            }
        }
    }

    fn count_record(&mut self, fam: usize) -> bool {
        if !self.options.family.allows(fam) {
            self.tally.counters.excluded += 1;
            return false;
        }
        self.tally.counters.parsed += 1;
        self.tally.counters.records[fam] += 1;
        true
    }

    fn prefix(&mut self, net: IpNetwork, fam: usize) -> Result<()> {
        let atlas = self.atlas;
        let covered = atlas.covers(fam == V6);
        let whole_db = self.whole_db;
        let col = column(fam, true);
        atlas.for_each_network(net, |part| {
            match part.found {
                Some(_) if whole_db && part.aliased => {
                    self.tally
                        .add_not_found(col, NotFound::Ipv4Alias, part.weight);
                }
                Some((key, result)) => {
                    let slot = self.slot(key, &result)?;
                    self.tally.add(slot, col, part.weight);
                }
                None => {
                    for (reason, weight) in unlocated_weights(covered, fam, &part) {
                        self.tally.add_not_found(col, reason, weight);
                    }
                }
            }
            Ok(())
        })
    }

    /// Looks up the batched IPv4 addresses in the table and counts them per record, in
    /// three passes so that the cache misses of different addresses overlap instead of
    /// queueing behind each other: all index reads, then the few mixed /24s, then counts.
    fn flush_batch(&mut self) {
        let Some(table) = self.table else { return };
        let counters = &mut self.tally.counters;
        counters.parsed += self.batch.len() as u64;
        counters.records[V4] += self.batch.len() as u64;
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
                counters.not_found[V4][reason.index()] += 1;
            }
        }
        self.batch.clear();
    }

    /// Ends the worker: its tally, and its counts per table record (empty without a table).
    fn finish(mut self) -> (Tally, RecordCounts) {
        self.flush_batch();
        (self.tally, self.table_counts)
    }

    #[inline]
    fn slot(&mut self, key: RecordKey, result: &MmdbResult<'_>) -> Result<u32> {
        if let Some(slot) = self.slots.get(&key) {
            return Ok(*slot);
        }
        let place = self.atlas.place(key, result)?;
        let slot = self.tally.slot(place);
        self.slots.insert(key, slot);
        Ok(slot)
    }
}

/// Why part of a prefix was not located.
/// The unlocated weight of a walked network, by reason: split where reserved space begins
/// or ends (see [`crate::locate::unlocated_parts`]), so every path classifies alike.
fn unlocated_weights(
    covered: bool,
    fam: usize,
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

fn unlocated_reason(covered: bool, fam: usize, network: IpNetwork) -> NotFound {
    if !covered {
        if fam == V6 {
            NotFound::NoIpv6Database
        } else {
            NotFound::NoIpv4Database
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
struct RecordCounts {
    counts: Vec<u64>,
    blocks: Vec<bool>,
}

/// Records per touched-flag: 512 counts are one 4 KiB page.
const BLOCK_SHIFT: u32 = 9;

impl RecordCounts {
    fn new(records: usize) -> Self {
        RecordCounts {
            counts: vec![0; records],
            blocks: vec![false; (records >> BLOCK_SHIFT) + 1],
        }
    }

    /// Adds to a record's count; false when `id` is not a record (a gap in the table).
    #[inline]
    fn add(&mut self, id: u32, n: u64) -> bool {
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
    fn touched(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
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
    fn merge(&mut self, other: RecordCounts) {
        if self.counts.is_empty() {
            *self = other;
            return;
        }
        for (id, n) in other.touched() {
            self.add(id, n);
        }
    }
}

/// Adds counts per table record to a tally (each record's place was decoded when the
/// table was built).
fn fold_table_counts(tally: &mut Tally, table: &Ipv4Table, counts: &RecordCounts) {
    for (id, n) in counts.touched() {
        let slot = tally.slot(*table.place(id));
        tally.add(slot, V4, u128::from(n));
    }
}

/// Inputs smaller than this (regular files, in bytes) use the search tree only.
const SMALL_INPUT: u64 = 4 << 20;
/// Inputs at least this large build the compiled table before reading.
const LARGE_INPUT: u64 = 32 << 20;

/// IPv4 addresses resolved together in the table.
const BATCH: usize = 256;

/// Output format of `lookup`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RowFormat {
    /// CSV with a header line.
    #[default]
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// One `lookup` row.
#[derive(serde::Serialize)]
struct Row<'a> {
    ip: &'a str,
    country: Option<&'a str>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_radius: Option<u32>,
    network: Option<String>,
    status: &'static str,
    reason: Option<&'static str>,
}

/// The header of `lookup`'s CSV output.
pub const LOOKUP_HEADER: &str =
    "ip,country,latitude,longitude,accuracy_radius,network,status,reason";

/// Resolves every record of the inputs and writes one row each, in input order.
/// Returns the run's counters (as a tally without places).
pub fn lookup(
    atlas: &Atlas,
    inputs: &[Input],
    options: &RunOptions,
    format: RowFormat,
    out: &mut (dyn Write + Send),
) -> Result<Tally> {
    let out_err = |e: std::io::Error| Error::output("-", e);
    if format == RowFormat::Csv {
        writeln!(out, "{LOOKUP_HEADER}").map_err(out_err)?;
    }
    let batch_len = rayon::current_num_threads().max(1) * 2;
    with_chunks(inputs, options, |rx, _| {
        let mut total = Tally::new();
        let mut rx = rx.into_iter().peekable();
        while rx.peek().is_some() {
            let batch: Vec<Work> = rx.by_ref().take(batch_len).collect();
            let rendered: Vec<(Vec<u8>, Tally)> = batch
                .par_iter()
                .map(|work| render_rows(atlas, options, inputs, work, format))
                .collect::<Result<_>>()?;
            for (bytes, tally) in rendered {
                out.write_all(&bytes).map_err(out_err)?;
                total.merge(&tally);
            }
        }
        out.flush().map_err(out_err)?;
        Ok(total)
    })
    .map(|(mut total, damaged)| {
        total.counters.truncated_inputs += damaged;
        total
    })
}

/// Like [`lookup`], for records given as text (command-line arguments).
pub fn lookup_text(
    atlas: &Atlas,
    text: &[u8],
    options: &RunOptions,
    format: RowFormat,
    out: &mut (dyn Write + Send),
) -> Result<Tally> {
    let out_err = |e: std::io::Error| Error::output("-", e);
    if format == RowFormat::Csv {
        writeln!(out, "{LOOKUP_HEADER}").map_err(out_err)?;
    }
    let chunk = input::Chunk {
        seq: 0,
        input: 0,
        first_line: 1,
        data: text.to_vec(),
        long_line: None,
    };
    let (bytes, tally) = render_rows(
        atlas,
        options,
        &[Input::reader("arguments", std::io::empty())],
        &Work {
            chunk,
            column: None,
        },
        format,
    )?;
    out.write_all(&bytes).map_err(out_err)?;
    out.flush().map_err(out_err)?;
    Ok(tally)
}

fn render_rows(
    atlas: &Atlas,
    options: &RunOptions,
    inputs: &[Input],
    work: &Work,
    format: RowFormat,
) -> Result<(Vec<u8>, Tally)> {
    let mut worker = Worker::new(atlas, options, inputs, None);
    let mut csv = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let mut jsonl: Vec<u8> = Vec::new();
    let mut emit = |row: Row<'_>| -> Result<()> {
        let err = |e: String| Error::output("-", std::io::Error::other(e));
        match format {
            RowFormat::Csv => csv.serialize(&row).map_err(|e| err(e.to_string())),
            RowFormat::Jsonl => {
                serde_json::to_writer(&mut jsonl, &row).map_err(|e| err(e.to_string()))?;
                jsonl.push(b'\n');
                Ok(())
            }
        }
    };
    let name = inputs
        .get(work.chunk.input)
        .map_or_else(|| "-".to_owned(), Input::name);
    let name = name.as_str();
    let lines = input::scan(&work.chunk, &options.mode, work.column, |line, event| {
        match event {
            Event::Skip => worker.tally.counters.skipped += 1,
            Event::Invalid(reason, text) => {
                worker.tally.counters.invalid[reason.index()] += 1;
                let shown = String::from_utf8_lossy(&text[..text.len().min(200)]).into_owned();
                if options.strict {
                    return Err(Error::Strict {
                        path: name.to_owned(),
                        line,
                        reason: reason.name(),
                        text: shown,
                    });
                }
                emit(Row {
                    ip: &shown,
                    country: None,
                    latitude: None,
                    longitude: None,
                    accuracy_radius: None,
                    network: None,
                    status: "invalid",
                    reason: Some(reason.name()),
                })?;
            }
            Event::Item(Item::Addr(ip)) => {
                let ip = canonical(ip);
                let fam = if ip.is_ipv6() { V6 } else { V4 };
                let text = ip.to_string();
                // One row per record, so rows stay aligned with the input.
                if !worker.count_record(fam) {
                    return emit(excluded_row(&text));
                }
                match atlas.lookup(ip)? {
                    Lookup::Found(key, result) => {
                        let slot = worker.slot(key, &result)?;
                        worker.tally.add(slot, fam, 1);
                        let place = atlas.place(key, &result)?;
                        let network = result.network().ok().map(|n| n.to_string());
                        emit(found_row(&text, &place, network))?;
                    }
                    Lookup::NotFound(reason) => {
                        worker.tally.counters.not_found[fam][reason.index()] += 1;
                        emit(Row {
                            ip: &text,
                            country: None,
                            latitude: None,
                            longitude: None,
                            accuracy_radius: None,
                            network: None,
                            status: "not_found",
                            reason: Some(reason.name()),
                        })?;
                    }
                }
            }
            Event::Item(Item::Prefix(net)) => {
                let net = canonical_network(net);
                let fam = if net.is_ipv6() { V6 } else { V4 };
                let text = net.to_string();
                if !worker.count_record(fam) {
                    return emit(excluded_row(&text));
                }
                worker.tally.counters.prefixes[fam] += 1;
                let col = column(fam, true);
                let covered = atlas.covers(fam == V6);
                // Rows list the database's own networks: the mirrors of the IPv4 data in
                // aliased IPv6 space are listed only when the query lies in that space.
                let query_aliased =
                    matches!(net, IpNetwork::V6(n) if crate::locate::in_ipv4_alias(n));
                atlas.for_each_network(net, |part| match part.found {
                    _ if part.aliased && !query_aliased => Ok(()),
                    Some((key, result)) => {
                        let place = atlas.place(key, &result)?;
                        let slot = worker.slot(key, &result)?;
                        worker.tally.add(slot, col, part.weight);
                        emit(found_row(&text, &place, Some(part.network.to_string())))
                    }
                    None => {
                        let reason = unlocated_reason(covered, fam, part.network);
                        worker.tally.add_not_found(col, reason, part.weight);
                        emit(Row {
                            ip: &text,
                            country: None,
                            latitude: None,
                            longitude: None,
                            accuracy_radius: None,
                            network: Some(part.network.to_string()),
                            status: "not_found",
                            reason: Some(reason.name()),
                        })
                    }
                })?;
            }
        }
        Ok(())
    })?;
    worker.tally.counters.lines += lines;
    let bytes = match format {
        RowFormat::Csv => csv
            .into_inner()
            .map_err(|e| Error::output("-", e.into_error()))?,
        RowFormat::Jsonl => jsonl,
    };
    Ok((bytes, worker.tally))
}

/// Which separator (0: tab, 1: comma) ends an address at the start of `line`, if one does:
/// the line is a table row read without `--column`.
fn separated_address(line: &[u8]) -> Option<usize> {
    [b'\t', b','].iter().position(|&d| {
        memchr::memchr(d, line)
            .is_some_and(|at| input::parse_item(input::trim(&line[..at])).is_ok())
    })
}

/// The row of a record left out by `--family`.
fn excluded_row(ip: &str) -> Row<'_> {
    Row {
        ip,
        country: None,
        latitude: None,
        longitude: None,
        accuracy_radius: None,
        network: None,
        status: "excluded",
        reason: Some("family"),
    }
}

fn found_row<'a>(ip: &'a str, place: &'a crate::locate::Place, network: Option<String>) -> Row<'a> {
    Row {
        ip,
        country: place.country.as_ref().map(|c| c.as_str()),
        latitude: place.lat,
        longitude: place.lon,
        accuracy_radius: place.accuracy_radius,
        network,
        status: "found",
        reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_counts_merge_what_each_worker_touched() {
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
}
