//! The drawing surface: the image's layout (map frame, header, footer), projected paths,
//! and the layers below the heat: ocean, land and borders, graticule, the globe's outline.

use super::options::MapOptions;
use super::palette::Palette;
use super::projection::{Bbox, Projection, degrees, wrap180};
use super::surface::Surface;
use crate::basemap::{Basemap, Country};
use crate::error::{Error, Result};
use tiny_skia::{Color, FillRule, Path, PathBuilder, Rect};

/// The latitude to which world maps in Mercator are cropped (north and south).
pub const MERCATOR_CROP: f64 = 70.0;

/// Maps projected metres to image pixels.
pub(super) struct Frame {
    x0: f64,
    y1: f64,
    sx: f64,
    sy: f64,
    /// The map's top edge in the image (below the header).
    pub(super) top: f32,
    /// The map's size in pixels.
    pub(super) width: u32,
    pub(super) height: u32,
}

impl Frame {
    pub(super) fn pixel(&self, (x, y): (f64, f64)) -> (f32, f32) {
        (
            ((x - self.x0) * self.sx) as f32,
            self.top + ((self.y1 - y) * self.sy) as f32,
        )
    }

    /// The projected point at a pixel of the frame (from its top-left corner).
    fn point(&self, px: f64, py: f64) -> (f64, f64) {
        (self.x0 + px / self.sx, self.y1 - py / self.sy)
    }

    /// True when a projected point falls inside the frame (edges included).
    pub(super) fn holds(&self, (x, y): (f64, f64)) -> bool {
        let (px, py) = ((x - self.x0) * self.sx, (self.y1 - y) * self.sy);
        let slack = 1e-6;
        (-slack..=f64::from(self.width) + slack).contains(&px)
            && (-slack..=f64::from(self.height) + slack).contains(&py)
    }
}

/// Where everything goes in the image: the map frame between a header (title, subtitle)
/// and a footer (colour bar, notes, attribution).
pub(super) struct Layout {
    pub(super) frame: Frame,
    /// The region drawn (the world when no box is given).
    pub(super) region: Bbox,
    /// A longitude/latitude box around all the frame shows (wider than the region where
    /// the frame's corners reach past it): polygons that overlap it are drawn.
    pub(super) view: Bbox,
    /// A map of a box (`--bbox`), not of the world.
    pub(super) regional: bool,
    pub(super) header: f32,
    /// Image size in pixels.
    pub(super) width: u32,
    pub(super) height: u32,
}

impl Layout {
    /// Lays out a map of `opts.bbox` (or the world) `opts.width` pixels wide.
    /// `attribution_lines`: how many lines the footer's attribution takes
    /// ([`super::legend::attribution_lines`]).
    pub(super) fn new(
        proj: &Projection,
        opts: &MapOptions,
        attribution_lines: usize,
    ) -> Result<Self> {
        opts.validate()?;
        let region = match opts.bbox {
            Some(b) => b,
            // Mercator's world gives most of the image to the poles: cropped unless asked.
            None if proj.kind() == super::projection::ProjectionKind::Mercator
                && !opts.full_mercator =>
            {
                Bbox {
                    lat0: -MERCATOR_CROP,
                    lat1: MERCATOR_CROP,
                    ..Bbox::WORLD
                }
            }
            None => Bbox::WORLD,
        };
        let (mut x0, mut y0, mut x1, mut y1) = proj.extent(region);
        if region == Bbox::WORLD && opts.bbox.is_none() {
            // A little room around the globe so its outline is not cut.
            let (px, py) = ((x1 - x0) * 0.01, (y1 - y0) * 0.01);
            (x0, y0, x1, y1) = (x0 - px, y0 - py, x1 + px, y1 + py);
        }
        let width = opts.width;
        let exact_height = f64::from(width) * (y1 - y0) / (x1 - x0);
        // A box far taller than wide (or degenerate) would need an image no one can draw.
        if !exact_height.is_finite() || exact_height > 16_384.0 {
            return Err(Error::Option {
                name: "bbox",
                message: format!(
                    "is too narrow for a {width}-pixel-wide map: it would be more than 16384 pixels tall; widen the box"
                ),
            });
        }
        let map_height = (exact_height.round() as u32).max(1);
        let w = width as f32;
        let (header, footer) = if opts.shows_text() {
            // Room for the colour bar, two note lines, the captions and the attribution.
            let captions =
                super::legend::caption_lines(&opts.captions, w, opts.font.as_ref()).len() as f32;
            (
                (w * 0.07).max(48.0)
                    + super::legend::title_extra(
                        &super::legend::title(opts),
                        w,
                        opts.font.as_ref(),
                    ),
                (w * 0.085).max(64.0)
                    + super::legend::tiny_text(w)
                        * 1.7
                        * (captions + attribution_lines.max(1) as f32),
            )
        } else {
            (0.0, 0.0)
        };
        let height = map_height + header as u32 + footer as u32;
        if u64::from(width) * u64::from(height) > 400_000_000 {
            return Err(Error::Usage(format!(
                "a {width} x {height} image is too large"
            )));
        }
        let frame = Frame {
            x0,
            y1,
            sx: f64::from(width) / (x1 - x0),
            sy: f64::from(map_height) / (y1 - y0),
            top: header,
            width,
            height: map_height,
        };
        let regional = opts.bbox.is_some();
        let view = if regional {
            frame_view(proj, &frame, region)
        } else {
            Bbox::WORLD
        };
        Ok(Layout {
            frame,
            region,
            view,
            regional,
            header,
            width,
            height,
        })
    }

