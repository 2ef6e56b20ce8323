//! Text on maps with the embedded DejaVu Sans, so output is identical on every machine;
//! characters DejaVu lacks (Chinese, Japanese, Korean, ...) from a font the caller gives
//! (`--font`).

use super::surface::{Surface, TextRun};
use ab_glyph::{Font, FontRef, FontVec, GlyphId, PxScale, ScaleFont};
use std::sync::Arc;
use tiny_skia::Color;

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// The two faces maps use, and the caller's font for what they lack.
#[derive(Clone)]
pub struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
    extra: Option<FontFile>,
}

/// A font file given by the caller (`--font`): TrueType or OpenType, or the first face of a
/// collection (`.ttc`), read and checked once.
#[derive(Clone)]
pub struct FontFile {
    font: Arc<FontVec>,
    /// Where it came from, for messages.
    pub name: String,
    /// Its family name (from its name table; its file name when it has none).
    family: String,
}

impl std::fmt::Debug for FontFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FontFile({:?})", self.name)
    }
}

impl FontFile {
    /// Reads a font file; a file that is not a font is an error naming it.
    pub fn read(path: &std::path::Path) -> crate::error::Result<FontFile> {
        let name = path.display().to_string();
        let bad = |message: String| crate::error::Error::Option {
            name: "font",
            message: format!("{name}: {message}"),
        };
        let bytes = crate::util::read_file(path).map_err(|e| bad(e.to_string()))?;
        Self::from_bytes(bytes, name.clone()).map_err(|e| bad(e.to_string()))
    }

    /// A font held in memory.
    pub fn from_bytes(bytes: Vec<u8>, name: String) -> Result<FontFile, String> {
        let family = ttf_parser::Face::parse(&bytes, 0)
            .ok()
            .and_then(|face| {
                // The English name where there are several (WenQuanYi's first is Chinese).
                let names: Vec<_> = face
                    .names()
                    .into_iter()
                    .filter(|n| n.name_id == ttf_parser::name_id::FAMILY)
                    .collect();
                names
                    .iter()
                    .filter(|n| n.language() == ttf_parser::Language::English_UnitedStates)
                    .chain(&names)
                    .find_map(ttf_parser::name::Name::to_string)
            })
            .filter(|f| !f.trim().is_empty())
            .unwrap_or_else(|| {
                std::path::Path::new(&name)
                    .file_stem()
                    .map_or_else(|| name.clone(), |s| s.to_string_lossy().into_owned())
            });
        let font = FontVec::try_from_vec_and_index(bytes, 0)
            .map_err(|_| "not a TrueType or OpenType font".to_owned())?;
        Ok(FontFile {
            font: Arc::new(font),
            name,
            family,
        })
    }

    /// Whether it draws `c`.
    #[must_use]
    pub fn has(&self, c: char) -> bool {
        self.font.glyph_id(c) != GlyphId(0)
    }
}

/// Which of the map's fonts draws a character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Face {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
    /// The caller's font (`--font`).
    Extra,
}

/// Horizontal anchoring of a line of text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// `x` is the left edge.
    Left,
    /// `x` is the centre.
    Center,
    /// `x` is the right edge.
    Right,
}

impl Fonts {
    /// Loads the embedded fonts, with the caller's font for what they lack.
    #[must_use]
    pub fn load(extra: Option<&FontFile>) -> Option<Fonts> {
        Some(Fonts {
            regular: FontRef::try_from_slice(REGULAR).ok()?,
            bold: FontRef::try_from_slice(BOLD).ok()?,
            extra: extra.cloned(),
        })
    }

    /// The caller's font, if any.
    #[must_use]
    pub fn extra(&self) -> Option<&FontFile> {
        self.extra.as_ref()
    }

