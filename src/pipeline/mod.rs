//! The parallel run: a reader thread cuts inputs into chunks, rayon workers parse, locate and
//! tally them into per-worker tallies (no lock in the hot loop), which are merged at the end.

mod invalid;
mod lookup;
mod read;
mod values;
mod worker;

pub use invalid::InvalidSink;
pub use lookup::{LOOKUP_HEADER, LookupRow, RowFormat, Status, lookup, lookup_text, lookup_values};
use read::{known_input_bytes, with_chunks};
pub use values::Values;
use worker::{RecordCounts, Worker, fold_table_counts};

use crate::error::{Error, Result};
use crate::input::Family;
use crate::input::{self, Input, InputMode, Item};
use crate::locate::{Atlas, Ipv4Table, Ipv6Table};
use crate::tally::{Column, PlaceDetail, Tally};
use ipnetwork::IpNetwork;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

/// Which address families a run counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Families {
    /// IPv4 and IPv6.
    #[default]
    All,
    /// IPv4 only (IPv4-mapped IPv6 counts as IPv4).
    Ipv4,
    /// IPv6 only.
    Ipv6,
}

impl Families {
    /// Whether records of `family` are counted.
    #[must_use]
    pub fn allows(self, family: Family) -> bool {
        match self {
            Families::All => true,
            Families::Ipv4 => family == Family::Ipv4,
            Families::Ipv6 => family == Family::Ipv6,
        }
    }
}

/// Options of a run over inputs.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// How lines become records.
    pub mode: InputMode,
    /// Which families to count.
    pub family: Families,
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
    /// What the run's tally keeps of each place: [`PlaceDetail::Coarse`] when only
    /// countries, cells and summaries are wanted (faster: no city is ever named).
    pub detail: PlaceDetail,
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
    column: input::Columns,
}

/// Resolves all inputs into one tally.
pub fn aggregate(
    atlas: &Atlas,
    inputs: &[Input],
    options: &RunOptions,
    invalid: Option<&InvalidSink>,
) -> Result<Tally> {
    let table: OnceLock<std::sync::Arc<Ipv4Table>> = OnceLock::new();
    let cancel = AtomicBool::new(false);
    // The share of IPv6 in the first input's first 64 KiB: it decides how addresses are
    // looked up, never what a run counts.
    let ipv6_share = read::ipv6_share(inputs);
    let cache_dir = options.cache_dir.as_deref();
    let strategy = ipv4_strategy(atlas, inputs, ipv6_share, options);
    // The two tables a run wants before counting are loaded (or built) together.
    let (table6, table4) = rayon::join(
        || ipv6_table_for(atlas, inputs, ipv6_share, options),
        || match strategy {
            LookupStrategy::Table => atlas.ipv4_table(cache_dir, &cancel),
            _ => Ok(None),
        },
    );
    let table6 = table6?;
    if let Some(t) = table4? {
        let _ = table.set(t);
    }
    std::thread::scope(|scope| {
        let builder = (strategy == LookupStrategy::Auto && atlas.covers(Family::Ipv4)).then(|| {
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
                    if let Err(e) =
                        worker.chunk(&work, table.get().map(|t| &**t), table6.as_deref())
                    {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                    // Hand the buffer back to the reader: no allocator churn of 4 MiB blocks.
                    let _ = recycle.send(work.chunk.data);
                }
                worker.finish()
            });
            let mut total = Tally::with_detail(options.detail);
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
        tally.weight = options.mode.weight_name();
        tally.checked()
    })
}

/// Tallies the whole address space of the databases (the data behind the 2012
/// "Geo-Location of Global IP Addresses" map): every network weighted by its size. Of
/// `options`, the family, the cache directory and the place detail apply.
pub fn aggregate_whole_db(atlas: &Atlas, options: &RunOptions) -> Result<Tally> {
    let (family, cache_dir) = (options.family, options.cache_dir.as_deref());
    let options = RunOptions {
        family,
        detail: options.detail,
        ..RunOptions::default()
    };
    let mut roots: Vec<IpNetwork> = Vec::new();
    if family.allows(Family::Ipv4) && atlas.covers(Family::Ipv4) {
        roots.push(
            "0.0.0.0/0"
                .parse()
                .map_err(|_| Error::Internal("bad root network".into()))?,
        );
    }
    if family.allows(Family::Ipv6) && atlas.covers(Family::Ipv6) {
        roots.push(
            "::/0"
                .parse()
                .map_err(|_| Error::Internal("bad root network".into()))?,
        );
    }
    let mut total = Tally::with_detail(options.detail);
    for root in roots {
        let fam = Family::of_network(root);
        if fam == Family::Ipv4
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
                        total.add_not_found(Column::Ipv4, reason, b - a + 1);
                    }
                }
            }
            fold_table_counts(&mut total, &table, &counts);
            total.counters.parsed += 1;
            total.counters.records[Family::Ipv4.index()] += 1;
            total.counters.prefixes[Family::Ipv4.index()] += 1;
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
                    w.prefix(*part, fam, 1, |_, _| Ok(()))?;
                    Ok::<_, Error>(w)
                },
            )
            .map(|w| w.map(|w| w.tally))
            .try_reduce(
                || Tally::with_detail(options.detail),
                |mut a, b| {
                    a.merge(&b);
                    Ok(a)
                },
            )?;
        total.merge(&tally);
        total.counters.parsed += 1;
        total.counters.records[fam.index()] += 1;
        total.counters.prefixes[fam.index()] += 1;
    }
    total.checked()
}

