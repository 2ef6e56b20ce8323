//! Drawing one map: layout, basemap, heat layer, legend and text, from a tally.

use super::projection::{Bbox, Projection, ProjectionKind};
use super::scale::{ColorScale, ScaleKind, short_count};
use super::text::{Align, Fonts};
use crate::basemap::{Basemap, NATURAL_EARTH, Ring};
use crate::error::{Error, Result};
use crate::geometry::split_antimeridian;
use crate::locate::{CountryCode, DatabaseInfo};
use crate::tally::{CellGrid, Tally, Unit};
use std::collections::HashMap;
use tiny_skia::{Color, FillRule, Mask, Paint, PathBuilder, Pixmap, Rect, Stroke, Transform};

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
    fn gradient(self) -> colorous::Gradient {
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
    /// Projection.
    pub projection: ProjectionKind,
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
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            projection: ProjectionKind::EqualEarth,
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
        }
    }
}

/// The accuracy radius (km) from which a location counts as coarse (country centroids,
/// GeoLite2's default location in Kansas).
pub const COARSE_KM: u32 = 1000;

/// What a map shows, for the caller to report (and for the `map` section of the summary).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct MapReport {
    /// Image size in pixels.
    pub width: u32,
    /// Image size in pixels.
    pub height: u32,
    /// What every figure below counts: `addresses` or `/64 subnets`.
    pub unit: &'static str,
    /// Weight drawn: in the heat layer, or in the countries filled (choropleth).
    pub drawn: u128,
    /// Weight with coordinates outside the `--bbox` (not drawn).
    pub outside: u128,
    /// Weight at coarse locations (accuracy radius >= the threshold) inside the map's area.
    pub coarse: u128,
    /// The accuracy radius (km) from which a location counts as coarse.
    pub coarse_km: u32,
    /// Whether that weight was left out (`--drop-coarse`).
    pub coarse_dropped: bool,
    /// Located weight without coordinates (points, cells and hex maps; not drawn).
    pub no_coordinates: u128,
    /// Located weight without a country (choropleth; not drawn).
    pub no_country: u128,
    /// Weight in countries without a polygon in the basemap (choropleth; not drawn).
    pub unmapped_weight: u128,
    /// Countries with counts but no polygon (choropleth).
    pub unmapped: Vec<CountryCode>,
    /// Weight in countries the basemap gives no population (`--per-capita`; not drawn).
    pub no_population_weight: u128,
    /// Those countries.
    pub no_population: Vec<CountryCode>,
    /// The other unit's located weight, never added to this map's counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_unit: Option<OtherUnit>,
    /// The map's subtitle: what is drawn, in which unit, from which database.
    pub subtitle: String,
    /// The attributions in the footer: every database's that has one, then the basemap's.
    pub attributions: Vec<String>,
    /// The footer's notes: what the map includes at coarse locations, and what it leaves
    /// out and why (the words the image carries, or shortened where the width is short).
    pub notes: Vec<String>,
}

/// A unit the map does not show, and how much of it the tally located.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OtherUnit {
    /// `addresses` or `/64 subnets`.
    pub unit: &'static str,
    /// Located weight in that unit.
    pub found: u128,
    /// The unit.
    #[serde(skip)]
    pub kind: Unit,
}

struct Palette {
    background: Color,
    ocean: Color,
    land: Color,
    border: Color,
    outline: Color,
    graticule: Color,
    text: Color,
    muted: Color,
    colormap: Colormap,
    /// Start of the colour map used (dark styles skip the near-black end, which would vanish).
    low: f64,
}

fn rgb(r: u8, g: u8, b: u8) -> Color {
    Color::from_rgba8(r, g, b, 255)
}

fn palette(style: Style, colormap: Option<Colormap>) -> Palette {
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
            graticule: rgb(236, 238, 242),
            text: rgb(34, 34, 34),
            muted: rgb(100, 100, 100),
            colormap: colormap.unwrap_or(Colormap::YlOrRd),
            low: 0.12,
        },
    }
}

