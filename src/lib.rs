//! ipatlas: resolve large lists of IP addresses against MaxMind-DB-format geolocation
//! databases and aggregate them into per-country and per-grid-cell counts.
//!
//! Data flows one way: [`input`] (sources, chunks, parsing) → [`locate`] (address → place)
//! → [`tally`] (mergeable counts) → [`export`] (tables, summary, tally file).
//! [`pipeline`] drives the parallel run. The command line (`src/cli/`) is the binary's
//! alone: the library never prints, exits or reads the process's arguments.

pub mod basemap;
pub mod error;
pub mod export;
pub mod formats;
pub mod input;
pub mod locate;
pub mod observe;
pub mod pipeline;
pub mod render;
pub mod sample;
pub mod tally;
pub mod util;

pub use error::{Error, ErrorKind, Result};
pub use locate::{Atlas, Database, Place};
pub use tally::Tally;
