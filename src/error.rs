//! The library's error type: one value per failure, with the path or flag it concerns, its
//! cause kept (`source()`), and a [`ErrorKind`] a caller can match on.

use std::io;

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
    /// An option out of its range: `name` is the option's name in the library
    /// (`width`, `bbox`, `h3_res`, `cell`, `ipv6_share`), which a command line maps to its flag.
    #[error("{name} {message}")]
    Option {
        /// The option.
        name: &'static str,
        /// What is wrong, starting with a verb ("must be 64 to 16384 pixels, got 10").
        message: String,
    },
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
    /// Something that should not happen whatever the input: a worker thread that panicked,
    /// an allocation that failed, an embedded resource that cannot be read.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What kind of failure an [`Error`] is, for callers that act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller asked for something that cannot be done (options, arguments), or an
    /// input record is invalid under strict reading, or a basemap cannot be used.
    InvalidInput,
    /// A database is missing, corrupt or of the wrong kind.
    Database,
    /// Reading an input or writing an output failed.
    Io,
    /// A tally file is damaged or of another format, or counts would overflow.
    Tally,
    /// A bug or an exhausted resource, not the caller's input.
    Internal,
}

impl Error {
    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Input { .. } | Error::Output { .. } => ErrorKind::Io,
            Error::Database { .. } => ErrorKind::Database,
            Error::Usage(_)
            | Error::Option { .. }
            | Error::Strict { .. }
            | Error::Basemap { .. } => ErrorKind::InvalidInput,
            Error::Overflow(_) | Error::Tally { .. } => ErrorKind::Tally,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// True when the error is a closed pipe on output (`ipatlas ... | head`), which is not a failure.
    #[must_use]
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }

    /// An error about a database (the file, or its contents).
    pub fn database(path: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Error::Database {
            path: path.into(),
            message: err.to_string(),
        }
    }

    /// An error writing the output the user named. The `tempfile` crate appends the
    /// temporary file's path to its errors (`... at path "/d/.ipatlas-8Ydnml.tmp"`); a name
    /// the user never gave does not belong in a message, so that suffix is cut.
    pub fn output(path: impl Into<String>, source: io::Error) -> Self {
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
