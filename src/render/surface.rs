//! The drawing surface every map layer draws on: pixels (PNG and the other image formats), or
//! a record of shapes, text and images that becomes an SVG or a PDF ([`Drawing`]). One set of
//! drawing calls serves both, so the vector files have the image's layout exactly.

use super::text::{Face, Fonts};
use crate::error::{Error, Result};
use tiny_skia::{Color, FillRule, Mask, Path, PathBuilder, Pixmap, Rect, Transform};

/// Where the layers go.
pub(super) struct Surface {
    kind: Kind,
    width: u32,
    height: u32,
    /// The map frame, which clipped layers stay inside.
    frame: Rect,
}

enum Kind {
    /// Drawn at once into pixels; `clip` masks the map frame.
    Raster { pixmap: Pixmap, clip: Mask },
    /// Kept as shapes, text and images.
    Vector(Vec<Op>),
}

/// One drawing call, kept for a vector file. `clipped`: cut to the map frame.
pub(super) enum Op {
    Fill {
        path: Path,
        colour: Color,
        rule: FillRule,
        anti_alias: bool,
        clipped: bool,
    },
    Stroke {
        path: Path,
        width: f32,
        colour: Color,
        clipped: bool,
    },
    /// Pixels (the points layer, the colour bar): a transparent image the size of the
    /// whole drawing, cut to what it holds when written.
    Image { pixmap: Pixmap, clipped: bool },
    /// A line of text laid out by [`Fonts`]: one run per face.
    Text {
        runs: Vec<TextRun>,
        /// The baseline.
        y: f32,
        colour: Color,
    },
}

impl Op {
    /// Whether the operation is cut to the map frame (text never is).
    pub(super) fn clipped(&self) -> bool {
        match self {
            Op::Fill { clipped, .. } | Op::Stroke { clipped, .. } | Op::Image { clipped, .. } => {
                *clipped
            }
            Op::Text { .. } => false,
        }
    }
}

/// Consecutive characters of a line in one face, each with its glyph and pen position (its
/// left edge, in pixels from the image's left edge).
pub(super) struct TextRun {
    pub(super) face: Face,
    /// The font's size in pixels per em (as CSS and PDF give it).
    pub(super) em: f32,
    pub(super) chars: Vec<(char, u16, f32)>,
    /// Where the run ends (the last character's advance taken).
    pub(super) end: f32,
}

impl Surface {
    /// A surface of pixels `width` x `height`, filled with `background`; `frame` is the map
    /// frame, which clipped layers stay inside.
    pub(super) fn raster(width: u32, height: u32, frame: Rect, background: Color) -> Result<Self> {
        let mut pixmap = Pixmap::new(width, height)
            .ok_or_else(|| Error::Internal("cannot allocate the image".into()))?;
        pixmap.fill(background);
        let mut clip = Mask::new(width, height)
            .ok_or_else(|| Error::Internal("cannot allocate the mask".into()))?;
        clip.fill_path(
            &PathBuilder::from_rect(frame),
            FillRule::Winding,
            false,
            Transform::identity(),
        );
        Ok(Surface {
            kind: Kind::Raster { pixmap, clip },
            width,
            height,
            frame,
        })
    }

    /// A surface that keeps what is drawn for a vector file, with its background drawn.
    pub(super) fn vector(width: u32, height: u32, frame: Rect, background: Color) -> Result<Self> {
        let mut surface = Surface {
            kind: Kind::Vector(Vec::new()),
            width,
            height,
            frame,
        };
        let all = Rect::from_xywh(0.0, 0.0, width as f32, height as f32)
            .ok_or_else(|| Error::Internal("empty image".into()))?;
        surface.fill_rect(all, background, false, false);
        Ok(surface)
    }

    pub(super) fn width(&self) -> u32 {
        self.width
    }

    pub(super) fn height(&self) -> u32 {
        self.height
    }

    pub(super) fn frame(&self) -> Rect {
        self.frame
    }

    /// Fills a path in one colour.
    pub(super) fn fill(
        &mut self,
        path: &Path,
        colour: Color,
        rule: FillRule,
        anti_alias: bool,
        clipped: bool,
    ) {
        match &mut self.kind {
            Kind::Raster { pixmap, clip } => pixmap.fill_path(
                path,
                &paint(colour, anti_alias),
                rule,
                Transform::identity(),
                clipped.then_some(&*clip),
            ),
            Kind::Vector(ops) => ops.push(Op::Fill {
                path: path.clone(),
                colour,
                rule,
                anti_alias,
                clipped,
            }),
        }
    }

    /// Fills a rectangle in one colour.
    pub(super) fn fill_rect(&mut self, rect: Rect, colour: Color, anti_alias: bool, clipped: bool) {
        match &mut self.kind {
            Kind::Raster { pixmap, clip } => pixmap.fill_rect(
                rect,
                &paint(colour, anti_alias),
                Transform::identity(),
                clipped.then_some(&*clip),
            ),
            Kind::Vector(_) => {
                let path = PathBuilder::from_rect(rect);
                self.fill(&path, colour, FillRule::Winding, anti_alias, clipped);
            }
        }
    }

