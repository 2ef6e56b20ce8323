//! How a run reports what it is doing without printing: progress and warnings go to an
//! [`Observer`] the caller supplies. The command line draws a progress bar and writes
//! warnings on stderr; a program embedding the library may log them, or pass none and hear
//! nothing.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// How far a run over inputs has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes read from the inputs so far (before decompression).
    pub bytes: u64,
    /// Their total size, when every input is a regular file.
    pub total_bytes: Option<u64>,
    /// Lines read so far.
    pub lines: u64,
}

/// Something a caller should know that does not stop the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// A damaged compressed input (truncated or corrupt) was counted up to the damage, as
    /// [`crate::pipeline::RunOptions::keep_going`] asked.
    DamagedInput {
        /// The input's name.
        input: String,
        /// What was wrong.
        error: String,
    },
    /// A cached compiled table was not used.
    CacheRefused {
        /// The cache file.
        path: PathBuf,
        /// Why.
        reason: String,
        /// True when the file is rebuilt and replaced; false when it is left alone (it is
        /// not safe to trust or replace) and the table is built in memory.
        replaced: bool,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::DamagedInput { input, error } => {
                write!(f, "{input}: {error}; counted up to there")
            }
            Warning::CacheRefused {
                path,
                reason,
                replaced,
            } => write!(
                f,
                "not using the cached table {}: {reason}; {}",
                path.display(),
                if *replaced {
                    "rebuilding it"
                } else {
                    "building it in memory and leaving the file alone"
                }
            ),
        }
    }
}

/// Receives a run's progress and warnings. Every method has a default that does nothing.
pub trait Observer: Send + Sync {
    /// Called as inputs are read (about once per 4 MiB chunk).
    fn progress(&self, _progress: Progress) {}
    /// Called once when all inputs have been read.
    fn finished(&self) {}
    /// Called for each warning, as it happens.
    fn warning(&self, _warning: &Warning) {}
}

/// An optional, shared [`Observer`]: what options and the [`crate::Atlas`] hold.
#[derive(Clone, Default)]
pub struct Observers(Option<Arc<dyn Observer>>);

impl Observers {
    /// Reports to `observer`.
    #[must_use]
    pub fn new(observer: Arc<dyn Observer>) -> Self {
        Observers(Some(observer))
    }

    /// True when someone listens (progress that costs work to compute can be skipped).
    #[must_use]
    pub fn active(&self) -> bool {
        self.0.is_some()
    }

    /// Reports progress.
    pub fn progress(&self, progress: Progress) {
        if let Some(o) = &self.0 {
            o.progress(progress);
        }
    }

    /// Reports the end of reading.
    pub fn finished(&self) {
        if let Some(o) = &self.0 {
            o.finished();
        }
    }

    /// Reports a warning.
    pub fn warning(&self, warning: &Warning) {
        if let Some(o) = &self.0 {
            o.warning(warning);
        }
    }
}

impl fmt::Debug for Observers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observers(some)"
        } else {
            "Observers(none)"
        })
    }
}
