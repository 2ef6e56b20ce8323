//! What shapes a map: the heat layer's mode, the style, the colour map and the options.

use super::projection::{Bbox, ProjectionSpec};
use super::scale::ScaleKind;
use crate::error::{Error, Result};
use crate::tally::{CellGrid, Tally, Unit};

/// What the heat layer shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Mode {
    /// Every place's count in the pixel it projects to (datashader-style), with spread/blur.
    Points,
    /// Grid cells of `cell` degrees, filled in their projected shape.
    Cells,
    /// Countries filled by count (or per capita).
    Choropleth,
    /// H3 hexagons at `h3_res`.
    Hex,
}

/// What a choropleth fills: countries, or first-level subdivisions (states, provinces).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Level {
    /// Countries.
    #[default]
    Country,
    /// First-level subdivisions, where the map of subdivisions has polygons (the embedded
    /// US states, or `--basemap` with an admin-1 shapefile); other countries stay grey.
    Subdivision,
}

/// Colours of everything but the heat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Style {
    /// The 2012 look: near-black ocean, charcoal land, thin borders, glowing heat.
    Dark,
    /// For print: white ocean, pale land.
    Light,
}

/// The colour maps offered (from the `colorous` crate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Colormap {
    /// Matplotlib's inferno.
    Inferno,
    /// Matplotlib's magma.
    Magma,
    /// Matplotlib's viridis.
    Viridis,
    /// Matplotlib's plasma.
    Plasma,
    /// Google's turbo.
    Turbo,
    /// Cividis (colour-vision friendly).
    Cividis,
    /// ColorBrewer YlOrRd.
    #[cfg_attr(feature = "cli", value(name = "ylorrd"))]
    YlOrRd,
    /// ColorBrewer Blues.
    Blues,
    /// Cubehelix.
    Cubehelix,
}

impl Colormap {
    pub(super) fn gradient(self) -> colorous::Gradient {
        match self {
            Colormap::Inferno => colorous::INFERNO,
            Colormap::Magma => colorous::MAGMA,
            Colormap::Viridis => colorous::VIRIDIS,
            Colormap::Plasma => colorous::PLASMA,
            Colormap::Turbo => colorous::TURBO,
            Colormap::Cividis => colorous::CIVIDIS,
            Colormap::YlOrRd => colorous::YELLOW_ORANGE_RED,
            Colormap::Blues => colorous::BLUES,
            Colormap::Cubehelix => colorous::CUBEHELIX,
        }
    }
}

/// Everything that shapes a map.
#[derive(Clone, Debug)]
pub struct MapOptions {
    /// Projection and central meridian; by default chosen for the map's area
    /// ([`super::ProjectionKind::for_area`]) and centred on it.
    pub projection: ProjectionSpec,
    /// Image width in pixels; the height follows the projection's aspect.
    pub width: u32,
    /// Region to map; the whole world when `None`.
    pub bbox: Option<Bbox>,
    /// Heat layer.
    pub mode: Mode,
    /// Colour scale.
    pub scale: ScaleKind,
    /// Colour map; `None` picks one that suits the style.
    pub colormap: Option<Colormap>,
    /// Colours of the basemap and text.
    pub style: Style,
    /// Title above the map.
    pub title: Option<String>,
    /// Draw the title, subtitle, colour bar and attribution.
    pub legend: bool,
    /// Cell size in degrees for [`Mode::Cells`].
    pub cell: f64,
    /// Points mode: grow each lit pixel to a square of radius `spread` pixels (max filter).
    pub spread: u32,
    /// Points mode: Gaussian blur with this radius (sigma) in pixels; 0 for none.
    pub blur: f32,
    /// Choropleth: count per million people (the basemap's `POP_EST`).
    pub per_capita: bool,
    /// Leave out places whose accuracy radius is at least this many km.
    pub drop_coarse_km: Option<u32>,
    /// Draw lines of latitude and longitude every 30 degrees.
    pub graticule: bool,
    /// H3 resolution (0 to 15) for [`Mode::Hex`].
    pub h3_res: u8,
    /// What the heat layer counts (the other unit is never added in; the footer says how
    /// much of it there is).
    pub unit: Unit,
    /// Lines the caller adds above the attribution (`--note`: a source, a disclaimer),
    /// each wrapped to the image's width.
    pub captions: Vec<String>,
    /// The colour bar's label instead of the one the map's unit and mode give.
    pub legend_label: Option<String>,
    /// A world map in Mercator shows 85°S to 85°N (otherwise 70°S to 70°N: beyond, the
    /// projection gives most of the image to the poles).
    pub full_mercator: bool,
    /// What a choropleth fills.
    pub level: Level,
    /// A font for the characters the embedded DejaVu Sans lacks (`--font`).
    pub font: Option<super::text::FontFile>,
    /// A regional map (`bbox`) gets a scale bar (`--no-scale-bar` turns it off).
    pub scale_bar: bool,
    /// The print resolution in dots per inch (`--size`, `--dpi`): a PNG says it, so it
    /// prints at its size, and the report gives the size in millimetres.
    pub dpi: Option<f64>,
}