    fn face(&self, bold: bool) -> &FontRef<'static> {
        if bold { &self.bold } else { &self.regular }
    }

    /// The characters of `text` that no face draws (DejaVu lacks them, and so does the
    /// caller's font, if any), each once.
    #[must_use]
    pub fn missing(&self, text: &str) -> Vec<char> {
        let mut out: Vec<char> = Vec::new();
        for c in text
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
        {
            let drawn = self.regular.glyph_id(c) != GlyphId(0)
                || self.extra.as_ref().is_some_and(|f| f.has(c));
            if !drawn && !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// Lays out a line: each character's face (DejaVu, or the caller's font where DejaVu
    /// lacks it and the caller's has it), glyph and pen position; and the line's width.
    /// Kerning applies between characters of one face.
    fn layout(&self, text: &str, size: f32, bold: bool) -> (Vec<(bool, GlyphId, f32)>, f32) {
        let scale = PxScale::from(size);
        let main = self.face(bold).as_scaled(scale);
        let extra = self.extra.as_ref().map(|f| (*f.font).as_scaled(scale));
        let mut out = Vec::with_capacity(text.len());
        let mut pen = 0.0;
        let mut prev: Option<(bool, GlyphId)> = None;
        for c in text.chars() {
            let id = main.glyph_id(c);
            let (is_extra, id) = match &extra {
                Some(e) if id == GlyphId(0) && e.glyph_id(c) != GlyphId(0) => (true, e.glyph_id(c)),
                _ => (false, id),
            };
            if let Some((was_extra, p)) = prev
                && was_extra == is_extra
            {
                pen += match (&extra, is_extra) {
                    (Some(e), true) => e.kern(p, id),
                    _ => main.kern(p, id),
                };
            }
            out.push((is_extra, id, pen));
            pen += match (&extra, is_extra) {
                (Some(e), true) => e.h_advance(id),
                _ => main.h_advance(id),
            };
            prev = Some((is_extra, id));
        }
        (out, pen)
    }

    /// Width of a line in pixels at `size` pixels.
    #[must_use]
    pub fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        self.layout(text, size, bold).1
    }

    /// Breaks `text` into lines no wider than `max` pixels at `size`, at spaces (a word
    /// wider than a line is broken between characters).
    #[must_use]
    pub fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        self.wrap_face(text, size, max, false)
    }

    /// [`Fonts::wrap`] in the bold face when `bold`.
    #[must_use]
    pub fn wrap_face(&self, text: &str, size: f32, max: f32, bold: bool) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, size, bold) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word alone wider than the line: as many characters per line as fit.
            for ch in word.chars() {
                let mut next = line.clone();
                next.push(ch);
                if !line.is_empty() && self.width(&next, size, bold) > max {
                    lines.push(std::mem::take(&mut line));
                    next = ch.to_string();
                }
                line = next;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Draws one line with its baseline at `y`: into the pixels of a raster surface, or
    /// kept as text (runs of one face, each character at its pen position) for a vector file.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn draw(
        &self,
        surface: &mut Surface,
        text: &str,
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        color: Color,
        align: Align,
    ) {
        let face = self.face(bold);
        let (glyphs, width) = self.layout(text, size, bold);
        let start = match align {
            Align::Left => x,
            Align::Center => x - width / 2.0,
            Align::Right => x - width,
        };
        let Some(pixmap) = surface.raster_mut() else {
            let runs = self.runs(text, &glyphs, start, width, size, bold);
            surface.push_text(runs, y, color);
            return;
        };
        let (w, h) = (pixmap.width() as i32, pixmap.height() as i32);
        let c = color.to_color_u8();
        let pixels = pixmap.pixels_mut();
        for (is_extra, id, pen) in glyphs {
            let glyph =
                id.with_scale_and_position(PxScale::from(size), ab_glyph::point(start + pen, y));
            let outline = match (&self.extra, is_extra) {
                (Some(e), true) => e.font.outline_glyph(glyph),
                _ => face.outline_glyph(glyph),
            };
            let Some(outline) = outline else {
                continue;
            };
            let b = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let (px, py) = (b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32);
                if px < 0 || py < 0 || px >= w || py >= h {
                    return;
                }
                let a = (coverage.clamp(0.0, 1.0) * f32::from(c.alpha()) / 255.0).clamp(0.0, 1.0);
                let i = (py * w + px) as usize;
                let dst = pixels[i].demultiply();
                let mix =
                    |s: u8, d: u8| (f32::from(s) * a + f32::from(d) * (1.0 - a)).round() as u8;
                let out_a = (a * 255.0 + f32::from(dst.alpha()) * (1.0 - a)).round() as u8;
                let rgba = tiny_skia::ColorU8::from_rgba(
                    mix(c.red(), dst.red()),
                    mix(c.green(), dst.green()),
                    mix(c.blue(), dst.blue()),
                    out_a,
                );
                pixels[i] = rgba.premultiply();
            });
        }
    }
}

