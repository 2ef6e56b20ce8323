//! The interactive map: one self-contained HTML page (no network, no third-party code) with
//! the basemap's countries as vector paths, the heat layers (countries, cells, hexagons,
//! points) as SVG drawn from the same projected geometry as the PNG, their legends computed
//! here, and a small script of ipatlas's own for pan, zoom, hover and switching layers.

use super::MapReport;
use super::canvas::{Frame, Layout, graticule_lines, ring_bbox};
use super::heat::{Bin, Canvas, Choropleth, heat_bins, point_grid};
use super::legend::{scale_name, title};
use super::options::{MapOptions, Mode};
use super::palette::{Palette, palette};
use super::projection::Projection;
use super::scale::ColorScale;
use crate::basemap::Basemap;
use crate::error::Result;
use crate::locate::DatabaseInfo;
use crate::tally::Tally;
use std::fmt::Write as _;

/// Colour classes a page's features are filled with (`c0` to `c99`, positions 0 to 1).
const LEVELS: usize = 100;

/// What shapes the page besides the map options.
#[derive(Clone, Debug)]
pub struct HtmlOptions {
    /// The page's size limit in bytes: heat layers are left out (points first, then
    /// hexagons, then cells) until the page fits, and the page says which.
    pub max_bytes: usize,
}

impl HtmlOptions {
    /// A size limit in megabytes, from 0.1 to 1000; `None` outside that range.
    #[must_use]
    pub fn from_mb(mb: f64) -> Option<Self> {
        (mb.is_finite() && (0.1..=1000.0).contains(&mb)).then_some(HtmlOptions {
            max_bytes: (mb * 1e6) as usize,
        })
    }
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions {
            max_bytes: 10_000_000,
        }
    }
}

/// One layer of a page.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct HtmlLayer {
    /// `countries`, `cells`, `hex` or `points`.
    pub id: &'static str,
    /// Features drawn: countries filled, cells, hexagons, or lit pixels.
    pub features: usize,
    /// Weight drawn, in the map's unit.
    pub drawn: u128,
    /// The layer's size in the page, in bytes (before it was left out, if it was).
    pub bytes: usize,
    /// Left out to keep the page under its size limit.
    pub dropped: bool,
}

/// What a page holds.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct HtmlReport {
    /// The page's size in bytes.
    pub bytes: usize,
    /// The layer shown when the page opens.
    pub shown: &'static str,
    /// Every layer, kept or left out.
    pub layers: Vec<HtmlLayer>,
    /// What the page says was left out for size.
    pub notes: Vec<String>,
    /// What the layer shown first draws and leaves out (as the PNG's report).
    #[serde(skip)]
    pub shown_report: MapReport,
}

/// A layer as the page carries it.
struct LayerOut {
    id: &'static str,
    label: &'static str,
    mode: Mode,
    svg: String,
    features: usize,
    report: MapReport,
    scale: ColorScale,
    opts: MapOptions,
}