/// How a run over `inputs` (whose first 64 KiB hold IPv6 lines in `share`) looks IPv4
/// addresses up, by input size: large regular files build the table first (it pays for
/// itself many times over); from 1 MiB (about 70,000 lines) a cached table is loaded first
/// (a load reads the file in place and takes a few hundredths of a second, which the tree
/// spends from about 50,000 lines on); other files under 4 MiB stay on the tree. `Auto`
/// remains for unknown sizes (stdin, pipes) and the band without a cached table: a run
/// that can starts on the tree while the table is made alongside.
fn ipv4_strategy(
    atlas: &Atlas,
    inputs: &[Input],
    share: Option<f64>,
    options: &RunOptions,
) -> LookupStrategy {
    let cache_dir = options.cache_dir.as_deref();
    match (options.lookup, known_input_bytes(inputs)) {
        // A run that counts no IPv4 has no use for the table.
        _ if options.family == Families::Ipv6 => LookupStrategy::Tree,
        // The compiled table is IPv4's: an input of mostly IPv6 would pay for it (loading or
        // building it takes both cores for a while) and barely use it.
        (LookupStrategy::Auto, _) if share.is_some_and(|v6| v6 * 3.0 > 2.0) => LookupStrategy::Tree,
        (LookupStrategy::Auto, Some(bytes))
            if bytes >= LARGE_INPUT
                || (bytes >= CACHED_INPUT && atlas.has_cached_ipv4_table(cache_dir)) =>
        {
            LookupStrategy::Table
        }
        (LookupStrategy::Auto, Some(bytes)) if bytes < SMALL_INPUT => LookupStrategy::Tree,
        (s, _) => s,
    }
}

/// The compiled IPv4 table for `lookup` rows over `inputs`: as [`ipv4_strategy`] decides,
/// the band in between staying on the tree (rows are written in order as they go, so a
/// table made alongside would come too late to matter).
pub(super) fn rows_table_for(
    atlas: &Atlas,
    inputs: &[Input],
    options: &RunOptions,
) -> Result<Option<std::sync::Arc<Ipv4Table>>> {
    let share = read::ipv6_share(inputs);
    match ipv4_strategy(atlas, inputs, share, options) {
        LookupStrategy::Table => {
            atlas.ipv4_table(options.cache_dir.as_deref(), &AtomicBool::new(false))
        }
        _ => Ok(None),
    }
}

/// The compiled IPv6 table for a run over `inputs` (whose first 64 KiB hold IPv6 lines in
/// `share`): when `options.lookup` asks for tables (and those lines are not all IPv4), or
/// (`Auto`) when the inputs' IPv6 lines (their size times `share`) come to [`CACHED_V6`]
/// and the cache holds the table, or to [`V6_BUILD`] (it is built and cached). On
/// GeoLite2-City (2 cores, IPv6 only, tree against cached table) 100,000 lines (3.9 MB)
/// take 0.062 s against 0.069 s, 300,000 lines (11.8 MB) 0.088 s against 0.085 s, a million
/// 0.21 s against 0.12 s; building the table takes a third of a second.
fn ipv6_table_for(
    atlas: &Atlas,
    inputs: &[Input],
    share: Option<f64>,
    options: &RunOptions,
) -> Result<Option<std::sync::Arc<Ipv6Table>>> {
    let cache_dir = options.cache_dir.as_deref();
    let wanted = match options.lookup {
        LookupStrategy::Tree => false,
        // Unless the input is seen to hold no IPv6 at all.
        LookupStrategy::Table => share.is_none_or(|s| s > 0.0),
        LookupStrategy::Auto => {
            let v6_bytes = known_input_bytes(inputs)
                .zip(share)
                .map_or(0.0, |(bytes, share)| bytes as f64 * share);
            v6_bytes >= V6_BUILD as f64
                || (v6_bytes >= CACHED_V6 as f64 && atlas.has_cached_ipv6_table(cache_dir))
        }
    };
    if wanted && options.family != Families::Ipv4 && atlas.covers(Family::Ipv6) {
        atlas.ipv6_table(cache_dir, &AtomicBool::new(false))
    } else {
        Ok(None)
    }
}