    /// Strokes a path in one colour (anti-aliased), `width` pixels wide.
    pub(super) fn stroke(&mut self, path: &Path, width: f32, colour: Color, clipped: bool) {
        match &mut self.kind {
            Kind::Raster { pixmap, clip } => {
                let stroke = tiny_skia::Stroke {
                    width,
                    ..tiny_skia::Stroke::default()
                };
                pixmap.stroke_path(
                    path,
                    &paint(colour, true),
                    &stroke,
                    Transform::identity(),
                    clipped.then_some(&*clip),
                );
            }
            Kind::Vector(ops) => ops.push(Op::Stroke {
                path: path.clone(),
                width,
                colour,
                clipped,
            }),
        }
    }

    /// Draws pixels: `draw` gets the image (and the frame's mask when `clipped`) on a
    /// raster surface, or a transparent image of the same size that a vector file embeds.
    pub(super) fn pixels(&mut self, clipped: bool, draw: impl FnOnce(&mut Pixmap, Option<&Mask>)) {
        match &mut self.kind {
            Kind::Raster { pixmap, clip } => draw(pixmap, clipped.then_some(&*clip)),
            Kind::Vector(ops) => {
                let Some(mut layer) = Pixmap::new(self.width, self.height) else {
                    return;
                };
                draw(&mut layer, None);
                ops.push(Op::Image {
                    pixmap: layer,
                    clipped,
                });
            }
        }
    }

    /// The pixels to draw text into, or `None` on a vector surface.
    pub(super) fn raster_mut(&mut self) -> Option<&mut Pixmap> {
        match &mut self.kind {
            Kind::Raster { pixmap, .. } => Some(pixmap),
            Kind::Vector(_) => None,
        }
    }

    /// Keeps a line of text laid out for a vector file (a raster surface draws it itself).
    pub(super) fn push_text(&mut self, runs: Vec<TextRun>, y: f32, colour: Color) {
        if let Kind::Vector(ops) = &mut self.kind
            && !runs.is_empty()
        {
            ops.push(Op::Text { runs, y, colour });
        }
    }

    /// The pixels drawn (`None` for a vector surface).
    pub(super) fn into_pixmap(self) -> Option<Pixmap> {
        match self.kind {
            Kind::Raster { pixmap, .. } => Some(pixmap),
            Kind::Vector(_) => None,
        }
    }

    /// What was drawn, for a vector file (`None` for a raster surface).
    pub(super) fn into_ops(self) -> Option<Vec<Op>> {
        match self.kind {
            Kind::Raster { .. } => None,
            Kind::Vector(ops) => Some(ops),
        }
    }
}

pub(super) fn paint(color: Color, anti_alias: bool) -> tiny_skia::Paint<'static> {
    let mut p = tiny_skia::Paint::default();
    p.set_color(color);
    p.anti_alias = anti_alias;
    p
}

/// A map drawn as shapes, text and images, to be written as SVG ([`Drawing::svg`]) or PDF
/// ([`Drawing::pdf`]): the same layout as the PNG, with polygons and cells as paths, text as
/// text and the points layer as an embedded image.
pub struct Drawing {
    pub(super) ops: Vec<Op>,
    pub(super) width: u32,
    pub(super) height: u32,
    /// The map frame, which clipped layers stay inside.
    pub(super) frame: Rect,
    /// Pixels per inch: the printed size (`--size`, `--dpi`); CSS's 96 when not given.
    pub(super) dpi: f64,
    pub(super) fonts: Fonts,
    /// The map's title and subtitle, for the file's own title and description (the SVG's
    /// `<title>` and `<desc>`, the PDF's document information).
    pub(super) title: String,
    pub(super) description: String,
}

/// Pixels per inch of a vector file made without `--dpi` (a CSS pixel).
pub const CSS_DPI: f64 = 96.0;

impl std::fmt::Debug for Drawing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Drawing({} x {} px, {} operations)",
            self.width,
            self.height,
            self.ops.len()
        )
    }
}

impl Drawing {
    /// Size in pixels.
    #[must_use]
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }
}

/// The part of an image that holds its opaque pixels, as a new image, and where it lies
/// (x, y); `None` when the image is empty.
pub(super) fn opaque_part(pixmap: &Pixmap) -> Option<(u32, u32, Pixmap)> {
    let (w, h) = (pixmap.width(), pixmap.height());
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for (i, p) in pixmap.pixels().iter().enumerate() {
        if p.alpha() > 0 {
            let (x, y) = (i as u32 % w, i as u32 / w);
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if x0 > x1 || y0 > y1 {
        return None;
    }
    let rect = tiny_skia::IntRect::from_xywh(x0 as i32, y0 as i32, x1 - x0 + 1, y1 - y0 + 1)?;
    Some((x0, y0, pixmap.clone_rect(rect)?))
}