/// Writes a map of `tally` as one HTML page: every heat layer the tally can show, the one
/// `opts.mode` names shown first; the rest of `opts` as for the PNG.
pub fn render_html(
    tally: &Tally,
    basemap: &Basemap,
    databases: &[DatabaseInfo],
    opts: &MapOptions,
    html: &HtmlOptions,
) -> Result<(String, HtmlReport)> {
    // The SVG is the map frame alone; title, legend and notes are the page's own text.
    let frame_opts = MapOptions {
        legend: false,
        ..opts.clone()
    };
    let proj = Projection::for_map(opts.projection, opts.bbox)?;
    let pal = palette(opts.style, opts.colormap);
    let layout = Layout::new(&proj, &frame_opts, 1)?;

    // One choropleth: the countries layer's scale and the land paths' colours.
    let countries = Choropleth::new(
        tally,
        basemap,
        &MapOptions {
            mode: Mode::Choropleth,
            level: super::options::Level::Country,
            ..frame_opts.clone()
        },
    );
    let mut layers = Vec::new();
    for (id, label, mode) in [
        ("countries", "Countries", Mode::Choropleth),
        ("cells", "Cells", Mode::Cells),
        ("hex", "Hexagons", Mode::Hex),
        ("points", "Points", Mode::Points),
    ] {
        // The page's points are single pixels (hover reads each); spread and blur are
        // the PNG's.
        let lopts = MapOptions {
            mode,
            spread: 0,
            blur: 0.0,
            ..frame_opts.clone()
        };
        let canvas = Canvas {
            proj: &proj,
            layout: &layout,
            pal: &pal,
            opts: &lopts,
            coarse_km: 0,
        };
        layers.push(layer(tally, basemap, &countries, canvas, id, label)?);
    }
    let (land, filled) = land_svg(basemap, &layout, &proj, &countries, tally, opts);
    // The countries layer's features are the land paths it colours.
    if let Some(l) = layers.iter_mut().find(|l| l.mode == Mode::Choropleth) {
        l.features = filled;
    }
    // Leave heat layers out, the biggest kinds first, until the page fits.
    let mut dropped: Vec<&'static str> = Vec::new();
    let mut over = false;
    loop {
        let report = html_report(&layers, &dropped, opts, databases, html, over);
        let kept: Vec<&LayerOut> = layers.iter().filter(|l| !dropped.contains(&l.id)).collect();
        let page = page(
            opts, &pal, &proj, &layout, &land, &kept, &report, basemap, databases,
        );
        if page.len() <= html.max_bytes || over {
            let bytes = page.len();
            return Ok((page, HtmlReport { bytes, ..report }));
        }
        let next = ["points", "hex", "cells"].into_iter().find(|id| {
            !dropped.contains(id) && layers.iter().any(|l| l.id == *id && !l.svg.is_empty())
        });
        match next {
            Some(id) => dropped.push(id),
            // Nothing left to leave out: the page says it is over its limit.
            None => over = true,
        }
    }
}