impl Fonts {
    /// A laid-out line as runs of one face, for a vector file.
    fn runs(
        &self,
        text: &str,
        glyphs: &[(bool, GlyphId, f32)],
        start: f32,
        width: f32,
        size: f32,
        bold: bool,
    ) -> Vec<TextRun> {
        let mut runs: Vec<TextRun> = Vec::new();
        for (c, &(is_extra, id, pen)) in text.chars().zip(glyphs) {
            let face = match (is_extra, bold) {
                (true, _) => Face::Extra,
                (false, true) => Face::Bold,
                (false, false) => Face::Regular,
            };
            let x = start + pen;
            match runs.last_mut() {
                Some(run) if run.face == face => run.chars.push((c, id.0, x)),
                _ => {
                    if let Some(run) = runs.last_mut() {
                        run.end = x;
                    }
                    runs.push(TextRun {
                        face,
                        em: self.em(face, size),
                        chars: vec![(c, id.0, x)],
                        end: x,
                    });
                }
            }
        }
        if let Some(run) = runs.last_mut() {
            run.end = start + width;
        }
        runs.retain(|r| r.chars.iter().any(|(c, ..)| !c.is_whitespace()));
        runs
    }

    /// The size in pixels per em (as CSS and PDF give a font's size) of text drawn `size`
    /// pixels high (ab_glyph's scale: ascent to descent).
    pub(super) fn em(&self, face: Face, size: f32) -> f32 {
        let (upem, height) = match (face, &self.extra) {
            (Face::Extra, Some(f)) => (f.font.units_per_em(), f.font.height_unscaled()),
            (Face::Bold, _) => (self.bold.units_per_em(), self.bold.height_unscaled()),
            _ => (self.regular.units_per_em(), self.regular.height_unscaled()),
        };
        match upem {
            Some(upem) if height > 0.0 => size * upem / height,
            _ => size,
        }
    }

    /// A face's font file.
    pub(super) fn bytes(&self, face: Face) -> &[u8] {
        match (face, &self.extra) {
            (Face::Extra, Some(f)) => f.font.as_slice(),
            (Face::Bold, _) => BOLD,
            _ => REGULAR,
        }
    }

    /// A face's family name, as a vector file names it.
    pub(super) fn family(&self, face: Face) -> String {
        match (face, &self.extra) {
            (Face::Extra, Some(f)) => f.family.clone(),
            _ => "DejaVu Sans".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_at_spaces_and_long_words_break() {
        let f = Fonts::load(None).unwrap();
        let text = "The boundaries and names shown and the designations used on this map do not imply official endorsement";
        let lines = f.wrap(text, 10.0, 200.0);
        assert!(lines.len() > 2, "{lines:?}");
        assert!(
            lines.iter().all(|l| f.width(l, 10.0, false) <= 200.0),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), text);
        let long = "x".repeat(200);
        let broken = f.wrap(&long, 10.0, 100.0);
        assert!(broken.len() > 1 && broken.concat() == long);
        assert!(f.wrap("  ", 10.0, 100.0).is_empty());
    }
}
