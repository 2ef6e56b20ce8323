//! Binning coordinates: the regular latitude/longitude grid and H3 resolutions.

use crate::error::{Error, Result};

/// Parses an H3 resolution (0 to 15).
pub fn h3_resolution(res: u8) -> Result<h3o::Resolution> {
    h3o::Resolution::try_from(res).map_err(|_| Error::Option {
        name: "h3_res",
        message: format!("must be 0 to 15, got {res}"),
    })
}

/// A regular latitude/longitude grid of square cells, aligned on -90/-180.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CellGrid {
    deg: f64,
    rows: u32,
    cols: u32,
}

impl CellGrid {
    /// Smallest cell size, in degrees.
    pub const MIN_DEG: f64 = 0.01;

    /// A grid of `deg`-degree cells (0.01 to 180).
    pub fn new(deg: f64) -> Result<Self> {
        if !deg.is_finite() || !(Self::MIN_DEG..=180.0).contains(&deg) {
            return Err(Error::Option {
                name: "cell",
                message: format!(
                    "must be between {} and 180 degrees, got {deg:?}",
                    Self::MIN_DEG
                ),
            });
        }
        let count = |span: f64| ((span / deg) - 1e-9).ceil().max(1.0) as u32;
        Ok(CellGrid {
            deg,
            rows: count(180.0),
            cols: count(360.0),
        })
    }

    /// Cell size in degrees.
    #[must_use]
    pub fn deg(&self) -> f64 {
        self.deg
    }

    /// The (row, column) holding a coordinate. Cells are half-open
    /// `[lat_min, lat_min+deg) x [lon_min, lon_min+deg)`; latitude 90 falls in the top row
    /// and longitude 180 in the last column. A coordinate within 1e-9 of a cell edge
    /// counts as on it (so 0.1-degree cells put -89.9 in row 1, as decimal arithmetic would).
    #[must_use]
    pub fn cell(&self, lat: f64, lon: f64) -> (u32, u32) {
        let index = |v: f64, n: u32| {
            let q = (v / self.deg + 1e-9).floor();
            if q < 0.0 { 0 } else { (q as u32).min(n - 1) }
        };
        (index(lat + 90.0, self.rows), index(lon + 180.0, self.cols))
    }

    /// `(lat_min, lon_min, lat_max, lon_max)` of a cell, in degrees, clipped to the globe.
    #[must_use]
    pub fn bounds(&self, row: u32, col: u32) -> (f64, f64, f64, f64) {
        let lat0 = -90.0 + f64::from(row) * self.deg;
        let lon0 = -180.0 + f64::from(col) * self.deg;
        (
            lat0,
            lon0,
            (lat0 + self.deg).min(90.0),
            (lon0 + self.deg).min(180.0),
        )
    }
}

// ---------------------------------------------------------------------------------------
// The tally file.
