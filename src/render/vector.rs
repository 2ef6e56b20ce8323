//! Writing a [`Drawing`] as SVG or PDF.
//!
//! Both have the PNG's layout in the image's pixels as user units: SVG sets its physical size
//! from the print resolution (`--dpi`, or CSS's 96 pixels per inch), PDF its page size. Shapes
//! are paths, text is text, and layers of pixels (points, the colour bar) are embedded PNG
//! images drawn unsmoothed.
//!
//! Fonts: the PDF embeds a subset of each font it uses (krilla, through the `subsetter`
//! crate), so it prints the same everywhere. The SVG names its fonts (DejaVu Sans, and the
//! `--font`'s family): SVG renderers and editors take fonts from the system, and a subset
//! embedded in an SVG would need a cmap-keeping subsetter.

use super::escape_markup;
use super::options::MapOptions;
use super::surface::{CSS_DPI, Drawing, Op, Surface, TextRun, opaque_part};
use super::text::{Face, Fonts};
use crate::error::{Error, Result};
use base64::Engine;
use std::fmt::Write as _;
use tiny_skia::{Color, FillRule, Path, PathSegment};

impl Drawing {
    /// What a vector surface kept, with the fonts it names and the print resolution.
    pub(super) fn new(surface: Surface, opts: &MapOptions, description: &str) -> Result<Drawing> {
        let (width, height, frame) = (surface.width(), surface.height(), surface.frame());
        let ops = surface
            .into_ops()
            .ok_or_else(|| Error::Internal("a raster surface keeps no shapes".into()))?;
        let fonts = Fonts::load(opts.font.as_ref())
            .ok_or_else(|| Error::Internal("the embedded font cannot be read".into()))?;
        Ok(Drawing {
            ops,
            width,
            height,
            frame,
            dpi: opts.dpi.unwrap_or(CSS_DPI),
            fonts,
            title: super::legend::title(opts),
            description: description.to_owned(),
        })
    }