    /// True when the map shows a longitude/latitude: it projects into the frame.
    pub(super) fn shows(&self, proj: &Projection, lon: f64, lat: f64) -> bool {
        proj.forward(lon, lat).is_some_and(|p| self.frame.holds(p))
    }

    /// The top of the footer.
    pub(super) fn footer_top(&self) -> f32 {
        self.frame.height as f32 + self.header
    }

    /// The map frame in the image: nothing drawn on the map spills into header or footer.
    pub(super) fn frame_rect(&self) -> Result<Rect> {
        Rect::from_xywh(
            0.0,
            self.header,
            self.width as f32,
            self.frame.height as f32,
        )
        .ok_or_else(|| Error::Internal("empty map area".into()))
    }

    /// A blank surface in the background colour: pixels, or (`vector`) shapes for an SVG
    /// or PDF.
    pub(super) fn surface(&self, background: Color, vector: bool) -> Result<Surface> {
        let frame = self.frame_rect()?;
        if vector {
            Surface::vector(self.width, self.height, frame, background)
        } else {
            Surface::raster(self.width, self.height, frame, background)
        }
    }
}

/// The longitude/latitude box around what a frame shows: the region, and every point of
/// a grid over the frame taken back to the globe (with a degree's margin), reaching the
/// pole when the frame holds it.
fn frame_view(proj: &Projection, frame: &Frame, region: Bbox) -> Bbox {
    let mut v = region;
    let n = 48;
    for i in 0..=n {
        for j in 0..=n {
            let px = f64::from(frame.width) * f64::from(i) / f64::from(n);
            let py = f64::from(frame.height) * f64::from(j) / f64::from(n);
            let (x, y) = frame.point(px, py);
            if let Some((lon, lat)) = proj.inverse(x, y) {
                v.lon0 = v.lon0.min(lon);
                v.lon1 = v.lon1.max(lon);
                v.lat0 = v.lat0.min(lat);
                v.lat1 = v.lat1.max(lat);
            }
        }
    }
    let mut v = Bbox {
        lon0: v.lon0 - 1.0,
        lat0: (v.lat0 - 1.0).max(-90.0),
        lon1: v.lon1 + 1.0,
        lat1: (v.lat1 + 1.0).min(90.0),
    };
    for pole in [-90.0, 90.0] {
        if proj.forward(0.0, pole).is_some_and(|p| frame.holds(p)) {
            (v.lon0, v.lon1) = (-180.0, 180.0);
            if pole > 0.0 {
                v.lat1 = 90.0;
            } else {
                v.lat0 = -90.0;
            }
        }
    }
    if v.lon1 - v.lon0 >= 360.0 {
        (v.lon0, v.lon1) = (-180.0, 180.0);
    }
    v
}