impl Palette {
    fn heat(&self, t: f64) -> Color {
        let c = self
            .colormap
            .gradient()
            .eval_continuous(self.low + (1.0 - self.low) * t);
        rgb(c.r, c.g, c.b)
    }
}

/// Maps projected metres to image pixels.
struct Frame {
    x0: f64,
    y1: f64,
    sx: f64,
    sy: f64,
    top: f32,
    width: u32,
    height: u32,
}

impl Frame {
    fn pixel(&self, (x, y): (f64, f64)) -> (f32, f32) {
        (
            ((x - self.x0) * self.sx) as f32,
            self.top + ((self.y1 - y) * self.sy) as f32,
        )
    }
}

fn paint(color: Color, anti_alias: bool) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(color);
    p.anti_alias = anti_alias;
    p
}

fn ring_path(pb: &mut PathBuilder, ring: &[(f64, f64)], proj: &Projection, frame: &Frame) {
    let mut first = true;
    for &(lon, lat) in ring {
        let Some(p) = proj.forward(lon, lat) else {
            continue;
        };
        let (x, y) = frame.pixel(p);
        if first {
            pb.move_to(x, y);
            first = false;
        } else {
            pb.line_to(x, y);
        }
    }
    if !first {
        pb.close();
    }
}

fn ring_bbox(ring: &[(f64, f64)]) -> Bbox {
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

fn overlaps(a: &Bbox, b: &Bbox) -> bool {
    a.lon0 <= b.lon1 && b.lon0 <= a.lon1 && a.lat0 <= b.lat1 && b.lat0 <= a.lat1
}

/// Renders a map of a tally.
pub fn render(
    tally: &Tally,
    basemap: &Basemap,
    databases: &[DatabaseInfo],
    opts: &MapOptions,
) -> Result<(Pixmap, MapReport)> {
    if !(64..=16_384).contains(&opts.width) {
        return Err(Error::Option {
            name: "width",
            message: format!("must be 64 to 16384 pixels, got {}", opts.width),
        });
    }
    let proj = Projection::new(opts.projection)?;
    let pal = palette(opts.style, opts.colormap);
    let region = opts.bbox.unwrap_or(Bbox::WORLD);
    let (mut x0, mut y0, mut x1, mut y1) = proj.extent(region);
    if opts.bbox.is_none() {
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
    let (header, footer) = if opts.legend {
        // Room for the colour bar, two note lines and the attribution.
        (
            (w * 0.07).max(48.0),
            (w * 0.085).max(64.0) + tiny_text(w) * 1.7,
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
    let mut pixmap = Pixmap::new(width, height)
        .ok_or_else(|| Error::Internal("cannot allocate the image".into()))?;
    pixmap.fill(pal.background);
    let frame = Frame {
        x0,
        y1,
        sx: f64::from(width) / (x1 - x0),
        sy: f64::from(map_height) / (y1 - y0),
        top: header,
        width,
        height: map_height,
    };
    let mut clip = Mask::new(width, height)
        .ok_or_else(|| Error::Internal("cannot allocate the mask".into()))?;
    let map_rect = Rect::from_xywh(0.0, header, w, map_height as f32)
        .ok_or_else(|| Error::Internal("empty map area".into()))?;
    clip.fill_path(
        &PathBuilder::from_rect(map_rect),
        FillRule::Winding,
        false,
        Transform::identity(),
    );
    let clip = Some(&clip);

    // Ocean: the globe's outline (pseudo-cylindrical projections are not rectangles).
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
        pixmap.fill_path(
            globe,
            &paint(pal.ocean, true),
            FillRule::Winding,
            Transform::identity(),
            clip,
        );
    }

    // Land, and the choropleth's fills.
    let mut report = MapReport {
        width,
        height,
        unit: opts.unit.label(),
        ..MapReport::default()
    };
    report.other_unit = Unit::ALL
        .into_iter()
        .filter(|u| *u != opts.unit)
        .map(|u| OtherUnit {
            unit: u.label(),
            found: tally.located_unit(u).found,
            kind: u,
        })
        .find(|o| o.found > 0);
    let counts: HashMap<CountryCode, u128> = tally.countries(opts.unit).into_iter().collect();
    let country_value = |c: &crate::basemap::Country| -> Option<f64> {
        let n = *counts.get(&c.code?)? as f64;
        if opts.per_capita {
            c.population.map(|p| n / p * 1e6)
        } else {
            Some(n)
        }
    };
    let choropleth_scale = (opts.mode == Mode::Choropleth).then(|| {
        ColorScale::fit(
            opts.scale,
            basemap.countries.iter().filter_map(country_value),
        )
    });
    let view = Bbox {
        lon0: region.lon0 - 1.0,
        lat0: region.lat0 - 1.0,
        lon1: region.lon1 + 1.0,
        lat1: region.lat1 + 1.0,
    };
    let mut borders = PathBuilder::new();
    for country in &basemap.countries {
        let mut pb = PathBuilder::new();
        for polygon in &country.polygons {
            if !overlaps(&ring_bbox(&polygon.exterior), &view) {
                continue;
            }
            for ring in std::iter::once(&polygon.exterior).chain(&polygon.holes) {
                for part in split_antimeridian(ring) {
                    ring_path(&mut pb, &part, &proj, &frame);
                    ring_path(&mut borders, &part, &proj, &frame);
                }
            }
        }
        let Some(path) = pb.finish() else { continue };
        let fill = match (&choropleth_scale, country_value(country)) {
            (Some(scale), Some(v)) => scale.position(v).map_or(pal.land, |t| pal.heat(t)),
            _ => pal.land,
        };
        pixmap.fill_path(
            &path,
            &paint(fill, true),
            FillRule::EvenOdd,
            Transform::identity(),
            clip,
        );
    }
    if let Some(path) = borders.finish() {
        let stroke = Stroke {
            width: (w / 2400.0).clamp(0.35, 1.2),
            ..Stroke::default()
        };
        pixmap.stroke_path(
            &path,
            &paint(pal.border, true),
            &stroke,
            Transform::identity(),
            clip,
        );
    }
    if opts.graticule {
        draw_graticule(&mut pixmap, &proj, &frame, &pal, clip);
    }

    // The heat layer.
    let coarse_km = opts.drop_coarse_km.unwrap_or(COARSE_KM);
    report.coarse_dropped = opts.drop_coarse_km.is_some();
    report.coarse_km = coarse_km;
    let canvas = Canvas {
        proj: &proj,
        frame: &frame,
        pal: &pal,
        opts,
        region,
        coarse_km,
    };
    let legend_scale = match opts.mode {
        Mode::Choropleth => {
            if let Some(scale) = &choropleth_scale {
                // Drawn: the counts of the countries filled (once per code, whatever the
                // number of basemap features that carry it).
                let filled: std::collections::HashSet<CountryCode> = basemap
                    .countries
                    .iter()
                    .filter(|c| !c.polygons.is_empty() && country_value(c).is_some())
                    .filter_map(|c| c.code)
                    .collect();
                let mut codes: Vec<(&CountryCode, &u128)> = counts.iter().collect();
                codes.sort();
                for (code, n) in codes {
                    let has_polygon = basemap
                        .country(*code)
                        .is_some_and(|c| !c.polygons.is_empty());
                    if filled.contains(code) {
                        report.drawn = report.drawn.saturating_add(*n);
                    } else if has_polygon {
                        report.no_population_weight =
                            report.no_population_weight.saturating_add(*n);
                        report.no_population.push(*code);
                    } else {
                        report.unmapped_weight = report.unmapped_weight.saturating_add(*n);
                    }
                }
                let located = tally.located_unit(opts.unit);
                report.no_country = located.found - located.with_country;
                report.unmapped = basemap.unmapped(tally, opts.unit);
                scale.clone()
            } else {
                ColorScale::fit(opts.scale, std::iter::empty())
            }
        }
        Mode::Points => draw_points(&mut pixmap, tally, canvas, &mut report),
        Mode::Cells | Mode::Hex => draw_cells(&mut pixmap, tally, canvas, clip, &mut report)?,
    };
    if let Some(globe) = &globe
        && opts.bbox.is_none()
    {
        let stroke = Stroke {
            width: (w / 1600.0).max(0.6),
            ..Stroke::default()
        };
        pixmap.stroke_path(
            globe,
            &paint(pal.outline, true),
            &stroke,
            Transform::identity(),
            clip,
        );
    }
    report.subtitle = subtitle(opts, databases, &report);
    for a in databases.iter().filter_map(|d| d.attribution.clone()) {
        if !report.attributions.contains(&a) {
            report.attributions.push(a);
        }
    }
    report
        .attributions
        .push(format!("Basemap: {NATURAL_EARTH}"));
    let notes = footer_notes(opts, &report);
    report.notes = notes.iter().map(|(long, _)| long.clone()).collect();
    if opts.legend {
        let fonts = Fonts::load()
            .ok_or_else(|| Error::Internal("the embedded font cannot be read".into()))?;
        draw_legend(
            &mut pixmap,
            &fonts,
            &pal,
            opts,
            &notes,
            &legend_scale,
            &report,
            header,
            map_height as f32 + header,
        );
    }
    Ok((pixmap, report))
}

fn draw_graticule(
    pixmap: &mut Pixmap,
    proj: &Projection,
    frame: &Frame,
    pal: &Palette,
    clip: Option<&Mask>,
) {
    let mut pb = PathBuilder::new();
    let max = proj.kind().max_lat();
    for lon in (-180..=180).step_by(30) {
        let line: Vec<(f64, f64)> = (0..=90)
            .map(|i| (f64::from(lon), -max + 2.0 * max * f64::from(i) / 90.0))
            .collect();
        polyline(&mut pb, &line, proj, frame);
    }
    for lat in (-60..=60).step_by(30) {
        let line: Vec<(f64, f64)> = (0..=180)
            .map(|i| (-180.0 + 2.0 * f64::from(i), f64::from(lat)))
            .collect();
        polyline(&mut pb, &line, proj, frame);
    }
    if let Some(path) = pb.finish() {
        let stroke = Stroke {
            width: (frame.width as f32 / 2000.0).max(0.5),
            ..Stroke::default()
        };
        pixmap.stroke_path(
            &path,
            &paint(pal.graticule, true),
            &stroke,
            Transform::identity(),
            clip,
        );
    }
}

fn polyline(pb: &mut PathBuilder, line: &[(f64, f64)], proj: &Projection, frame: &Frame) {
    for (i, &(lon, lat)) in line.iter().enumerate() {
        if let Some(p) = proj.forward(lon, lat) {
            let (x, y) = frame.pixel(p);
            if i == 0 {
                pb.move_to(x, y)
            } else {
                pb.line_to(x, y)
            }
        }
    }
}

/// Places with coordinates inside the map's area and their weights in the map's unit,
/// minus coarse ones when they are dropped; what is not drawn is counted in the report.
fn located_places(
    tally: &Tally,
    region: Bbox,
    coarse_km: u32,
    unit: Unit,
    report: &mut MapReport,
) -> Vec<(f64, f64, u128)> {
    let mut out = Vec::new();
    for (place, w) in tally.places() {
        let n = unit.of(&w);
        if n == 0 {
            continue;
        }
        let Some((lat, lon)) = place.coords() else {
            report.no_coordinates = report.no_coordinates.saturating_add(n);
            continue;
        };
        if !region.contains(lon, lat) {
            report.outside = report.outside.saturating_add(n);
            continue;
        }
        if place.accuracy_radius.is_some_and(|r| r >= coarse_km) {
            report.coarse = report.coarse.saturating_add(n);
            if report.coarse_dropped {
                continue;
            }
        }
        out.push((lon, lat, n));
    }
    out
}

/// What a heat layer is drawn with: projection, frame, colours, options, region, threshold.
#[derive(Clone, Copy)]
struct Canvas<'a> {
    proj: &'a Projection,
    frame: &'a Frame,
    pal: &'a Palette,
    opts: &'a MapOptions,
    region: Bbox,
    coarse_km: u32,
}

fn draw_points(
    pixmap: &mut Pixmap,
    tally: &Tally,
    canvas: Canvas<'_>,
    report: &mut MapReport,
) -> ColorScale {
    let Canvas {
        proj,
        frame,
        pal,
        opts,
        region,
        coarse_km,
    } = canvas;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut grid = vec![0f64; w * h];
    for (lon, lat, n) in located_places(tally, region, coarse_km, opts.unit, report) {
        let Some(p) = proj.forward(lon, lat) else {
            continue;
        };
        let (x, y) = frame.pixel(p);
        let (px, py) = (x.floor() as i64, (y - frame.top).floor() as i64);
        // Latitude 90 / the east edge land on the last row / column, not outside.
        let px = px.clamp(0, w as i64 - 1) as usize;
        let py = py.clamp(0, h as i64 - 1) as usize;
        grid[py * w + px] += n as f64;
        report.drawn = report.drawn.saturating_add(n);
    }
    if opts.blur > 0.0 {
        grid = gaussian_blur(&grid, w, h, opts.blur);
    }
    if opts.spread > 0 {
        grid = spread_max(&grid, w, h, opts.spread as usize);
    }
    let scale = ColorScale::fit(opts.scale, grid.iter().copied());
    let Some(mut layer) = Pixmap::new(frame.width, frame.height) else {
        return scale;
    };
    for (i, v) in grid.iter().enumerate() {
        if let Some(t) = scale.position(*v) {
            layer.pixels_mut()[i] = pal.heat(t).to_color_u8().premultiply();
        }
    }
    pixmap.draw_pixmap(
        0,
        frame.top as i32,
        layer.as_ref(),
        &tiny_skia::PixmapPaint::default(),
        Transform::identity(),
        None,
    );
    scale
}

fn draw_cells(
    pixmap: &mut Pixmap,
    tally: &Tally,
    canvas: Canvas<'_>,
    clip: Option<&Mask>,
    report: &mut MapReport,
) -> Result<ColorScale> {
    let Canvas {
        proj,
        frame,
        pal,
        opts,
        region,
        coarse_km,
    } = canvas;
    // Bin the places, then draw each bin as a polygon in its projected shape.
    let located = located_places(tally, region, coarse_km, opts.unit, report);
    report.drawn = located.iter().fold(0u128, |a, p| a.saturating_add(p.2));
    let bins: Vec<(Vec<Ring>, u128)> = if opts.mode == Mode::Hex {
        let res = crate::tally::h3_resolution(opts.h3_res)?;
        let mut hexes: std::collections::BTreeMap<h3o::CellIndex, u128> =
            std::collections::BTreeMap::new();
        for (lon, lat, n) in located {
            if let Ok(ll) = h3o::LatLng::new(lat, lon) {
                *hexes.entry(ll.to_cell(res)).or_default() += n;
            }
        }
        hexes
            .into_iter()
            .map(|(cell, n)| (crate::geometry::hex_rings(cell), n))
            .collect()
    } else {
        let grid = CellGrid::new(opts.cell)?;
        let mut cells: std::collections::BTreeMap<(u32, u32), u128> =
            std::collections::BTreeMap::new();
        for (lon, lat, n) in located {
            *cells.entry(grid.cell(lat, lon)).or_default() += n;
        }
        cells
            .into_iter()
            .map(|((row, col), n)| {
                (
                    vec![crate::geometry::cell_ring(grid.bounds(row, col), opts.cell)],
                    n,
                )
            })
            .collect()
    };
    let scale = ColorScale::fit(opts.scale, bins.iter().map(|(_, n)| *n as f64));
    for (rings, n) in bins {
        let Some(t) = scale.position(n as f64) else {
            continue;
        };
        let mut pb = PathBuilder::new();
        for ring in &rings {
            ring_path(&mut pb, ring, proj, frame);
        }
        if let Some(path) = pb.finish() {
            pixmap.fill_path(
                &path,
                &paint(pal.heat(t), opts.mode == Mode::Hex),
                FillRule::Winding,
                Transform::identity(),
                clip,
            );
        }
    }
    Ok(scale)
}

/// Grows every non-zero pixel to the maximum over a square of radius `r` (two 1-D passes).
fn spread_max(grid: &[f64], w: usize, h: usize, r: usize) -> Vec<f64> {
    let mut tmp = vec![0f64; grid.len()];
    for y in 0..h {
        for x in 0..w {
            let (a, b) = (x.saturating_sub(r), (x + r).min(w - 1));
            tmp[y * w + x] = grid[y * w + a..=y * w + b]
                .iter()
                .copied()
                .fold(0.0, f64::max);
        }
    }
    let mut out = vec![0f64; grid.len()];
    for y in 0..h {
        let (a, b) = (y.saturating_sub(r), (y + r).min(h - 1));
        for x in 0..w {
            out[y * w + x] = (a..=b).map(|yy| tmp[yy * w + x]).fold(0.0, f64::max);
        }
    }
    out
}

/// Separable Gaussian blur with standard deviation `sigma` pixels (preserves the total).
fn gaussian_blur(grid: &[f64], w: usize, h: usize, sigma: f32) -> Vec<f64> {
    let sigma = f64::from(sigma);
    let r = (sigma * 3.0).ceil() as isize;
    let kernel: Vec<f64> = (-r..=r)
        .map(|i| (-((i * i) as f64) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = kernel.iter().sum();
    let kernel: Vec<f64> = kernel.iter().map(|k| k / sum).collect();
    let pass = |src: &[f64], horizontal: bool| {
        let mut dst = vec![0f64; src.len()];
        for y in 0..h as isize {
            for x in 0..w as isize {
                let v = src[(y as usize) * w + x as usize];
                if v == 0.0 {
                    continue;
                }
                for (k, weight) in kernel.iter().enumerate() {
                    let d = k as isize - r;
                    let (tx, ty) = if horizontal { (x + d, y) } else { (x, y + d) };
                    if tx >= 0 && ty >= 0 && (tx as usize) < w && (ty as usize) < h {
                        dst[ty as usize * w + tx as usize] += v * weight;
                    }
                }
            }
        }
        dst
    };
    pass(&pass(grid, true), false)
}

/// The subtitle: the count drawn and its unit, the databases with their dates, the
/// projection.
fn subtitle(opts: &MapOptions, databases: &[DatabaseInfo], report: &MapReport) -> String {
    // Every database the tally was made with (a merge of mixed databases names them all).
    let mut names: Vec<String> = Vec::new();
    for d in databases {
        let name = format!("{} ({})", d.display_name(), d.build_date);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let projection = match opts.projection {
        ProjectionKind::EqualEarth => "Equal Earth",
        ProjectionKind::Robinson => "Robinson",
        ProjectionKind::Equirectangular => "Equirectangular",
        ProjectionKind::Mercator => "Mercator",
    };
    format!(
        "{} {} drawn · {} · {projection} projection",
        thousands(report.drawn),
        opts.unit.noun(report.drawn),
        names.join(" + ")
    )
}

/// The footer's notes, each in a long and a short form: the share drawn at coarse
/// locations, and what is not drawn and why.
fn footer_notes(opts: &MapOptions, report: &MapReport) -> Vec<(String, String)> {
    let unit = opts.unit.noun(report.coarse);
    let mut lines = Vec::new();
    if report.coarse > 0 && !report.coarse_dropped && opts.mode != Mode::Choropleth {
        let share = report.coarse as f64 / report.drawn.max(1) as f64 * 100.0;
        let km = report.coarse_km;
        let s = format!(
            "Includes {} {unit} ({share:.1}%) at coarse locations (accuracy ≥ {km} km)",
            thousands(report.coarse)
        );
        lines.push((
            format!("{s}, e.g. country centroids; --drop-coarse leaves them out"),
            s,
        ));
    }
    let not_drawn = not_drawn_parts(report, opts.unit);
    if !not_drawn.is_empty() {
        let join = |long: bool| {
            let v: Vec<&str> = not_drawn
                .iter()
                .map(|(l, s)| if long { l.as_str() } else { s.as_str() })
                .collect();
            format!("Not drawn: {}", v.join(" · "))
        };
        lines.push((join(true), join(false)));
    }
    lines
}

/// The size of the footer's notes and attribution for a map `w` pixels wide.
fn tiny_text(w: f32) -> f32 {
    (w * 0.0095).max(8.0)
}

/// What a map leaves out and why, each as a long and a short phrase (empty when it draws
/// everything located in its unit).
fn not_drawn_parts(report: &MapReport, unit: Unit) -> Vec<(String, String)> {
    let mut parts = Vec::new();
    let mut first = true;
    let mut add = |n: u128, why: String, short_why: &str| {
        if n == 0 {
            return;
        }
        let u = if first {
            format!(" {}", unit.noun(n))
        } else {
            String::new()
        };
        first = false;
        parts.push((
            format!("{}{u} {why}", thousands(n)),
            format!("{}{u} {short_why}", short_count(n as f64)),
        ));
    };
    if report.coarse_dropped {
        add(
            report.coarse,
            format!(
                "at coarse locations (accuracy ≥ {} km, --drop-coarse)",
                report.coarse_km
            ),
            "coarse",
        );
    }
    add(report.outside, "outside the map's area".into(), "outside");
    add(
        report.no_coordinates,
        "without coordinates".into(),
        "without coordinates",
    );
    add(report.no_country, "without a country".into(), "no country");
    let codes = |v: &[CountryCode]| {
        let mut names: Vec<String> = v.iter().take(6).map(ToString::to_string).collect();
        if v.len() > 6 {
            names.push("...".to_owned());
        }
        names.join(", ")
    };
    add(
        report.unmapped_weight,
        format!(
            "in countries without a polygon ({})",
            codes(&report.unmapped)
        ),
        "unmapped",
    );
    add(
        report.no_population_weight,
        format!(
            "in countries without a population figure ({})",
            codes(&report.no_population)
        ),
        "no population",
    );
    if let Some(o) = &report.other_unit {
        let (noun, flag) = (o.kind.noun(o.found), o.kind.flag());
        parts.push((
            format!("{} {noun} (--unit {flag})", thousands(o.found)),
            format!("{} {noun} (--unit {flag})", short_count(o.found as f64)),
        ));
    }
    parts
}

fn thousands(n: u128) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn draw_legend(
    pixmap: &mut Pixmap,
    fonts: &Fonts,
    pal: &Palette,
    opts: &MapOptions,
    notes: &[(String, String)],
    scale: &ColorScale,
    report: &MapReport,
    header: f32,
    footer_top: f32,
) {
    let w = pixmap.width() as f32;
    let margin = w * 0.02;
    let big = (w * 0.021).max(13.0);
    let small = (w * 0.0115).max(9.0);
    let tiny = tiny_text(w);
    let title = opts
        .title
        .clone()
        .unwrap_or_else(|| "Geo-location of IP addresses".to_owned());
    fonts.draw(
        pixmap,
        &title,
        margin,
        header * 0.48,
        big,
        true,
        pal.text,
        Align::Left,
    );
    let unit = opts.unit.label();
    let subtitle = &report.subtitle;
    fonts.draw(
        pixmap,
        subtitle,
        margin,
        header * 0.84,
        small,
        false,
        pal.muted,
        Align::Left,
    );

    // Colour bar with tick labels that are real counts under the scale.
    let bar_w = w * 0.34;
    let bar_h = (w * 0.009).max(6.0);
    let bar_x = (w - bar_w) / 2.0;
    let bar_y = footer_top + w * 0.014;
    if scale.max() > 0.0 {
        let steps = bar_w.round() as u32;
        for i in 0..steps {
            let t = f64::from(i) / f64::from(steps.max(2) - 1);
            if let Some(r) = Rect::from_xywh(bar_x + i as f32, bar_y, 1.0, bar_h) {
                pixmap.fill_rect(r, &paint(pal.heat(t), false), Transform::identity(), None);
            }
        }
        for k in 0..=4 {
            let t = f64::from(k) / 4.0;
            let x = bar_x + bar_w * t as f32;
            fonts.draw(
                pixmap,
                &short_count(scale.value_at(t)),
                x,
                bar_y + bar_h + small * 1.25,
                small,
                false,
                pal.text,
                Align::Center,
            );
        }
    }
    let bar_label = match (opts.mode, opts.per_capita) {
        (Mode::Points, _) => format!("{unit} per pixel"),
        (Mode::Cells, _) => format!(
            "{unit} per {}° cell",
            crate::util::trim_decimal(opts.cell, 4)
        ),
        (Mode::Choropleth, true) => format!("{unit} per million people"),
        (Mode::Choropleth, false) => format!("{unit} per country"),
        (Mode::Hex, _) => format!("{unit} per H3 cell (resolution {})", opts.h3_res),
    };
    let scale_name = match opts.scale {
        ScaleKind::EqHist => "histogram-equalised",
        ScaleKind::Log => "log scale",
        ScaleKind::Cbrt => "cube-root scale",
        ScaleKind::Linear => "linear scale",
    };
    fonts.draw(
        pixmap,
        &bar_label,
        bar_x - margin * 0.6,
        bar_y + bar_h,
        small,
        false,
        pal.text,
        Align::Right,
    );
    fonts.draw(
        pixmap,
        scale_name,
        bar_x + bar_w + margin * 0.6,
        bar_y + bar_h,
        small,
        false,
        pal.muted,
        Align::Left,
    );

    // What the map includes and leaves out, for this map; then the attribution.
    let bottom = pixmap.height() as f32;
    let fits = |text: &str| fonts.width(text, tiny, false) <= w - 2.0 * margin;
    let lines: Vec<&String> = notes
        .iter()
        .map(|(long, short)| if fits(long) { long } else { short })
        .collect();
    for (i, line) in lines.iter().rev().enumerate() {
        fonts.draw(
            pixmap,
            line,
            margin,
            bottom - tiny * (2.6 + 1.7 * i as f32),
            tiny,
            false,
            pal.muted,
            Align::Left,
        );
    }
    let mut sources = report.attributions.clone();
    sources.push("ipatlas".to_owned());
    fonts.draw(
        pixmap,
        &sources.join(" · "),
        margin,
        bottom - tiny * 0.9,
        tiny,
        false,
        pal.muted,
        Align::Left,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_basemap_has_no_ring_across_the_antimeridian() {
        for detail in [
            crate::basemap::Detail::World,
            crate::basemap::Detail::Region,
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

    #[test]
    fn blur_keeps_the_total_and_spread_keeps_the_peak() {
        let mut g = vec![0.0; 21 * 21];
        g[10 * 21 + 10] = 100.0;
        let b = gaussian_blur(&g, 21, 21, 2.0);
        assert!((b.iter().sum::<f64>() - 100.0).abs() < 1e-6);
        let s = spread_max(&g, 21, 21, 2);
        assert_eq!(s.iter().filter(|v| **v == 100.0).count(), 25);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