    /// The map as an SVG document.
    #[must_use]
    pub fn svg(&self) -> String {
        let (w, h) = (self.width, self.height);
        let inches = |px: u32| f64::from(px) / self.dpi;
        let mut out = String::with_capacity(1 << 20);
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
             version=\"1.1\" width=\"{}mm\" height=\"{}mm\" viewBox=\"0 0 {w} {h}\">\n",
            crate::util::trim_decimal(inches(w) * 25.4, 3),
            crate::util::trim_decimal(inches(h) * 25.4, 3),
        );
        let _ = writeln!(
            out,
            "<title>{}</title>\n<desc>{}</desc>",
            escape_markup(&self.title),
            escape_markup(&self.description)
        );
        let mut clipped = false;
        for op in &self.ops {
            let wants = op.clipped();
            if wants != clipped {
                out.push_str(if wants {
                    "<g clip-path=\"url(#frame)\">\n"
                } else {
                    "</g>\n"
                });
                clipped = wants;
            }
            match op {
                Op::Fill {
                    path,
                    colour,
                    rule,
                    anti_alias,
                    ..
                } => {
                    out.push_str("<path d=\"");
                    path_data(&mut out, path);
                    out.push('"');
                    paint_attrs(&mut out, "fill", *colour);
                    if *rule == FillRule::EvenOdd {
                        out.push_str(" fill-rule=\"evenodd\"");
                    }
                    if !anti_alias {
                        out.push_str(" shape-rendering=\"crispEdges\"");
                    }
                    out.push_str("/>\n");
                }
                Op::Stroke {
                    path,
                    width,
                    colour,
                    ..
                } => {
                    out.push_str("<path fill=\"none\" d=\"");
                    path_data(&mut out, path);
                    out.push('"');
                    paint_attrs(&mut out, "stroke", *colour);
                    out.push_str(" stroke-width=\"");
                    number(&mut out, *width);
                    out.push_str("\"/>\n");
                }
                Op::Image { pixmap, .. } => {
                    if let Some((x, y, part)) = opaque_part(pixmap)
                        && let Ok(png) = part.encode_png()
                    {
                        let (iw, ih) = (part.width(), part.height());
                        let _ = writeln!(
                            out,
                            "<image x=\"{x}\" y=\"{y}\" width=\"{iw}\" height=\"{ih}\" \
                             preserveAspectRatio=\"none\" image-rendering=\"optimizeSpeed\" \
                             style=\"image-rendering:pixelated\" \
                             xlink:href=\"data:image/png;base64,{}\"/>",
                            base64::engine::general_purpose::STANDARD.encode(png)
                        );
                    }
                }
                Op::Text { runs, y, colour } => {
                    for run in runs {
                        self.svg_text(&mut out, run, *y, *colour);
                    }
                }
            }
        }
        if clipped {
            out.push_str("</g>\n");
        }
        // The frame's clip path, defined once (a reference may come before its definition).
        let _ = writeln!(
            out,
            "<defs><clipPath id=\"frame\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath></defs>\n</svg>",
            self.frame.x(),
            self.frame.y(),
            self.frame.width(),
            self.frame.height()
        );
        out
    }

    /// One run of text: its characters each at its pen position.
    fn svg_text(&self, out: &mut String, run: &TextRun, y: f32, colour: Color) {
        let family = escape_markup(&self.fonts.family(run.face));
        out.push_str("<text xml:space=\"preserve\" font-family=\"'");
        out.push_str(&family);
        out.push('\'');
        if run.face != Face::Extra {
            out.push_str(", 'Bitstream Vera Sans', Verdana, sans-serif");
        }
        out.push_str("\" font-size=\"");
        number(out, run.em);
        out.push('"');
        if run.face == Face::Bold {
            out.push_str(" font-weight=\"bold\"");
        }
        paint_attrs(out, "fill", colour);
        out.push_str(" x=\"");
        for (i, (_, _, x)) in run.chars.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            number(out, *x);
        }
        out.push_str("\" y=\"");
        number(out, y);
        out.push_str("\">");
        let text: String = run.chars.iter().map(|(c, ..)| *c).collect();
        out.push_str(&escape_markup(&text));
        out.push_str("</text>\n");
    }

    /// The map as a one-page PDF, the page the printed size (`--size`, `--dpi`; 96 pixels per
    /// inch without them), with the fonts' subsets embedded.
    pub fn pdf(&self) -> Result<Vec<u8>> {
        use krilla::geom::{Point, Size, Transform};
        let err = |what: &str| Error::Internal(format!("cannot write the PDF: {what}"));
        let points = 72.0 / self.dpi as f32;
        let mut document = krilla::Document::new();
        document.set_metadata(
            krilla::metadata::Metadata::new()
                .title(self.title.clone())
                .description(self.description.clone())
                .creator(format!("ipatlas {}", env!("CARGO_PKG_VERSION"))),
        );
        let settings = krilla::page::PageSettings::from_wh(
            self.width as f32 * points,
            self.height as f32 * points,
        )
        .ok_or_else(|| err("the page has no size"))?;
        let fonts = PdfFonts::new(&self.fonts).ok_or_else(|| err("a font cannot be read"))?;
        let frame = krilla_path(&tiny_skia::PathBuilder::from_rect(self.frame))
            .ok_or_else(|| err("the map frame has no area"))?;
        {
            let mut page = document.start_page_with(settings);
            let mut surface = page.surface();
            surface.push_transform(&Transform::from_scale(points, points));
            let mut clipped = false;
            for op in &self.ops {
                let wants = op.clipped();
                if wants != clipped {
                    if wants {
                        surface.push_clip_path(&frame, &krilla::paint::FillRule::NonZero);
                    } else {
                        surface.pop();
                    }
                    clipped = wants;
                }
                match op {
                    Op::Fill {
                        path, colour, rule, ..
                    } => {
                        let Some(path) = krilla_path(path) else {
                            continue;
                        };
                        surface.set_stroke(None);
                        surface.set_fill(Some(krilla::paint::Fill {
                            paint: rgb(*colour).into(),
                            opacity: opacity(*colour),
                            rule: if *rule == FillRule::EvenOdd {
                                krilla::paint::FillRule::EvenOdd
                            } else {
                                krilla::paint::FillRule::NonZero
                            },
                        }));
                        surface.draw_path(&path);
                    }
                    Op::Stroke {
                        path,
                        width,
                        colour,
                        ..
                    } => {
                        let Some(path) = krilla_path(path) else {
                            continue;
                        };
                        surface.set_fill(None);
                        surface.set_stroke(Some(krilla::paint::Stroke {
                            paint: rgb(*colour).into(),
                            width: *width,
                            // tiny-skia's (and SVG's) limit, so joins match the PNG.
                            miter_limit: 4.0,
                            opacity: opacity(*colour),
                            ..krilla::paint::Stroke::default()
                        }));
                        surface.draw_path(&path);
                    }
                    Op::Image { pixmap, .. } => {
                        let Some((x, y, part)) = opaque_part(pixmap) else {
                            continue;
                        };
                        let (w, h) = (part.width(), part.height());
                        let image = krilla::image::Image::from_rgba8(super::rgba(&part), w, h);
                        let Some(size) = Size::from_wh(w as f32, h as f32) else {
                            continue;
                        };
                        surface.push_transform(&Transform::from_translate(x as f32, y as f32));
                        surface.draw_image(image, size);
                        surface.pop();
                    }
                    Op::Text { runs, y, colour } => {
                        surface.set_stroke(None);
                        surface.set_fill(Some(krilla::paint::Fill {
                            paint: rgb(*colour).into(),
                            opacity: opacity(*colour),
                            rule: krilla::paint::FillRule::NonZero,
                        }));
                        for run in runs {
                            let Some(font) = fonts.get(run.face) else {
                                continue;
                            };
                            let (text, glyphs) = pdf_glyphs(run);
                            let Some(&(_, _, x0)) = run.chars.first() else {
                                continue;
                            };
                            surface.draw_glyphs(
                                Point::from_xy(x0, *y),
                                &glyphs,
                                font.clone(),
                                &text,
                                run.em,
                                false,
                            );
                        }
                    }
                }
            }
            if clipped {
                surface.pop();
            }
            surface.pop();
            surface.finish();
            page.finish();
        }
        document.finish().map_err(|e| err(&format!("{e:?}")))
    }
}

