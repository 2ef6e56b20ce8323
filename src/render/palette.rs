//! The colours of a map's style: ocean, land, borders, text, and the heat's colour map.

use super::options::{Colormap, Style};
use tiny_skia::Color;

/// Every colour a map is drawn with.
pub(super) struct Palette {
    pub(super) background: Color,
    pub(super) ocean: Color,
    pub(super) land: Color,
    pub(super) border: Color,
    pub(super) outline: Color,
    pub(super) graticule: Color,
    pub(super) text: Color,
    pub(super) muted: Color,
    pub(super) colormap: Colormap,
    /// Start of the colour map used (dark styles skip the near-black end, which would vanish).
    pub(super) low: f64,
}

fn rgb(r: u8, g: u8, b: u8) -> Color {
    Color::from_rgba8(r, g, b, 255)
}

pub(super) fn palette(style: Style, colormap: Option<Colormap>) -> Palette {
    match style {
        Style::Dark => Palette {
            background: rgb(5, 6, 9),
            ocean: rgb(11, 13, 19),
            land: rgb(38, 40, 46),
            border: rgb(64, 67, 76),
            outline: rgb(40, 44, 54),
            graticule: rgb(24, 27, 35),
            text: rgb(232, 232, 232),
            muted: rgb(150, 152, 160),
            colormap: colormap.unwrap_or(Colormap::Inferno),
            low: 0.22,
        },
        Style::Light => Palette {
            background: rgb(255, 255, 255),
            ocean: rgb(255, 255, 255),
            land: rgb(232, 230, 225),
            border: rgb(182, 178, 170),
            outline: rgb(160, 160, 160),
            graticule: rgb(196, 201, 210),
            text: rgb(34, 34, 34),
            muted: rgb(100, 100, 100),
            colormap: colormap.unwrap_or(Colormap::YlOrRd),
            low: 0.12,
        },
    }
}

impl Palette {
    pub(super) fn heat(&self, t: f64) -> Color {
        let c = self
            .colormap
            .gradient()
            .eval_continuous(self.low + (1.0 - self.low) * t);
        rgb(c.r, c.g, c.b)
    }
}
