//! Text on maps with the embedded DejaVu Sans, so output is identical on every machine.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use tiny_skia::{Color, Pixmap};

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// The two faces maps use.
pub struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
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
    /// Loads the embedded fonts.
    #[must_use]
    pub fn load() -> Option<Fonts> {
        Some(Fonts {
            regular: FontRef::try_from_slice(REGULAR).ok()?,
            bold: FontRef::try_from_slice(BOLD).ok()?,
        })
    }

    fn face(&self, bold: bool) -> &FontRef<'static> {
        if bold { &self.bold } else { &self.regular }
    }

    /// Width of a line in pixels at `size` pixels.
    #[must_use]
    pub fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let font = self.face(bold).as_scaled(PxScale::from(size));
        let mut w = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                w += font.kern(p, id);
            }
            w += font.h_advance(id);
            prev = Some(id);
        }
        w
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

    /// Draws one line with its baseline at `y`.
    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &self,
        pixmap: &mut Pixmap,
        text: &str,
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        color: Color,
        align: Align,
    ) {
        let face = self.face(bold);
        let font = face.as_scaled(PxScale::from(size));
        let width = self.width(text, size, bold);
        let mut pen = match align {
            Align::Left => x,
            Align::Center => x - width / 2.0,
            Align::Right => x - width,
        };
        let (w, h) = (pixmap.width() as i32, pixmap.height() as i32);
        let c = color.to_color_u8();
        let pixels = pixmap.pixels_mut();
        let mut prev = None;
        for ch in text.chars() {
            let id = font.glyph_id(ch);
            if let Some(p) = prev {
                pen += font.kern(p, id);
            }
            let glyph = id.with_scale_and_position(PxScale::from(size), ab_glyph::point(pen, y));
            pen += font.h_advance(id);
            prev = Some(id);
            let Some(outline) = face.outline_glyph(glyph) else {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_at_spaces_and_long_words_break() {
        let f = Fonts::load().unwrap();
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
