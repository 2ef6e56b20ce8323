//! The heat layers: points, cells and hexagons drawn from the places the map shows (binned
//! by the tally, as the tables and GeoJSON are), and the choropleth's country values.

use super::MapReport;
use super::canvas::{Frame, Layout, fill_rings};
use super::options::{Level, MapOptions, Mode};
use super::palette::Palette;
use super::projection::Projection;
use super::scale::ColorScale;
use super::surface::{Surface, paint};
use crate::basemap::{Basemap, Country};
use crate::error::Result;
use crate::geometry::{Ring, cell_ring, hex_rings};
use crate::locate::{CountryCode, Name};
use crate::tally::{CellGrid, Tally, h3_resolution};
use std::collections::{HashMap, HashSet};
use tiny_skia::{Pixmap, Transform};

/// What a heat layer is drawn with.
#[derive(Clone, Copy)]
pub(super) struct Canvas<'a> {
    pub(super) proj: &'a Projection,
    pub(super) layout: &'a Layout,
    pub(super) pal: &'a Palette,
    pub(super) opts: &'a MapOptions,
    /// From this accuracy radius (km) a location is coarse.
    pub(super) coarse_km: u32,
}

impl Canvas<'_> {
    /// The places the map draws: coordinates inside the map's area and weight in the
    /// map's unit, minus coarse ones when they are dropped. What is left out is counted
    /// in the report, and what is kept in `report.drawn`.
    fn drawable(&self, tally: &Tally, report: &mut MapReport) -> Tally {
        let (layout, proj) = (self.layout, self.proj);
        let (unit, coarse_km) = (self.opts.unit, self.coarse_km);
        tally.filtered(|place, w| {
            let n = unit.of(w);
            if n == 0 {
                return false;
            }
            let Some((lat, lon)) = place.coords() else {
                report.no_coordinates = report.no_coordinates.saturating_add(n);
                return false;
            };
            if !layout.shows(proj, lon, lat) {
                report.outside = report.outside.saturating_add(n);
                return false;
            }
            if place.accuracy_radius.is_some_and(|r| r >= coarse_km) {
                report.coarse = report.coarse.saturating_add(n);
                if report.coarse_dropped {
                    return false;
                }
            }
            report.drawn = report.drawn.saturating_add(n);
            true
        })
    }
}

/// The points layer before it is coloured: every drawn place's count in the pixel of the
/// map frame it projects to (spread and blurred as the options ask), and where the
/// heaviest place of each lit pixel lies.
pub(super) struct PointGrid {
    /// Frame width in pixels.
    pub(super) width: usize,
    /// Count per pixel, row by row.
    pub(super) values: Vec<f64>,
    /// Latitude and longitude of the heaviest place in each pixel (before spread and blur).
    pub(super) heaviest: Vec<Option<(f64, f64, u128)>>,
}

/// Bins the drawn places into the frame's pixels; `report` counts what is drawn and left
/// out.
pub(super) fn point_grid(tally: &Tally, canvas: Canvas<'_>, report: &mut MapReport) -> PointGrid {
    let drawn = canvas.drawable(tally, report);
    let Canvas {
        proj, layout, opts, ..
    } = canvas;
    let frame: &Frame = &layout.frame;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut grid = vec![0f64; w * h];
    let mut heaviest: Vec<Option<(f64, f64, u128)>> = vec![None; w * h];
    for (place, weights) in drawn.places() {
        let Some((lat, lon)) = place.coords() else {
            continue;
        };
        let n = opts.unit.of(&weights);
        let Some(p) = proj.forward(lon, lat) else {
            // Not drawn after all (the projection has no point for it).
            report.drawn = report.drawn.saturating_sub(n);
            report.outside = report.outside.saturating_add(n);
            continue;
        };
        let (x, y) = frame.pixel(p);
        let (px, py) = (x.floor() as i64, (y - frame.top).floor() as i64);
        // Latitude 90 / the east edge land on the last row / column, not outside.
        let px = px.clamp(0, w as i64 - 1) as usize;
        let py = py.clamp(0, h as i64 - 1) as usize;
        let i = py * w + px;
        grid[i] += n as f64;
        if heaviest[i].is_none_or(|(_, _, m)| n > m) {
            heaviest[i] = Some((lat, lon, n));
        }
    }
    // Spread first, then blur: a blurred map is round blobs, not the squares a maximum
    // filter would cut out of the blur.
    if opts.spread > 0 {
        grid = spread_max(&grid, w, h, opts.spread as usize);
    }
    if opts.blur > 0.0 {
        // Every non-zero pixel is drawn, and a separable kernel is non-zero on a square:
        // cut the blur where the lightest point's blob reaches three sigmas, so blobs are
        // round (a sum of Gaussians has round contours).
        let least = grid
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        grid = gaussian_blur(&grid, w, h, opts.blur);
        let cut = least * blur_edge(opts.blur) * (1.0 - 1e-9);
        for v in &mut grid {
            if *v < cut {
                *v = 0.0;
            }
        }
    }
    PointGrid {
        width: w,
        values: grid,
        heaviest,
    }
}