/// Fills the rings of one shape (a cell, a hexagon) in one colour.
pub(super) fn fill_rings(
    surface: &mut Surface,
    rings: &[Vec<(f64, f64)>],
    proj: &Projection,
    frame: &Frame,
    colour: Color,
    anti_alias: bool,
) {
    let mut pb = PathBuilder::new();
    for ring in rings {
        ring_path(&mut pb, ring, proj, frame);
    }
    if let Some(path) = pb.finish() {
        surface.fill(&path, colour, FillRule::Winding, anti_alias, true);
    }
}

/// Adds a closed ring of (lon, lat) points to a path, in pixels (cut at the projection's
/// seam).
pub(super) fn ring_path(
    pb: &mut PathBuilder,
    ring: &[(f64, f64)],
    proj: &Projection,
    frame: &Frame,
) {
    for part in proj.rings(ring) {
        closed(pb, part.into_iter().map(|p| frame.pixel(p)));
    }
}

/// Adds a closed ring of pixels to a path.
fn closed(pb: &mut PathBuilder, mut pts: impl Iterator<Item = (f32, f32)>) {
    if let Some((x, y)) = pts.next() {
        pb.move_to(x, y);
        pts.for_each(|(x, y)| pb.line_to(x, y));
        pb.close();
    }
}

pub(super) fn ring_bbox(ring: &[(f64, f64)]) -> Bbox {
    ring.iter().fold(
        Bbox {
            lon0: f64::MAX,
            lat0: f64::MAX,
            lon1: f64::MIN,
            lat1: f64::MIN,
        },
        |b, &(x, y)| Bbox {
            lon0: b.lon0.min(x),
            lat0: b.lat0.min(y),
            lon1: b.lon1.max(x),
            lat1: b.lat1.max(y),
        },
    )
}

/// Fills the ocean: the globe's outline (pseudo-cylindrical projections are not
/// rectangles). Returns the outline, stroked over the heat at the end.
pub(super) fn draw_ocean(
    surface: &mut Surface,
    proj: &Projection,
    frame: &Frame,
    pal: &Palette,
) -> Option<Path> {
    let mut pb = PathBuilder::new();
    let outline: Vec<(f32, f32)> = proj
        .globe_outline()
        .into_iter()
        .map(|p| frame.pixel(p))
        .collect();
    if let Some((first, rest)) = outline.split_first() {
        pb.move_to(first.0, first.1);
        rest.iter().for_each(|p| pb.line_to(p.0, p.1));
        pb.close();
    }
    let globe = pb.finish();
    if let Some(globe) = &globe {
        surface.fill(globe, pal.ocean, FillRule::Winding, true, true);
    }
    globe
}

/// Fills every country near the region in the colour `fill` gives it, then strokes the
/// borders. Returns the borders, for [`draw_borders_above`].
pub(super) fn draw_land(
    surface: &mut Surface,
    basemap: &Basemap,
    layout: &Layout,
    proj: &Projection,
    pal: &Palette,
    fill: impl Fn(&Country) -> Color,
) -> Option<Path> {
    let (view, frame) = (layout.view, &layout.frame);
    let mut borders = PathBuilder::new();
    for country in &basemap.countries {
        let mut pb = PathBuilder::new();
        for polygon in &country.polygons {
            if !ring_bbox(&polygon.exterior).overlaps(&view) {
                continue;
            }
            for ring in std::iter::once(&polygon.exterior).chain(&polygon.holes) {
                for part in proj.rings(ring) {
                    closed(&mut pb, part.into_iter().map(|p| frame.pixel(p)));
                }
                for line in proj.border_lines(ring) {
                    let mut pts = line.into_iter().map(|p| frame.pixel(p));
                    if let Some((x, y)) = pts.next() {
                        borders.move_to(x, y);
                        pts.for_each(|(x, y)| borders.line_to(x, y));
                    }
                }
            }
        }
        let Some(path) = pb.finish() else { continue };
        surface.fill(&path, fill(country), FillRule::EvenOdd, true, true);
    }
    let borders = borders.finish();
    if let Some(path) = &borders {
        surface.stroke(path, border_width(layout), pal.border, true);
    }
    borders
}

