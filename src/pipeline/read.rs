//! The reader thread: inputs cut into line-aligned chunks for the workers, with progress.

use super::{RunOptions, Work};
use crate::error::{Error, Result};
use crate::input::{Input, source};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};

/// Runs `consume` over the chunks of all inputs, read by a separate thread. `consume` may
/// send spent chunk buffers back through the second argument for the reader to reuse.
/// Returns what `consume` returned and the number of inputs that ended in damage (only
/// under `--keep-going`; otherwise damage is an error).
pub(super) fn with_chunks<T: Send>(
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

pub(super) fn read_all(
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
        let mut column: Option<crate::input::Columns> = None;
        let mut open = true;
        let end = source::chunk_input(
            i,
            name,
            reader,
            &mut seq,
            options.keep_going,
            &mut fresh,
            |chunk| {
                let col = *column.get_or_insert_with(|| options.mode.columns_in(&chunk));
                if options.mode.missing_column(col).is_some() {
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
        if let Some(n) = column.and_then(|c| options.mode.missing_column(c)) {
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
pub(super) fn known_input_bytes(inputs: &[Input]) -> Option<u64> {
    inputs
        .iter()
        .try_fold(0u64, |sum, i| i.file_size().map(|n| sum + n))
}

/// The share of IPv6 lines (two colons, no dot) in the first 64 KiB of the first input, or
/// `None` when that cannot be sampled: only plain regular files are looked at (stdin, a
/// compressed or unreadable or empty input says nothing). It decides how addresses are
/// looked up, never what a run counts.
pub(super) fn ipv6_share(inputs: &[Input]) -> Option<f64> {
    use std::io::Read;
    let Some(Input::Path(path)) = inputs.first() else {
        return None;
    };
    let mut head = Vec::with_capacity(64 << 10);
    let file = std::fs::File::open(path).ok()?;
    if file.take(64 << 10).read_to_end(&mut head).is_err()
        || head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
    {
        return None;
    }
    let (mut v6, mut lines) = (0usize, 0usize);
    for line in head.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        lines += 1;
        let colons = line.iter().filter(|b| **b == b':').count();
        if colons >= 2 && !line.contains(&b'.') {
            v6 += 1;
        }
    }
    (lines > 0).then(|| v6 as f64 / lines as f64)
}