/// Items at least this many are worth the compiled IPv4 table (built or from the cache).
const TABLE_ITEMS: usize = 200_000;

/// The compiled IPv4 table for a run over `items` records in memory: when
/// `options.lookup` asks for it, or (`Auto`) when there are many.
pub(super) fn table_for(
    atlas: &Atlas,
    items: usize,
    options: &RunOptions,
) -> Result<Option<std::sync::Arc<Ipv4Table>>> {
    let wants_table = match options.lookup {
        LookupStrategy::Tree => false,
        LookupStrategy::Table => true,
        // Many records, or a table this atlas already holds (a process that counts
        // batch after batch: Spark and Dask workers).
        LookupStrategy::Auto => items >= TABLE_ITEMS || atlas.holds_ipv4_table(),
    };
    if wants_table && atlas.covers(Family::Ipv4) {
        atlas.ipv4_table(options.cache_dir.as_deref(), &AtomicBool::new(false))
    } else {
        Ok(None)
    }
}

/// Counts records already in memory on all pool threads, one worker per thread, in tasks
/// of [`values::VALUES_PER_TASK`] records: `feed` hands record `i` (of `len`) to a worker.
/// The compiled IPv4 table is used when `options.lookup` asks for it, or (`Auto`) when
/// there are many records.
fn count_parallel(
    atlas: &Atlas,
    len: usize,
    options: &RunOptions,
    feed: impl Fn(&mut Worker<'_>, usize) -> Result<()> + Sync,
) -> Result<Tally> {
    let table = table_for(atlas, len, options)?;
    // The IPv6 table for values in memory: when asked for, or already held (a process that
    // counts batch after batch).
    let wants6 = match options.lookup {
        LookupStrategy::Tree => false,
        LookupStrategy::Table => true,
        LookupStrategy::Auto => atlas.holds_ipv6_table(),
    };
    let table6 = if wants6 {
        atlas.ipv6_table(options.cache_dir.as_deref(), &AtomicBool::new(false))?
    } else {
        None
    };
    let per_task = values::VALUES_PER_TASK;
    let (mut total, counts) = (0..len.div_ceil(per_task))
        .into_par_iter()
        .try_fold(
            || {
                Worker::new(atlas, options, &[], None)
                    .with_table(table.as_deref())
                    .with_table6(table6.as_deref())
            },
            |mut w, task| {
                for i in task * per_task..len.min((task + 1) * per_task) {
                    feed(&mut w, i)?;
                }
                Ok::<_, Error>(w)
            },
        )
        .map(|w| w.and_then(Worker::finish))
        .try_reduce(
            || (Tally::with_detail(options.detail), RecordCounts::default()),
            |(mut ta, mut ca), (tb, cb)| {
                ta.merge(&tb);
                ca.merge(cb);
                Ok((ta, ca))
            },
        )?;
    if let Some(t) = &table {
        fold_table_counts(&mut total, t, &counts);
    }
    total.counters.lines += len as u64;
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
        count_parallel(self, items.len(), options, |w, i| match items.get(i) {
            Some(item) => w.item(*item),
            None => Ok(()),
        })
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
        count_parallel(self, ips.len(), options, |w, i| match ips.get(i) {
            Some(ip) => w.item(Item::Addr(std::net::IpAddr::V4((*ip).into()))),
            None => Ok(()),
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

    /// Counts the records read from any reader (gzip, zstd, bzip2 and xz are recognised, as
    /// for files); `name` is used in messages.
    pub fn aggregate_reader(
        &self,
        name: &str,
        reader: impl std::io::Read + Send + 'static,
        options: &RunOptions,
    ) -> Result<Tally> {
        aggregate(self, &[Input::reader(name, reader)], options, None)
    }
}

/// Inputs smaller than this (regular files, in bytes) use the search tree only, unless
/// the cache holds the table and they reach [`CACHED_INPUT`].
const SMALL_INPUT: u64 = 4 << 20;

/// Inputs at least this large load a cached IPv4 table first.
const CACHED_INPUT: u64 = 1 << 20;

/// IPv6 lines at least this large (bytes, about 200,000 lines) load a cached IPv6 table.
const CACHED_V6: u64 = 8 << 20;

/// IPv6 lines at least this large (bytes) build the compiled IPv6 table when no cache holds
/// it.
const V6_BUILD: u64 = 128 << 20;

/// Inputs at least this large build the compiled table before reading.
const LARGE_INPUT: u64 = 32 << 20;
