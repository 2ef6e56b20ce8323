//! ipatlas: resolve large lists of IP addresses against MaxMind-DB-format geolocation
//! databases and aggregate them into per-country and per-grid-cell counts.
//!
//! Data flows one way: [`input`] (sources, chunks, parsing) → [`locate`] (address → place)
//! → [`tally`] (mergeable counts) → [`export`] (tables, summary, tally file).
//! [`pipeline`] drives the parallel run; [`cli`] is the command line on top.

pub mod basemap;
pub mod cli;
pub mod error;
pub mod export;
pub mod formats;
pub mod input;
pub mod locate;
pub mod pipeline;
pub mod render;
pub mod sample;
pub mod signals;
pub mod tally;
pub mod util;

pub use error::{Error, Result};
pub use locate::{Atlas, Database, Place};
pub use tally::Tally;