/// The map's fonts as the PDF writer takes them.
struct PdfFonts {
    regular: krilla::text::Font,
    bold: krilla::text::Font,
    extra: Option<krilla::text::Font>,
}

impl PdfFonts {
    fn new(fonts: &Fonts) -> Option<PdfFonts> {
        let font =
            |face: Face| krilla::text::Font::new(krilla::Data::from(fonts.bytes(face).to_vec()), 0);
        Some(PdfFonts {
            regular: font(Face::Regular)?,
            bold: font(Face::Bold)?,
            extra: fonts.extra().and_then(|_| font(Face::Extra)),
        })
    }

    fn get(&self, face: Face) -> Option<&krilla::text::Font> {
        match face {
            Face::Regular => Some(&self.regular),
            Face::Bold => Some(&self.bold),
            Face::Extra => self.extra.as_ref(),
        }
    }
}

/// A run's text and glyphs, each glyph advancing to the next character's pen position (in
/// ems, as krilla takes them), so the PDF places every character where the PNG does.
fn pdf_glyphs(run: &TextRun) -> (String, Vec<krilla::text::KrillaGlyph>) {
    let mut text = String::new();
    let mut glyphs = Vec::with_capacity(run.chars.len());
    for (i, &(c, id, x)) in run.chars.iter().enumerate() {
        let next = run.chars.get(i + 1).map_or(run.end, |n| n.2);
        let start = text.len();
        text.push(c);
        glyphs.push(krilla::text::KrillaGlyph::new(
            krilla::text::GlyphId::new(u32::from(id)),
            if run.em > 0.0 {
                (next - x) / run.em
            } else {
                0.0
            },
            0.0,
            0.0,
            0.0,
            start..text.len(),
            None,
        ));
    }
    (text, glyphs)
}

fn rgb(c: Color) -> krilla::color::rgb::Color {
    let c = c.to_color_u8();
    krilla::color::rgb::Color::new(c.red(), c.green(), c.blue())
}

fn opacity(c: Color) -> krilla::num::NormalizedF32 {
    krilla::num::NormalizedF32::new(c.alpha()).unwrap_or(krilla::num::NormalizedF32::ONE)
}

/// A tiny-skia path as krilla's (the same geometry, rebuilt segment by segment).
fn krilla_path(path: &Path) -> Option<krilla::geom::Path> {
    let mut pb = krilla::geom::PathBuilder::new();
    for segment in path.segments() {
        match segment {
            PathSegment::MoveTo(p) => pb.move_to(p.x, p.y),
            PathSegment::LineTo(p) => pb.line_to(p.x, p.y),
            PathSegment::QuadTo(a, p) => pb.quad_to(a.x, a.y, p.x, p.y),
            PathSegment::CubicTo(a, b, p) => pb.cubic_to(a.x, a.y, b.x, b.y, p.x, p.y),
            PathSegment::Close => pb.close(),
        }
    }
    pb.finish()
}

/// An SVG path's `d`: the path's segments in pixels, to a hundredth.
fn path_data(out: &mut String, path: &Path) {
    let point = |out: &mut String, cmd: char, pts: &[tiny_skia::Point]| {
        out.push(cmd);
        for (i, p) in pts.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            number(out, p.x);
            out.push(' ');
            number(out, p.y);
        }
    };
    for segment in path.segments() {
        match segment {
            PathSegment::MoveTo(p) => point(out, 'M', &[p]),
            PathSegment::LineTo(p) => point(out, 'L', &[p]),
            PathSegment::QuadTo(a, p) => point(out, 'Q', &[a, p]),
            PathSegment::CubicTo(a, b, p) => point(out, 'C', &[a, b, p]),
            PathSegment::Close => out.push('Z'),
        }
    }
}

/// A number to a hundredth, without trailing zeros.
fn number(out: &mut String, v: f32) {
    let v = (f64::from(v) * 100.0).round() / 100.0;
    let v = if v == 0.0 { 0.0 } else { v };
    let _ = write!(out, "{v}");
}

/// ` fill="#rrggbb"` (or `stroke`), with its opacity when it has one.
fn paint_attrs(out: &mut String, what: &str, colour: Color) {
    let c = colour.to_color_u8();
    let _ = write!(
        out,
        " {what}=\"#{:02x}{:02x}{:02x}\"",
        c.red(),
        c.green(),
        c.blue()
    );
    if c.alpha() < 255 {
        let _ = write!(
            out,
            " {what}-opacity=\"{}\"",
            crate::util::trim_decimal(f64::from(colour.alpha()), 3)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_markup_is_escaped() {
        let mut s = String::new();
        number(&mut s, 1.0);
        s.push(' ');
        number(&mut s, 12.345_67);
        s.push(' ');
        number(&mut s, -0.001);
        assert_eq!(s, "1 12.35 0");
        assert_eq!(
            escape_markup("a<b & \"c\" 'd'\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;"
        );
    }
}