/// Every drawn place's count in the pixel it projects to, spread and blurred.
pub(super) fn draw_points(
    surface: &mut Surface,
    tally: &Tally,
    canvas: Canvas<'_>,
    report: &mut MapReport,
) -> ColorScale {
    let grid = point_grid(tally, canvas, report);
    let (frame, pal, opts) = (&canvas.layout.frame, canvas.pal, canvas.opts);
    let scale = ColorScale::fit(opts.scale, grid.values.iter().copied());
    let Some(mut layer) = Pixmap::new(frame.width, frame.height) else {
        return scale;
    };
    for (i, v) in grid.values.iter().enumerate() {
        if let Some(t) = scale.position(*v) {
            layer.pixels_mut()[i] = pal.heat(t).to_color_u8().premultiply();
        }
    }
    surface.pixels(false, |pixmap, _| {
        pixmap.draw_pixmap(
            0,
            frame.top as i32,
            layer.as_ref(),
            &tiny_skia::PixmapPaint::default(),
            Transform::identity(),
            None,
        );
    });
    scale
}

/// One bin of a cells or hex layer.
pub(super) enum Bin {
    /// A grid cell: its south-west corner (longitude, latitude).
    Cell(f64, f64),
    /// An H3 cell.
    Hex(h3o::CellIndex),
}

/// A bin, its rings (more than one where it crosses the antimeridian) and its count.
pub(super) type BinShape = (Bin, Vec<Ring>, u128);

/// The bins of a cells or hex map (as `opts.mode` says), each with its rings and count, and
/// the colour scale fitted to them; `report` counts what is drawn and left out.
pub(super) fn heat_bins(
    tally: &Tally,
    canvas: Canvas<'_>,
    report: &mut MapReport,
) -> Result<(Vec<BinShape>, ColorScale)> {
    let drawn = canvas.drawable(tally, report);
    let opts = canvas.opts;
    let bins: Vec<BinShape> = if opts.mode == Mode::Hex {
        let res = h3_resolution(opts.h3_res)?;
        drawn
            .hex_cells(res, opts.unit)
            .into_iter()
            .map(|(cell, n)| (Bin::Hex(cell), hex_rings(cell), n))
            .collect()
    } else {
        let grid = CellGrid::new(opts.cell)?;
        drawn
            .cells(&grid, opts.unit)
            .into_iter()
            .map(|((row, col), n)| {
                let bounds = grid.bounds(row, col);
                (
                    Bin::Cell(bounds.1, bounds.0),
                    vec![cell_ring(bounds, opts.cell)],
                    n,
                )
            })
            .collect()
    };
    let scale = ColorScale::fit(opts.scale, bins.iter().map(|(_, _, n)| *n as f64));
    Ok((bins, scale))
}