/// The report of a page with the `dropped` layers left out.
fn html_report(
    layers: &[LayerOut],
    dropped: &[&'static str],
    opts: &MapOptions,
    databases: &[DatabaseInfo],
    html: &HtmlOptions,
    over: bool,
) -> HtmlReport {
    let limit = html.max_bytes as f64 / 1e6;
    let mut report = HtmlReport {
        bytes: 0,
        shown: "countries",
        layers: layers
            .iter()
            .map(|l| HtmlLayer {
                id: l.id,
                features: l.features,
                drawn: l.report.drawn,
                bytes: l.svg.len(),
                dropped: dropped.contains(&l.id),
            })
            .collect(),
        notes: Vec::new(),
        shown_report: MapReport::default(),
    };
    for id in dropped {
        let Some(l) = layers.iter().find(|l| l.id == *id) else {
            continue;
        };
        report.notes.push(format!(
            "The {} layer ({} features, {:.1} MB) is left out to keep the page under {limit:.1} MB; the PNG and GeoJSON outputs have it",
            l.label.to_lowercase(),
            l.features,
            l.svg.len() as f64 / 1e6,
        ));
    }
    if over {
        report.notes.push(format!(
            "The page is larger than {limit:.1} MB even without its heat layers"
        ));
    }
    let wanted = layers.iter().find(|l| l.mode == opts.mode).map(|l| l.id);
    report.shown = wanted
        .filter(|id| !dropped.contains(id))
        .unwrap_or("countries");
    if let Some(l) = layers.iter().find(|l| l.id == report.shown) {
        let mut shown = l.report.clone();
        shown.finish(&l.opts, databases);
        report.shown_report = shown;
    }
    report
}

/// One heat layer (`canvas.opts.mode`): its SVG group, its report and scale. `countries`
/// is the page's choropleth, for the countries layer.
fn layer(
    tally: &Tally,
    basemap: &Basemap,
    countries: &Choropleth,
    canvas: Canvas<'_>,
    id: &'static str,
    label: &'static str,
) -> Result<LayerOut> {
    let (proj, layout, opts) = (canvas.proj, canvas.layout, canvas.opts.clone());
    let mut report = MapReport::new(tally, &opts, layout, proj);
    let canvas = Canvas {
        coarse_km: report.coarse_km,
        ..canvas
    };
    let mut svg = String::new();
    let mut features = 0;
    let scale = match opts.mode {
        Mode::Choropleth => {
            // The countries are the land paths, coloured when this layer is shown.
            countries.account(tally, basemap, &opts, &mut report)
        }
        Mode::Points => {
            let grid = point_grid(tally, canvas, &mut report);
            let scale = ColorScale::fit(opts.scale, grid.values.iter().copied());
            for (i, v) in grid.values.iter().enumerate() {
                let Some(t) = scale.position(*v) else {
                    continue;
                };
                let (x, y) = (i % grid.width, i / grid.width);
                let _ = write!(
                    svg,
                    r#"<path class="c{}" d="M{x} {y}h1v1h-1z" data-n="{}""#,
                    level(t),
                    v.round()
                );
                if let Some((lat, lon, _)) = grid.heaviest[i] {
                    let _ = write!(svg, r#" data-l="{},{}""#, coord(lat), coord(lon));
                }
                svg.push_str("/>");
                features += 1;
            }
            scale
        }
        Mode::Cells | Mode::Hex => {
            let (bins, scale) = heat_bins(tally, canvas, &mut report)?;
            for (bin, rings, n) in bins {
                let Some(t) = scale.position(n as f64) else {
                    continue;
                };
                let mut d = PathData::default();
                for ring in &rings {
                    d.ring(ring, proj, &layout.frame);
                }
                if d.0.is_empty() {
                    continue;
                }
                let _ = write!(
                    svg,
                    r#"<path class="c{}" d="{}" data-n="{n}""#,
                    level(t),
                    d.0
                );
                match bin {
                    Bin::Cell(lon, lat) => {
                        let _ = write!(svg, r#" data-b="{},{}""#, coord(lon), coord(lat));
                    }
                    Bin::Hex(cell) => {
                        let _ = write!(svg, r#" data-h="{cell}""#);
                    }
                }
                svg.push_str("/>");
                features += 1;
            }
            scale
        }
    };
    Ok(LayerOut {
        id,
        label,
        mode: opts.mode,
        svg,
        features,
        report,
        scale,
        opts,
    })
}

/// The colour class of a position on the colour map.
fn level(t: f64) -> usize {
    ((t.clamp(0.0, 1.0) * (LEVELS - 1) as f64).round() as usize).min(LEVELS - 1)
}

/// A coordinate for a tooltip: at most 4 decimals.
fn coord(v: f64) -> String {
    crate::util::trim_decimal(v, 4)
}

/// SVG path data in tenths of a pixel: the first point absolute, the rest relative,
/// repeated points dropped.
#[derive(Default)]
struct PathData(String);

impl PathData {
    /// Adds a closed ring of (lon, lat) points, unless it shrinks below a triangle.
    /// Adds a closed ring of (lon, lat) points, cut at the projection's seam.
    fn ring(&mut self, ring: &[(f64, f64)], proj: &Projection, frame: &Frame) {
        for part in proj.rings(ring) {
            let mut pts: Vec<(i64, i64)> = Vec::with_capacity(part.len());
            for p in part {
                let q = tenths(frame.pixel(p));
                if pts.last() != Some(&q) {
                    pts.push(q);
                }
            }
            while pts.len() > 1 && pts.first() == pts.last() {
                pts.pop();
            }
            if pts.len() >= 3 {
                push_line(&mut self.0, &pts);
                self.0.push('z');
            }
        }
    }
}

impl PathData {
    /// Adds an open line of projected points.
    fn line(&mut self, line: &[(f64, f64)], frame: &Frame) {
        let mut pts: Vec<(i64, i64)> = Vec::with_capacity(line.len());
        for p in line {
            let q = tenths(frame.pixel(*p));
            if pts.last() != Some(&q) {
                pts.push(q);
            }
        }
        if pts.len() >= 2 {
            push_line(&mut self.0, &pts);
        }
    }
}

/// A point in tenths of a pixel.
fn tenths((x, y): (f32, f32)) -> (i64, i64) {
    (
        (f64::from(x) * 10.0).round() as i64,
        (f64::from(y) * 10.0).round() as i64,
    )
}

/// Writes a line through points (tenths): `M` to the first, then `l` steps.
fn push_line(out: &mut String, pts: &[(i64, i64)]) {
    let Some(first) = pts.first() else { return };
    out.push('M');
    push_num(out, first.0, false);
    push_num(out, first.1, true);
    out.push('l');
    for (i, w) in pts.windows(2).enumerate() {
        push_num(out, w[1].0 - w[0].0, i > 0);
        push_num(out, w[1].1 - w[0].1, true);
    }
}

/// Writes tenths as a decimal number (`12`, `1.5`, `-.5`), with a space before it when it
/// follows another number and does not start with a minus sign.
fn push_num(out: &mut String, tenths: i64, after_number: bool) {
    if after_number && tenths >= 0 {
        out.push(' ');
    }
    if tenths < 0 {
        out.push('-');
    }
    let a = tenths.unsigned_abs();
    let (whole, frac) = (a / 10, a % 10);
    if whole > 0 || frac == 0 {
        let _ = write!(out, "{whole}");
    }
    if frac > 0 {
        let _ = write!(out, ".{frac}");
    }
}

/// The land: every country near the region as one path, with its code and count (and its
/// choropleth colour class, used when the countries layer is shown), and how many paths
/// have a colour.
fn land_svg(
    basemap: &Basemap,
    layout: &Layout,
    proj: &Projection,
    countries: &Choropleth,
    tally: &Tally,
    opts: &MapOptions,
) -> (String, usize) {
    let view = layout.view;
    let counts: std::collections::HashMap<_, _> = tally.countries(opts.unit).into_iter().collect();
    let mut svg = String::from(r#"<g id="land">"#);
    let mut filled = 0;
    // Countries cut at the seam or along Natural Earth's antimeridian split are filled
    // without an outline, and their borders (the cuts left out) drawn as lines.
    let mut cut_borders = PathData::default();
    for country in &basemap.countries {
        let mut d = PathData::default();
        let mut cut = false;
        for polygon in &country.polygons {
            if !ring_bbox(&polygon.exterior).overlaps(&view) {
                continue;
            }
            for ring in std::iter::once(&polygon.exterior).chain(&polygon.holes) {
                d.ring(ring, proj, &layout.frame);
                cut |= proj.is_cut(ring);
            }
        }
        if d.0.is_empty() {
            continue;
        }
        if cut {
            for polygon in &country.polygons {
                if !ring_bbox(&polygon.exterior).overlaps(&view) {
                    continue;
                }
                for ring in std::iter::once(&polygon.exterior).chain(&polygon.holes) {
                    for line in proj.border_lines(ring) {
                        cut_borders.line(&line, &layout.frame);
                    }
                }
            }
        }
        svg.push_str("<path");
        if cut {
            svg.push_str(r#" data-cut="1""#);
        }
        if let Some(t) = countries
            .scale
            .as_ref()
            .zip(countries.value(country))
            .and_then(|(s, v)| s.position(v))
        {
            let _ = write!(svg, r#" class="k{}""#, level(t));
            filled += 1;
        }
        let _ = write!(svg, r#" d="{}""#, d.0);
        if let Some(code) = country.code {
            let _ = write!(svg, r#" data-k="{code}""#);
            if let Some(n) = counts.get(&code) {
                let _ = write!(svg, r#" data-n="{n}""#);
            }
            if let Some(v) = countries.value(country).filter(|_| opts.per_capita) {
                let _ = write!(svg, r#" data-v="{}""#, crate::util::trim_decimal(v, 2));
            }
        }
        svg.push_str("/>");
    }
    svg.push_str("</g>");
    if !cut_borders.0.is_empty() {
        let _ = write!(svg, r#"<path id="cut-borders" d="{}"/>"#, cut_borders.0);
    }
    (svg, filled)
}

fn hex(c: tiny_skia::Color) -> String {
    let c = c.to_color_u8();
    format!("#{:02x}{:02x}{:02x}", c.red(), c.green(), c.blue())
}

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    super::escape_markup(text)
}

/// JSON to embed in a `<script>` element: no `<` that could end it.
fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// The whole page.
#[allow(clippy::too_many_arguments)]
fn page(
    opts: &MapOptions,
    pal: &Palette,
    proj: &Projection,
    layout: &Layout,
    land: &str,
    layers: &[&LayerOut],
    report: &HtmlReport,
    basemap: &Basemap,
    databases: &[DatabaseInfo],
) -> String {
    let title = title(opts);
    let frame = &layout.frame;
    let (w, h) = (frame.width, frame.height);
    let ramp: Vec<String> = (0..=20)
        .map(|i| hex(pal.heat(f64::from(i) / 20.0)))
        .collect();
    let mut data_layers = Vec::new();
    for l in layers {
        let mut report_l = l.report.clone();
        let notes = report_l.finish(&l.opts, databases);
        data_layers.push(serde_json::json!({
            "id": l.id,
            "label": l.label,
            "features": l.features,
            "drawn": l.report.drawn.to_string(),
            "total": l.report.drawn as f64,
            "subtitle": report_l.subtitle,
            "notes": notes.into_iter().map(|(long, _)| long).chain(l.opts.captions.iter().cloned()).collect::<Vec<_>>(),
            "attributions": report_l.attributions,
            "ticks": l.scale.ticks(),
            "barLabel": report_l.legend,
            "scaleName": scale_name(l.opts.scale),
            "perCapita": l.opts.per_capita && l.mode == Mode::Choropleth,
        }));
    }
    let weighted = layers.iter().any(|l| l.report.weighted);
    let names: serde_json::Map<String, serde_json::Value> = basemap
        .countries
        .iter()
        .filter_map(|c| Some((c.code?.to_string(), c.name.clone().into())))
        .collect();
    let data = serde_json::json!({
        "shown": report.shown,
        "layers": data_layers,
        "names": names,
        "dropped": report.notes,
        "unit": [opts.unit.noun_of(1, weighted), opts.unit.noun_of(2, weighted)],
        "cell": opts.cell,
        "h3": opts.h3_res,
        "width": w,
        "height": h,
        "ramp": ramp,
        "title": title,
    });

    let mut colours = String::new();
    for k in 0..LEVELS {
        let c = hex(pal.heat(k as f64 / (LEVELS - 1) as f64));
        let _ = write!(
            colours,
            ".c{k}{{fill:{c};color:{c}}}.show-countries #land .k{k}{{fill:{c}}}"
        );
    }
    let mut ocean = PathData::default();
    let outline: Vec<(f32, f32)> = proj
        .globe_outline()
        .into_iter()
        .map(|p| frame.pixel(p))
        .collect();
    // The outline is already projected: write it as a ring of pixels.
    ocean.pixels(&outline);
    let mut graticule = String::new();
    if opts.graticule {
        graticule = graticule_svg(proj, layout);
    }
    let mut layer_groups = String::new();
    for l in layers.iter().filter(|l| l.mode != Mode::Choropleth) {
        let _ = write!(
            layer_groups,
            r#"<g id="L-{}" class="layer">{}</g>"#,
            l.id, l.svg
        );
    }
    let radios: String = layers
        .iter()
        .map(|l| {
            format!(
                r#"<label><input type="radio" name="layer" value="{id}"{checked}> {label} <small>({n})</small></label>"#,
                id = l.id,
                checked = if l.id == report.shown { " checked" } else { "" },
                label = l.label,
                n = l.features
            )
        })
        .collect();
    let outline_svg = if opts.bbox.is_none() {
        format!(r#"<path id="outline" d="{}"/>"#, ocean.0)
    } else {
        String::new()
    };
    let css = include_str!("../../assets/html/map.css");
    let js = include_str!("../../assets/html/map.js");
    let mut page = String::with_capacity(land.len() + layer_groups.len() + 64_000);
    let _ = write!(
        page,
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data: blob:">
<meta name="generator" content="ipatlas {version}">
<title>{title}</title>
<style>
:root{{--bg:{bg};--ocean:{ocean_c};--land:{land_c};--border:{border};--outline:{outline_c};--graticule:{grat};--text:{text};--muted:{muted}}}
{css}</style>
</head>
<body{body_class}>
<header><h1 id="title">{title}</h1><p id="subtitle"></p></header>
<nav id="layers" aria-label="Layers">{radios}</nav>
<main id="stage">
<svg id="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" data-width="{w}" data-height="{h}" class="show-{shown}" role="img" aria-label="{title}">
<style>{svg_css}{colours}</style>
<rect id="bg" x="-100000" y="-100000" width="200000" height="200000"/>
<path id="ocean" d="{ocean_d}"/>
{land}<g id="graticule">{graticule}</g>{layer_groups}{outline_svg}
</svg>
<div id="tip" role="status" hidden></div>
<div id="tools"><button type="button" data-zoom="in" title="Zoom in">+</button><button type="button" data-zoom="out" title="Zoom out">&#8722;</button><button type="button" data-zoom="reset" title="Whole map">&#8634;</button><button type="button" id="download" title="Download the view as PNG">PNG</button></div>
</main>
<footer>
<div id="legend"><span id="bar-label"></span><div id="bar"><div id="ramp"></div><div id="ticks"></div></div><span id="scale-name"></span><span id="nodata"><i></i>no data</span></div>
<ul id="notes"></ul>
<p id="attribution"></p>
</footer>
<script type="application/json" id="ipatlas-data">{data}</script>
<script>
{js}</script>
</body>
</html>
"##,
        version = env!("CARGO_PKG_VERSION"),
        title = esc(&title),
        bg = hex(pal.background),
        ocean_c = hex(pal.ocean),
        land_c = hex(pal.land),
        border = hex(pal.border),
        outline_c = hex(pal.outline),
        grat = hex(pal.graticule),
        text = hex(pal.text),
        muted = hex(pal.muted),
        shown = report.shown,
        body_class = if opts.legend { "" } else { r#" class="bare""# },
        svg_css = SVG_CSS,
        ocean_d = ocean.0,
        data = script_json(&data),
    );
    page
}

/// The SVG's own style (kept inside it, so a downloaded copy draws the same).
const SVG_CSS: &str = "#bg{fill:var(--bg)}#ocean{fill:var(--ocean)}\
#land path{fill:var(--land);stroke:var(--border);stroke-width:.6px;vector-effect:non-scaling-stroke;stroke-linejoin:round}\
#land path[data-cut]{stroke:none}\
#cut-borders{fill:none;stroke:var(--border);stroke-width:.6px;vector-effect:non-scaling-stroke;stroke-linejoin:round;pointer-events:none}\
#graticule path{fill:none;stroke:var(--graticule);stroke-width:.7px;vector-effect:non-scaling-stroke}\
#outline{fill:none;stroke:var(--outline);stroke-width:1px;vector-effect:non-scaling-stroke;pointer-events:none}\
.layer{display:none}.show-cells #L-cells,.show-hex #L-hex,.show-points #L-points{display:inline}\
#L-points path{stroke:currentColor;stroke-width:1.5px;vector-effect:non-scaling-stroke}\
.layer path:hover,#land path[data-n]:hover{stroke:var(--text);stroke-width:1.5px;vector-effect:non-scaling-stroke}";

impl PathData {
    /// Adds a closed ring of points already in pixels.
    fn pixels(&mut self, pts: &[(f32, f32)]) {
        let mut q: Vec<(i64, i64)> = pts.iter().map(|p| tenths(*p)).collect();
        q.dedup();
        if q.len() >= 3 {
            push_line(&mut self.0, &q);
            self.0.push('z');
        }
    }
}

/// Lines of latitude and longitude every 30 degrees, as the PNG draws them.
fn graticule_svg(proj: &Projection, layout: &Layout) -> String {
    let mut d = String::new();
    for (_, line) in graticule_lines(proj, layout) {
        for run in proj.lines(&line) {
            let pts: Vec<(i64, i64)> = run
                .into_iter()
                .map(|p| tenths(layout.frame.pixel(p)))
                .collect();
            push_line(&mut d, &pts);
        }
    }
    format!(r#"<path d="{d}"/>"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_tenths_without_spare_characters() {
        let mut s = String::new();
        push_num(&mut s, 125, false);
        push_num(&mut s, -5, true);
        push_num(&mut s, 30, true);
        push_num(&mut s, 0, true);
        push_num(&mut s, -120, true);
        assert_eq!(s, "12.5-.5 3 0-12");
    }

    #[test]
    fn text_is_escaped_for_html_and_script() {
        assert_eq!(
            esc(r#"<b>"a" & 'b'"#),
            "&lt;b&gt;&quot;a&quot; &amp; &#39;b&#39;"
        );
        let v = serde_json::json!({"t": "</script><!--"});
        assert!(!script_json(&v).contains('<'));
    }
}