fn border_width(layout: &Layout) -> f32 {
    (layout.width as f32 / 2400.0).clamp(0.35, 1.2)
}

/// Strokes the borders again over a regional map's cells or hexagons, which would hide
/// them (a world map's borders stay under its heat).
pub(super) fn draw_borders_above(
    surface: &mut Surface,
    borders: Option<&Path>,
    layout: &Layout,
    pal: &Palette,
) {
    if let Some(path) = borders {
        let c = pal.border;
        let colour = Color::from_rgba(c.red(), c.green(), c.blue(), 0.8).unwrap_or(c);
        surface.stroke(path, border_width(layout) * 1.2, colour, true);
    }
}

/// Strokes the globe's outline over everything drawn on the map.
pub(super) fn draw_outline(surface: &mut Surface, globe: &Path, pal: &Palette) {
    let width = (surface.width() as f32 / 1600.0).max(0.6);
    surface.stroke(globe, width, pal.outline, true);
}

pub(super) fn draw_graticule(
    surface: &mut Surface,
    proj: &Projection,
    layout: &Layout,
    pal: &Palette,
) {
    let mut pb = PathBuilder::new();
    for (_, line) in graticule_lines(proj, layout) {
        polyline(&mut pb, &line, proj, &layout.frame);
    }
    if let Some(path) = pb.finish() {
        let width = (layout.frame.width as f32 / 2000.0).max(0.5);
        surface.stroke(&path, width, pal.graticule, true);
    }
}

/// The graticule's spacing in degrees: 30 for the world, and for a region (`--bbox`) the
/// round step that draws at most 8 lines across its larger side.
#[must_use]
pub(super) fn graticule_step(region: Option<Bbox>) -> f64 {
    let Some(r) = region else { return 30.0 };
    let span = (r.lon1 - r.lon0).max(r.lat1 - r.lat0);
    [0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 15.0, 30.0]
        .into_iter()
        .find(|s| span / s <= 8.0)
        .unwrap_or(30.0)
}

/// The multiples of `step` from `a` to `b` (inclusive of both ends' neighbours).
fn steps_over(a: f64, b: f64, step: f64) -> impl Iterator<Item = f64> {
    let (first, last) = ((a / step).floor() as i64, (b / step).ceil() as i64);
    (first..=last).map(move |k| k as f64 * step)
}

/// A line of the graticule: a meridian (its longitude) or a parallel (its latitude).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum GraticuleLine {
    Meridian(f64),
    Parallel(f64),
}

/// The graticule's lines as (lon, lat) points. World maps: meridians every 30 degrees (to
/// the projection's latitude limit), parallels every 30 degrees from 60S to 60N, around
/// the central meridian. A region: meridians and parallels every [`graticule_step`] over
/// all the frame shows.
pub(super) fn graticule_lines(
    proj: &Projection,
    layout: &Layout,
) -> Vec<(GraticuleLine, Vec<(f64, f64)>)> {
    let max = proj.kind().max_lat();
    if layout.regional {
        let (step, v) = (graticule_step(Some(layout.region)), layout.view);
        let (lat_a, lat_b) = (v.lat0.max(-max), v.lat1.min(max));
        let (lon_a, lon_b) = (v.lon0, v.lon1.min(v.lon0 + 360.0));
        let n = 120;
        let lerp = move |a: f64, b: f64, i: u32| a + (b - a) * f64::from(i) / f64::from(n);
        let meridians = steps_over(lon_a, lon_b, step)
            .filter(move |lon| (lon_a..=lon_b).contains(lon))
            .map(move |lon| {
                (
                    GraticuleLine::Meridian(lon),
                    (0..=n).map(|i| (lon, lerp(lat_a, lat_b, i))).collect(),
                )
            });
        let parallels = steps_over(lat_a, lat_b, step)
            .filter(move |lat| lat.abs() <= max && (lat_a..=lat_b).contains(lat))
            .map(move |lat| {
                (
                    GraticuleLine::Parallel(lat),
                    (0..=n).map(|i| (lerp(lon_a, lon_b, i), lat)).collect(),
                )
            });
        return meridians.chain(parallels).collect();
    }
    let lon0 = proj.lon0();
    let meridians = (-180..=180).step_by(30).map(|lon| {
        (
            GraticuleLine::Meridian(f64::from(lon)),
            (0..=90)
                .map(|i| (f64::from(lon), -max + 2.0 * max * f64::from(i) / 90.0))
                .collect(),
        )
    });
    let parallels = (-60..=60).step_by(30).map(move |lat| {
        (
            GraticuleLine::Parallel(f64::from(lat)),
            (0..=180)
                .map(|i| (lon0 - 180.0 + 2.0 * f64::from(i), f64::from(lat)))
                .collect(),
        )
    });
    meridians.chain(parallels).collect()
}