/// Grid cells or H3 hexagons, each filled in its projected shape.
pub(super) fn draw_cells(
    surface: &mut Surface,
    tally: &Tally,
    canvas: Canvas<'_>,
    report: &mut MapReport,
) -> Result<ColorScale> {
    let (bins, scale) = heat_bins(tally, canvas, report)?;
    let Canvas {
        proj,
        layout,
        pal,
        opts,
        ..
    } = canvas;
    // Grid cells narrower than a pixel would all but vanish under anti-aliasing: each is
    // drawn as the pixel its centre falls in, and the report says so.
    let region = layout.region;
    let cell_px = opts.cell * f64::from(layout.frame.width) / (region.lon1 - region.lon0);
    let subpixel = opts.mode == Mode::Cells && cell_px < 1.0;
    if subpixel {
        report.subpixel_cells = Some(cell_px);
    }
    // Those pixels are an image in a vector file, not a path per pixel.
    let mut pixels = Vec::new();
    for (bin, rings, n) in bins {
        let Some(t) = scale.position(n as f64) else {
            continue;
        };
        if let (true, Bin::Cell(lon, lat)) = (subpixel, &bin) {
            let half = opts.cell / 2.0;
            if let Some(p) = proj.forward(lon + half, lat + half) {
                let (x, y) = layout.frame.pixel(p);
                if let Some(r) = tiny_skia::Rect::from_xywh(x.floor(), y.floor(), 1.0, 1.0) {
                    pixels.push((r, pal.heat(t)));
                }
            }
            continue;
        }
        fill_rings(
            surface,
            &rings,
            proj,
            &layout.frame,
            pal.heat(t),
            opts.mode == Mode::Hex,
        );
    }
    if !pixels.is_empty() {
        surface.pixels(true, |pixmap, clip| {
            for (r, colour) in pixels {
                pixmap.fill_rect(r, &paint(colour, false), Transform::identity(), clip);
            }
        });
    }
    Ok(scale)
}

/// The choropleth: each country's (or subdivision's) value (count, or count per million
/// people) and the colour scale fitted to them.
pub(super) struct Choropleth {
    /// Counts by country, and subdivision at the subdivision level.
    counts: HashMap<(CountryCode, Option<Name>), u128>,
    per_capita: bool,
    level: Level,
    /// The tally's subdivisions (in countries the map has subdivisions of) that no feature
    /// matches: `US-XX`, or `US: name` without a code, with their weight.
    unjoined: Vec<(String, u128)>,
    /// Fitted when the map is a choropleth.
    pub(super) scale: Option<ColorScale>,
}

impl Choropleth {
    /// The choropleth of `basemap`'s features: countries, or (at the subdivision level)
    /// the subdivisions of a map of them.
    pub(super) fn new(tally: &Tally, basemap: &Basemap, opts: &MapOptions) -> Self {
        let mut c = Choropleth {
            counts: HashMap::new(),
            per_capita: opts.per_capita,
            level: opts.level,
            unjoined: Vec::new(),
            scale: None,
        };
        match opts.level {
            Level::Country => {
                c.counts = tally
                    .countries(opts.unit)
                    .into_iter()
                    .map(|(code, n)| ((code, None), n))
                    .collect();
            }
            Level::Subdivision => {
                let covered: HashSet<CountryCode> =
                    basemap.countries.iter().filter_map(|f| f.code).collect();
                for s in tally.subdivisions(opts.unit) {
                    if !covered.contains(&s.country) {
                        continue;
                    }
                    match basemap.subdivision(s.country, s.subdivision) {
                        Some(f) => {
                            let e = c.counts.entry((s.country, f.subdivision)).or_default();
                            *e = e.saturating_add(s.count);
                        }
                        None => c.unjoined.push((
                            match (s.subdivision.code, s.subdivision.name) {
                                (Some(code), _) => format!("{}-{code}", s.country),
                                (None, name) => {
                                    format!("{}: {}", s.country, name.map_or("", Name::as_str))
                                }
                            },
                            s.count,
                        )),
                    }
                }
            }
        }
        if opts.mode == Mode::Choropleth {
            let values = basemap.countries.iter().filter_map(|k| c.value(k));
            c.scale = Some(ColorScale::fit(opts.scale, values));
        }
        c
    }

