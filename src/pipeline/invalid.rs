//! Invalid records written as CSV, in input order.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

/// Writes invalid records as CSV (`input,line,reason,text`), in input order whatever the
/// order in which workers finish their chunks.
pub struct InvalidSink {
    state: Mutex<SinkState>,
}

pub(super) struct SinkState {
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

    pub(super) fn submit(&self, seq: u64, rows: Vec<u8>) {
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