/// What a regional map (`opts.bbox`) carries on its frame: graticule labels (with
/// `--graticule`) and the scale bar (unless `--no-scale-bar`), whose label it returns.
pub(super) fn draw_region_marks(
    surface: &mut Surface,
    fonts: &super::text::Fonts,
    proj: &Projection,
    layout: &Layout,
    opts: &MapOptions,
    pal: &Palette,
) -> Option<String> {
    let region = opts.bbox?;
    if opts.graticule {
        draw_graticule_labels(surface, fonts, proj, layout, pal);
    }
    if opts.scale_bar {
        draw_scale_bar(surface, fonts, proj, &layout.frame, region, pal)
    } else {
        None
    }
}

/// Labels the graticule of a region: each meridian where it meets the frame's bottom edge,
/// each parallel where it meets the left edge, inside the frame.
fn draw_graticule_labels(
    surface: &mut Surface,
    fonts: &super::text::Fonts,
    proj: &Projection,
    layout: &Layout,
    pal: &Palette,
) {
    let frame = &layout.frame;
    let size = (frame.width as f32 * 0.0105).max(8.0);
    let (w, bottom) = (frame.width as f32, frame.top + frame.height as f32);
    for (line, points) in graticule_lines(proj, layout) {
        let pixels: Vec<Vec<(f32, f32)>> = proj
            .lines(&points)
            .into_iter()
            .map(|run| run.into_iter().map(|p| frame.pixel(p)).collect())
            .collect();
        match line {
            GraticuleLine::Meridian(lon) => {
                let Some((x, _)) = crossing(&pixels, |p| p.1 - bottom) else {
                    continue;
                };
                let text = degrees(wrap180(lon), 'E', 'W');
                let half = fonts.width(&text, size, false) / 2.0;
                if x - half > 2.0 && x + half < w - 2.0 {
                    fonts.draw(
                        surface,
                        &text,
                        x,
                        bottom - size * 0.45,
                        size,
                        false,
                        pal.muted,
                        super::text::Align::Center,
                    );
                }
            }
            GraticuleLine::Parallel(lat) => {
                let Some((_, y)) = crossing(&pixels, |p| p.0) else {
                    continue;
                };
                if y - size > frame.top + 2.0 && y < bottom - size * 2.0 {
                    fonts.draw(
                        surface,
                        &degrees(lat, 'N', 'S'),
                        3.0,
                        y - 2.0,
                        size,
                        false,
                        pal.muted,
                        super::text::Align::Left,
                    );
                }
            }
        }
    }
}

/// Where a polyline in pixels first crosses the line `f(p) = 0`, interpolated.
fn crossing(runs: &[Vec<(f32, f32)>], f: impl Fn((f32, f32)) -> f32) -> Option<(f32, f32)> {
    runs.iter().flat_map(|r| r.windows(2)).find_map(|w| {
        let (a, b) = (f(w[0]), f(w[1]));
        if (a <= 0.0) == (b <= 0.0) {
            return None;
        }
        let t = a / (a - b);
        Some((
            w[0].0 + (w[1].0 - w[0].0) * t,
            w[0].1 + (w[1].1 - w[0].1) * t,
        ))
    })
}