    /// A feature's value, when it has a count (and a population, per capita).
    pub(super) fn value(&self, c: &Country) -> Option<f64> {
        let key = match self.level {
            Level::Country if c.subdivision.is_none() => (c.code?, None),
            Level::Subdivision if c.subdivision.is_some() => (c.code?, c.subdivision),
            _ => return None,
        };
        let n = *self.counts.get(&key)? as f64;
        if self.per_capita {
            c.population.map(|p| n / p * 1e6)
        } else {
            Some(n)
        }
    }

    /// A feature's fill: its value's colour, or the land colour.
    pub(super) fn fill(&self, c: &Country, pal: &Palette) -> tiny_skia::Color {
        match (&self.scale, self.value(c)) {
            (Some(scale), Some(v)) => scale.position(v).map_or(pal.land, |t| pal.heat(t)),
            _ => pal.land,
        }
    }

    /// Counts in the report what the filled countries draw and what is left out: counts
    /// of countries without a polygon, without a population, located weight without a
    /// country. The scale of the legend.
    pub(super) fn account(
        &self,
        tally: &Tally,
        basemap: &Basemap,
        opts: &MapOptions,
        report: &mut MapReport,
    ) -> ColorScale {
        let Some(scale) = &self.scale else {
            return ColorScale::fit(opts.scale, std::iter::empty());
        };
        let located = tally.located_unit(opts.unit);
        report.no_country = located.found - located.with_country;
        if self.level == Level::Subdivision {
            report.drawn = basemap
                .countries
                .iter()
                .filter(|c| !c.polygons.is_empty() && self.value(c).is_some())
                .filter_map(|c| self.counts.get(&(c.code?, c.subdivision)))
                .fold(0u128, |a, n| a.saturating_add(*n));
            for (label, n) in &self.unjoined {
                report.unmapped_weight = report.unmapped_weight.saturating_add(*n);
                report.unmapped_subdivisions.push(label.clone());
            }
            report.unmapped_subdivisions.sort();
            report.no_subdivision = located
                .with_country
                .saturating_sub(report.drawn)
                .saturating_sub(report.unmapped_weight);
            return scale.clone();
        }
        // Drawn: the counts of the countries filled (once per code, whatever the number
        // of basemap features that carry it).
        let filled: HashSet<CountryCode> = basemap
            .countries
            .iter()
            .filter(|c| !c.polygons.is_empty() && self.value(c).is_some())
            .filter_map(|c| c.code)
            .collect();
        let mut codes: Vec<(CountryCode, u128)> =
            self.counts.iter().map(|((c, _), n)| (*c, *n)).collect();
        codes.sort();
        for (code, n) in codes {
            let has_polygon = basemap
                .country(code)
                .is_some_and(|c| !c.polygons.is_empty());
            if filled.contains(&code) {
                report.drawn = report.drawn.saturating_add(n);
            } else if has_polygon {
                report.no_population_weight = report.no_population_weight.saturating_add(n);
                report.no_population.push(code);
            } else {
                report.unmapped_weight = report.unmapped_weight.saturating_add(n);
            }
        }
        report.unmapped = basemap.unmapped(tally, opts.unit);
        scale.clone()
    }
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

/// The blurred value of a unit point three sigmas from its centre (the kernel's product at
/// 0 and at 3 sigma, as [`gaussian_blur`] normalises it).
fn blur_edge(sigma: f32) -> f64 {
    let sigma = f64::from(sigma);
    let r = (sigma * 3.0).ceil() as i64;
    let sum: f64 = (-r..=r)
        .map(|i| (-((i * i) as f64) / (2.0 * sigma * sigma)).exp())
        .sum();
    (-4.5f64).exp() / (sum * sum)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_keeps_the_total_and_spread_keeps_the_peak() {
        let mut g = vec![0.0; 21 * 21];
        g[10 * 21 + 10] = 100.0;
        let b = gaussian_blur(&g, 21, 21, 2.0);
        assert!((b.iter().sum::<f64>() - 100.0).abs() < 1e-6);
        let s = spread_max(&g, 21, 21, 2);
        assert_eq!(s.iter().filter(|v| **v == 100.0).count(), 25);
    }
}
