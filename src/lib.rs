//! ipatlas: resolve large lists of IP addresses against MaxMind-DB-format geolocation
//! databases and aggregate them into per-country and per-grid-cell counts, maps and GeoJSON.
//!
//! ```
//! use ipatlas::locate::{Atlas, OpenOptions};
//! use ipatlas::pipeline::RunOptions;
//! use ipatlas::tally::Unit;
//!
//! // `.mmdb` files, CSV databases, or the embedded DB-IP country database.
//! let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
//! let tally = atlas.aggregate_lines(["8.8.8.8", "1.1.1.1", "2001:4860::/32"], &RunOptions::default())?;
//! for (country, n) in tally.countries(Unit::Addresses) {
//!     println!("{country}: {n} addresses");
//! }
//! // IPv6 prefixes count /64 subnets, never added to addresses.
//! assert_eq!(tally.located_unit(Unit::Subnets64).found, 1 << 32);
//! # Ok::<(), ipatlas::Error>(())
//! ```
//!
//! Data flows one way: [`input`] (sources, chunks, parsing) → [`locate`] (address → place,
//! [`Atlas`]) → [`tally`] (mergeable counts, [`Tally`]) → [`outputs`] (tables, summary,
//! GeoJSON, shapefiles) and [`render`] (maps). [`pipeline`] drives the parallel run over
//! inputs ([`input::Input`]: files, stdin, any reader) and counts addresses already in
//! memory ([`Atlas::aggregate_items`], [`Atlas::aggregate_ipv4`]). [`formats`] reads and
//! writes database files (CSV databases, `.mmdb`), [`basemap`] the country polygons,
//! [`sample`] draws synthetic dumps. Progress and warnings go to an [`observe::Observer`];
//! errors are [`Error`] values with an [`ErrorKind`].
//!
//! The command line (`src/cli/`) is the binary's alone: the library never prints, exits or
//! reads the process's arguments.

pub mod basemap;
pub mod error;
pub mod formats;
pub mod geometry;
pub mod input;
pub mod locate;
pub mod observe;
pub mod outputs;
pub mod pipeline;
pub mod render;
pub mod sample;
pub mod tally;
pub mod util;

pub use error::{Error, ErrorKind, Result};
pub use input::Family;
pub use locate::{Atlas, Database, Place};
pub use tally::Tally;