/// A printed width in millimetres, from `180mm`, `18cm` or `7in`.
pub fn print_width_mm(text: &str) -> Result<f64> {
    let bad = |why: &str| Error::Option {
        name: "size",
        message: format!("{text:?} {why}: say 180mm, 18cm or 7in"),
    };
    let t = text.trim();
    let (number, mm_per_unit) = if let Some(n) = t.strip_suffix("mm") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix("cm") {
        (n, 10.0)
    } else if let Some(n) = t.strip_suffix("in") {
        (n, 25.4)
    } else {
        return Err(bad("needs a unit"));
    };
    match number.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v * mm_per_unit),
        _ => Err(bad("is not a width")),
    }
}

/// A print resolution in dots per inch, 72 to 2400.
pub fn parse_dpi(text: &str) -> Result<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| (72.0..=2400.0).contains(v))
        .ok_or_else(|| Error::Option {
            name: "dpi",
            message: format!("takes a resolution from 72 to 2400 dots per inch, got {text:?}"),
        })
}

impl MapOptions {
    /// These options for print: `width_mm` wide at `dpi` (300 when only the width is
    /// given) sets the width in pixels; a resolution alone is only said in the file.
    pub fn printed(self, width_mm: Option<f64>, dpi: Option<f64>) -> Result<MapOptions> {
        let dpi = dpi.or(width_mm.map(|_| 300.0));
        let width = match (width_mm, dpi) {
            (Some(mm), Some(dpi)) => {
                let px = (mm / 25.4 * dpi).round();
                if !(64.0..=16_384.0).contains(&px) {
                    return Err(Error::Option {
                        name: "size",
                        message: format!(
                            "at {dpi} dpi, {mm} mm is {px} pixels: the image must be 64 to 16384 pixels wide"
                        ),
                    });
                }
                px as u32
            }
            _ => self.width,
        };
        Ok(MapOptions { width, dpi, ..self })
    }
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            projection: ProjectionSpec::default(),
            width: 1600,
            bbox: None,
            mode: Mode::Points,
            scale: ScaleKind::EqHist,
            colormap: None,
            style: Style::Dark,
            title: None,
            legend: true,
            cell: 1.0,
            spread: 1,
            blur: 0.0,
            per_capita: false,
            drop_coarse_km: None,
            graticule: false,
            h3_res: 3,
            unit: Unit::Addresses,
            captions: Vec::new(),
            legend_label: None,
            full_mercator: false,
            level: Level::Country,
            font: None,
            scale_bar: true,
            dpi: None,
        }
    }
}

impl MapOptions {
    /// The embedded basemap's detail this map needs: the world's, a region's, or full
    /// resolution for a city-scale box ([`crate::basemap::Detail::for_area`]).
    #[must_use]
    pub fn detail(&self) -> crate::basemap::Detail {
        crate::basemap::Detail::for_area(self.bbox.map(|b| b.side()))
    }

    /// Whether the map carries its title, colour bar and footer: asked for (`legend`), and
    /// wide enough to hold them ([`super::legend::MIN_TEXT_WIDTH`]).
    #[must_use]
    pub fn shows_text(&self) -> bool {
        self.legend && self.width >= super::legend::MIN_TEXT_WIDTH
    }

    /// Checks the options a map cannot be drawn with: width, blur, spread, cell size, H3
    /// resolution. [`crate::render::render`] checks them too; callers may check first.
    pub fn validate(&self) -> Result<()> {
        if !(64..=16_384).contains(&self.width) {
            return Err(Error::Option {
                name: "width",
                message: format!("must be 64 to 16384 pixels, got {}", self.width),
            });
        }
        if !(self.blur.is_finite() && (0.0..=100.0).contains(&self.blur)) {
            return Err(Error::Option {
                name: "blur",
                message: format!("must be 0 to 100 pixels, got {:?}", self.blur),
            });
        }
        if self.spread > 50 {
            return Err(Error::Option {
                name: "spread",
                message: format!("must be at most 50 pixels, got {}", self.spread),
            });
        }
        CellGrid::new(self.cell)?;
        crate::tally::h3_resolution(self.h3_res)?;
        Ok(())
    }
}

impl Unit {
    /// The unit a map or layer of `tally` shows when none is asked for: addresses when any
    /// were located, else /64 subnets when any were, else what the tally counted.
    #[must_use]
    pub fn default_for(tally: &Tally) -> Unit {
        Unit::ALL
            .into_iter()
            .find(|u| tally.located_unit(*u).found > 0)
            .or_else(|| tally.units().first().copied())
            .unwrap_or(Unit::Addresses)
    }
}

impl Mode {
    /// The heat layer a map of `tally` in `unit` gets when none is asked for: a choropleth
    /// per capita or without coordinates, else points.
    #[must_use]
    pub fn default_for(tally: &Tally, unit: Unit, per_capita: bool) -> Mode {
        if per_capita || tally.located_unit(unit).with_coords == 0 {
            Mode::Choropleth
        } else {
            Mode::Points
        }
    }
}

/// The accuracy radius (km) from which a location counts as coarse (country centroids,
/// GeoLite2's default location in Kansas).
pub const COARSE_KM: u32 = 1000;
