//! Drawing maps: projections, basemap, heat layers, colour scales, legend and text.

mod canvas;
mod change;
mod heat;
mod html;
mod legend;
mod map;
mod options;
mod palette;
pub mod projection;
pub mod scale;
mod surface;
mod text;
mod vector;
pub use legend::MIN_TEXT_WIDTH;
pub use text::FontFile;

pub use crate::geometry::split_antimeridian;
pub use change::{
    ChangeOptions, ChangeReport, ChangeScale, ChangeValue, Sides, render_change,
    render_change_vector,
};
pub use html::{HtmlLayer, HtmlOptions, HtmlReport, render_html};
pub use map::{FrameReport, MapReport, OtherUnit, render, render_vector_with, render_with};
pub use options::{COARSE_KM, Colormap, Level, MapOptions, Mode, Style, parse_dpi, print_width_mm};
pub use projection::{Bbox, Projection, ProjectionKind, ProjectionSpec, parse_lon0};
pub use scale::{ColorScale, ScaleKind};
pub use surface::{CSS_DPI, Drawing};

/// Draws a tally as a PNG image with the embedded basemap (world or regional detail, as
/// `options.bbox` asks), and says what it drew.
///
/// ```
/// use ipatlas::locate::{Atlas, OpenOptions};
/// use ipatlas::pipeline::RunOptions;
/// use ipatlas::render::{MapOptions, Mode, render_png};
///
/// let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
/// let tally = atlas.aggregate_lines(["8.8.8.8", "1.1.1.1"], &RunOptions::default())?;
/// let options = MapOptions { mode: Mode::Choropleth, width: 400, ..MapOptions::default() };
/// let (png, report) = render_png(&tally, &atlas.infos(), &options)?;
/// assert!(png.starts_with(b"\x89PNG"));
/// assert_eq!(report.drawn, 2);
/// # Ok::<(), ipatlas::Error>(())
/// ```
pub fn render_png(
    tally: &crate::tally::Tally,
    databases: &[crate::locate::DatabaseInfo],
    options: &MapOptions,
) -> crate::Result<(Vec<u8>, MapReport)> {
    let basemap = crate::basemap::Basemap::embedded(options.detail())?;
    let (pixmap, report) = render(tally, &basemap, databases, options)?;
    Ok((encode_png(&pixmap, options.dpi)?, report))
}

/// Text for HTML or XML (an SVG), as character data or an attribute's value: markup and
/// quotes escaped, and the control characters XML 1.0 cannot hold left out (they draw
/// nothing).
pub(crate) fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A map's pixels as straight (not premultiplied) RGBA bytes, row by row, for encoders.
#[must_use]
pub fn rgba(pixmap: &tiny_skia::Pixmap) -> Vec<u8> {
    pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect()
}

/// Encodes a map as PNG. With a print resolution (dots per inch) the file carries it (a
/// `pHYs` chunk), so it prints at the size it was made for.
pub fn encode_png(pixmap: &tiny_skia::Pixmap, dpi: Option<f64>) -> crate::Result<Vec<u8>> {
    let err = |e: String| crate::Error::Internal(format!("cannot encode the PNG: {e}"));
    let Some(dpi) = dpi else {
        return pixmap.encode_png().map_err(|e| err(e.to_string()));
    };
    let rgba = rgba(pixmap);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let per_metre = (dpi / 0.0254).round() as u32;
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: per_metre,
        yppu: per_metre,
        unit: png::Unit::Meter,
    }));
    encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(&rgba))
        .map_err(|e| err(e.to_string()))?;
    Ok(out)
}

/// Writes a tally's interactive page (see [`render_html`]) with the embedded basemap (world
/// or regional detail, as `options.bbox` asks).
///
/// ```
/// use ipatlas::locate::{Atlas, OpenOptions};
/// use ipatlas::pipeline::RunOptions;
/// use ipatlas::render::{HtmlOptions, MapOptions, Mode, page_html};
///
/// let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
/// let tally = atlas.aggregate_lines(["8.8.8.8", "1.1.1.1"], &RunOptions::default())?;
/// let options = MapOptions { mode: Mode::Choropleth, width: 400, ..MapOptions::default() };
/// let (page, report) = page_html(&tally, &atlas.infos(), &options, &HtmlOptions::default())?;
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// assert_eq!(report.shown, "countries");
/// # Ok::<(), ipatlas::Error>(())
/// ```
pub fn page_html(
    tally: &crate::tally::Tally,
    databases: &[crate::locate::DatabaseInfo],
    options: &MapOptions,
    html: &HtmlOptions,
) -> crate::Result<(String, HtmlReport)> {
    let basemap = crate::basemap::Basemap::embedded(options.detail())?;
    render_html(tally, &basemap, databases, options, html)
}
