//! The library's error type, and the process exit code each kind of error maps to.

use std::io;

/// Process exit codes; documented in the README ("Exit codes").
pub mod exit {
    /// The run completed (invalid records, if any, are counted in the summary).
    pub const OK: u8 = 0;
    /// An input could not be read or an output could not be written.
    pub const IO: u8 = 1;
    /// Bad usage, or a database or tally that is missing, corrupt or of the wrong kind.
    pub const BAD_DATA: u8 = 2;
    /// `--strict` was given and an invalid record was found.
    pub const STRICT: u8 = 3;
}

/// Everything that can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database file is missing, truncated, corrupt, or not a MaxMind DB.
    #[error("database {path}: {message}")]
    Database {
        /// The file (or "embedded").
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// An input could not be opened or read.
    #[error("input {path}: {source}")]
    Input {
        /// The input file, or "-" for stdin.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An output could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The output file, or "-" for stdout.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The command line asked for something that cannot be done.
    #[error("{0}")]
    Usage(String),
    /// `--strict` and an invalid record.
    #[error("{path}:{line}: invalid record ({reason}): {text:?}")]
    Strict {
        /// The input file.
        path: String,
        /// 1-based line number.
        line: u64,
        /// The reason's name, as in the summary.
        reason: &'static str,
        /// The record's text (shortened if long).
        text: String,
    },
    /// A basemap shapefile that cannot be used.
    #[error("basemap {path}: {message}")]
    Basemap {
        /// The shapefile.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A count that would not fit in its counter (merging crafted tallies, say).
    #[error("{0}")]
    Overflow(String),
    /// A tally file that cannot be used.
    #[error("tally {path}: {message}")]
    Tally {
        /// The tally file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

impl Error {
    /// The exit code for this error.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input { .. } | Error::Output { .. } => exit::IO,
            Error::Database { .. }
            | Error::Usage(_)
            | Error::Overflow(_)
            | Error::Tally { .. }
            | Error::Basemap { .. } => exit::BAD_DATA,
            Error::Strict { .. } => exit::STRICT,
        }
    }

    /// True when the error is a closed pipe on output (`ipatlas ... | head`), which is not a failure.
    #[must_use]
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }

    pub(crate) fn database(path: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Error::Database {
            path: path.into(),
            message: err.to_string(),
        }
    }

    /// An error writing the output the user named. The `tempfile` crate appends the
    /// temporary file's path to its errors (`... at path "/d/.ipatlas-8Ydnml.tmp"`); a name
    /// the user never gave does not belong in a message, so that suffix is cut.
    pub(crate) fn output(path: impl Into<String>, source: io::Error) -> Self {
        let text = source.to_string();
        let source = match (source.raw_os_error(), text.find(" at path \"")) {
            (None, Some(cut)) => io::Error::new(source.kind(), text[..cut].to_owned()),
            _ => source,
        };
        Error::Output {
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