/// The scale bar of a region's map: a round distance (1, 2 or 5 x 10^k km) about a sixth of
/// the width long, measured along the parallel through the box's centre (where the
/// projection's scale is what the bar says), drawn at the frame's bottom left. Returns its
/// label (`500 km at 40.0°N`).
fn draw_scale_bar(
    surface: &mut Surface,
    fonts: &super::text::Fonts,
    proj: &Projection,
    frame: &Frame,
    region: Bbox,
    pal: &Palette,
) -> Option<String> {
    let (lon, lat) = (
        (region.lon0 + region.lon1) / 2.0,
        (region.lat0 + region.lat1) / 2.0,
    );
    let (a, b) = (proj.forward(lon - 0.5, lat)?, proj.forward(lon + 0.5, lat)?);
    let (pa, pb) = (frame.pixel(a), frame.pixel(b));
    let px_per_degree = f64::from((pb.0 - pa.0).hypot(pb.1 - pa.1));
    // A degree of longitude on the mean sphere (radius 6,371.0088 km).
    let km_per_degree = 6_371.008_8 * std::f64::consts::PI / 180.0 * lat.to_radians().cos();
    if !(px_per_degree > 0.0 && km_per_degree > 0.0) {
        return None;
    }
    let km_per_px = km_per_degree / px_per_degree;
    let target = km_per_px * f64::from(frame.width) / 6.0;
    let magnitude = 10f64.powf(target.log10().floor());
    let km = [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|k| *k <= target)
        .unwrap_or(magnitude);
    let length = (km / km_per_px) as f32;
    let size = (frame.width as f32 * 0.0105).max(8.0);
    let height = (frame.width as f32 * 0.005).max(3.0);
    let x = frame.width as f32 * 0.03 + 20.0;
    // Above the row of meridian labels; a frame too short for it carries none.
    let y = frame.top + frame.height as f32 - size * 3.2;
    if y - size * 1.5 < frame.top {
        return None;
    }
    let label = if km >= 1.0 {
        format!("{} km", crate::util::trim_decimal(km, 0))
    } else {
        format!("{} m", crate::util::trim_decimal(km * 1000.0, 0))
    };
    // Two halves, dark and light, in a dark outline.
    for (i, colour) in [pal.text, pal.background].into_iter().enumerate() {
        let half = length / 2.0;
        if let Some(r) = Rect::from_xywh(x + half * i as f32, y, half, height) {
            surface.fill_rect(r, colour, false, false);
        }
    }
    let mut pbuilder = PathBuilder::new();
    if let Some(r) = Rect::from_xywh(x, y, length, height) {
        pbuilder.push_rect(r);
    }
    if let Some(path) = pbuilder.finish() {
        surface.stroke(&path, 1.0, pal.text, false);
    }
    fonts.draw(
        surface,
        &label,
        x,
        y - size * 0.4,
        size,
        false,
        pal.text,
        super::text::Align::Left,
    );
    Some(format!(
        "{label} at {}",
        degrees((lat * 10.0).round() / 10.0, 'N', 'S')
    ))
}

fn polyline(pb: &mut PathBuilder, line: &[(f64, f64)], proj: &Projection, frame: &Frame) {
    for run in proj.lines(line) {
        let mut pts = run.into_iter().map(|p| frame.pixel(p));
        if let Some((x, y)) = pts.next() {
            pb.move_to(x, y);
            pts.for_each(|(x, y)| pb.line_to(x, y));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_basemap_has_no_ring_across_the_antimeridian() {
        for detail in [
            crate::basemap::Detail::World,
            crate::basemap::Detail::Region,
            crate::basemap::Detail::Full,
        ] {
            let map = Basemap::embedded(detail).unwrap();
            for c in &map.countries {
                for p in &c.polygons {
                    for ring in std::iter::once(&p.exterior).chain(&p.holes) {
                        assert!(
                            ring.windows(2).all(|w| (w[1].0 - w[0].0).abs() <= 180.0),
                            "{}",
                            c.name
                        );
                    }
                }
            }
        }
    }
}
