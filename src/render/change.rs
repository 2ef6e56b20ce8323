//! The map of a change between two tallies (`ipatlas compare`): countries or grid cells
//! coloured on a diverging scale centred on no change, in share difference, count
//! difference or log ratio, with the legend in those units.

use super::canvas::{Layout, draw_graticule, draw_land, draw_ocean, draw_outline, fill_rings};
use super::legend::{Bar, Words, database_names, draw_legend, thousands};
use super::options::{MapOptions, Mode};
use super::palette::palette;
use super::projection::Projection;
use super::scale::short_count;
use super::surface::{Drawing, Surface};
use crate::basemap::Basemap;
use crate::error::{Error, Result};
use crate::geometry::cell_ring;
use crate::locate::{CountryCode, DatabaseInfo};
use crate::tally::compare::{Comparison, Measure, Row};
use crate::tally::{CellGrid, Tally};
use std::collections::HashMap;
use tiny_skia::{Color, Pixmap};

/// The change map's title without `--title`.
const CHANGE_TITLE: &str = "Change in the geo-location of IP addresses";

/// What the change map colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ChangeValue {
    /// B minus A: percentage points of share, or the count difference.
    #[default]
    Difference,
    /// log2(B / A), drawn as the ratio (`×2`, `×0.5`); places in only one tally sit at the
    /// ends of the scale.
    LogRatio,
}

/// How values spread over the diverging colour bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ChangeScale {
    /// In proportion to the value, from minus to plus the largest change.
    #[default]
    Linear,
    /// The cube root of the value's share of the largest change (keeps sign): small
    /// changes stay visible beside one large one.
    Cbrt,
}

/// What shapes a change map besides the map options.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChangeOptions {
    /// Shares (default) or counts.
    pub measure: Measure,
    /// Difference (default) or log ratio.
    pub value: ChangeValue,
    /// Linear (default) or cube root.
    pub scale: ChangeScale,
}

/// What a change map shows.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ChangeReport {
    /// Image size in pixels.
    pub width: u32,
    /// Image size in pixels.
    pub height: u32,
    /// What both tallies count: `addresses` or `/64 subnets`.
    pub unit: &'static str,
    /// `countries` or `cells`.
    pub layer: &'static str,
    /// What the colours mean, as the colour bar's label says.
    pub legend: String,
    /// The change at either end of the colour bar (in the legend's units; log2 for a log
    /// ratio).
    pub limit: f64,
    /// Countries or cells coloured.
    pub features: usize,
    /// Of which in A only, and in B only.
    pub only_a: usize,
    /// In B only.
    pub only_b: usize,
    /// Weight of A and of B in the features coloured.
    pub drawn_a: u128,
    /// Weight of B drawn.
    pub drawn_b: u128,
    /// The subtitle: the measure, and the two tallies with their databases and totals.
    pub subtitle: String,
    /// The footer's notes.
    pub notes: Vec<String>,
    /// Both sides' database attributions, then the basemap's.
    pub attributions: Vec<String>,
    /// The projection, printed size and scale bar.
    #[serde(flatten)]
    pub frame: super::map::FrameReport,
}

/// The two tallies of a comparison, with their databases.
pub struct Sides<'a> {
    /// The earlier (or reference) tally.
    pub a: &'a Tally,
    /// A's databases.
    pub a_databases: &'a [DatabaseInfo],
    /// The later tally.
    pub b: &'a Tally,
    /// B's databases.
    pub b_databases: &'a [DatabaseInfo],
}

/// A value on the diverging scale: its position (0 to 1, 0.5 for no change).
struct Diverging {
    limit: f64,
    scale: ChangeScale,
}

impl Diverging {
    fn position(&self, v: f64) -> f64 {
        let x = (v / self.limit).clamp(-1.0, 1.0);
        let x = match self.scale {
            ChangeScale::Linear => x,
            ChangeScale::Cbrt => x.cbrt(),
        };
        0.5 + 0.5 * x
    }

    fn value_at(&self, t: f64) -> f64 {
        let x = (2.0 * t - 1.0).clamp(-1.0, 1.0);
        let x = match self.scale {
            ChangeScale::Linear => x,
            ChangeScale::Cbrt => x.powi(3),
        };
        x * self.limit
    }
}

/// Red for gains, blue for losses (ColorBrewer RdBu, reversed), white-ish for no change.
fn diverging_colour(t: f64) -> Color {
    let c = colorous::RED_BLUE.eval_continuous(1.0 - t.clamp(0.0, 1.0));
    Color::from_rgba8(c.r, c.g, c.b, 255)
}

/// A row's value on the map: `None` where it has none (a log ratio with both sides zero);
/// infinite where one side is zero (log ratio).
fn value<K>(row: &Row<K>, cmp: &Comparison, how: ChangeValue) -> Option<f64> {
    match how {
        ChangeValue::Difference => Some(match cmp.measure {
            Measure::Shares => row.change * 100.0,
            Measure::Counts => row.change,
        }),
        ChangeValue::LogRatio => match (row.count_a, row.count_b) {
            (0, 0) => None,
            (0, _) => Some(f64::INFINITY),
            (_, 0) => Some(f64::NEG_INFINITY),
            _ => row.ratio.map(f64::log2),
        },
    }
}

/// The colour bar's label for this comparison.
fn legend_label(cmp: &Comparison, how: ChangeValue) -> String {
    let unit = cmp.unit.label_of(cmp.weighted);
    match (how, cmp.measure) {
        (ChangeValue::Difference, Measure::Shares) => "share change (% points)".to_owned(),
        (ChangeValue::Difference, Measure::Counts) => format!("change ({unit})"),
        (ChangeValue::LogRatio, Measure::Shares) => "share ratio B / A".to_owned(),
        (ChangeValue::LogRatio, Measure::Counts) => format!("{unit} ratio B / A"),
    }
}

/// A tick's label: a signed difference, or a ratio.
fn tick_label(v: f64, cmp: &Comparison, how: ChangeValue) -> String {
    match how {
        ChangeValue::LogRatio => {
            let r = v.exp2();
            let digits = if r >= 10.0 {
                0
            } else if r >= 1.0 {
                1
            } else {
                2
            };
            format!("×{}", crate::util::trim_decimal(r, digits))
        }
        ChangeValue::Difference => {
            let text = match cmp.measure {
                Measure::Shares => {
                    let digits = if v.abs() >= 100.0 {
                        0
                    } else if v.abs() >= 1.0 {
                        1
                    } else {
                        2
                    };
                    crate::util::trim_decimal(v.abs(), digits)
                }
                Measure::Counts => short_count(v.abs()),
            };
            if text == "0" {
                "0".to_owned()
            } else if v > 0.0 {
                format!("+{text}")
            } else {
                format!("−{text}")
            }
        }
    }
}

/// Draws the change between two tallies: a choropleth of countries (`opts.mode` is
/// `Choropleth`) or grid cells of `opts.cell` degrees (`Cells`).
pub fn render_change(
    sides: &Sides<'_>,
    basemap: &Basemap,
    opts: &MapOptions,
    change: &ChangeOptions,
) -> Result<(Pixmap, ChangeReport)> {
    let (surface, report) = draw_change(sides, basemap, opts, change, false)?;
    let pixmap = surface
        .into_pixmap()
        .ok_or_else(|| Error::Internal("a raster surface holds no pixels".into()))?;
    Ok((pixmap, report))
}

/// Draws the change between two tallies as [`render_change`] does, as shapes, text and
/// images for an SVG or a PDF.
pub fn render_change_vector(
    sides: &Sides<'_>,
    basemap: &Basemap,
    opts: &MapOptions,
    change: &ChangeOptions,
) -> Result<(Drawing, ChangeReport)> {
    let (surface, report) = draw_change(sides, basemap, opts, change, true)?;
    // The file's title is the one the map carries.
    let drawing = Drawing::new(surface, &titled(opts), &report.subtitle)?;
    Ok((drawing, report))
}

/// The options with the change map's own title when none is given.
fn titled(opts: &MapOptions) -> MapOptions {
    MapOptions {
        title: Some(
            opts.title
                .clone()
                .unwrap_or_else(|| CHANGE_TITLE.to_owned()),
        ),
        ..opts.clone()
    }
}

/// Draws a change map on a surface of pixels or (`vector`) of shapes.
fn draw_change(
    sides: &Sides<'_>,
    basemap: &Basemap,
    opts: &MapOptions,
    change: &ChangeOptions,
    vector: bool,
) -> Result<(Surface, ChangeReport)> {
    if !matches!(opts.mode, Mode::Choropleth | Mode::Cells) {
        return Err(Error::Option {
            name: "mode",
            message: "a change map shows countries (choropleth) or cells".into(),
        });
    }
    // The change map's own default title, so that the layout wraps the title it draws.
    let titled = titled(opts);
    let opts = &titled;
    let proj = Projection::for_map(opts.projection, opts.bbox)?;
    let pal = palette(opts.style, None);
    let sources = super::map::attributions(sides.a_databases.iter().chain(sides.b_databases));
    let lines = super::legend::attribution_lines(&sources, opts.width as f32, opts.font.as_ref());
    let layout = Layout::new(&proj, opts, lines.len())?;
    let mut surface = layout.surface(pal.background, vector)?;
    let (a, b) = (sides.a, sides.b);
    let cmp = Comparison::new(a, b, opts.unit, change.measure);
    let mut report = ChangeReport {
        width: layout.width,
        height: layout.height,
        unit: opts.unit.label_of(cmp.weighted),
        legend: opts
            .legend_label
            .clone()
            .unwrap_or_else(|| legend_label(&cmp, change.value)),
        frame: super::map::FrameReport::new(&proj, &layout, opts),
        ..ChangeReport::default()
    };

    // The values, and the largest finite change for the ends of the scale.
    let mut by_country: HashMap<CountryCode, f64> = HashMap::new();
    let mut cells: Vec<((u32, u32), f64)> = Vec::new();
    let count = |n_a: u128, n_b: u128, report: &mut ChangeReport| {
        report.features += 1;
        report.only_a += usize::from(n_b == 0);
        report.only_b += usize::from(n_a == 0);
        report.drawn_a = report.drawn_a.saturating_add(n_a);
        report.drawn_b = report.drawn_b.saturating_add(n_b);
    };
    let grid = CellGrid::new(opts.cell)?;
    if opts.mode == Mode::Choropleth {
        report.layer = "countries";
        for r in cmp.countries(a, b) {
            let has_polygon = basemap
                .country(r.key)
                .is_some_and(|c| !c.polygons.is_empty());
            if let (Some(v), true) = (value(&r, &cmp, change.value), has_polygon) {
                by_country.insert(r.key, v);
                count(r.count_a, r.count_b, &mut report);
            }
        }
    } else {
        report.layer = "cells";
        for r in cmp.cells(a, b, &grid) {
            if let Some(v) = value(&r, &cmp, change.value) {
                cells.push((r.key, v));
                count(r.count_a, r.count_b, &mut report);
            }
        }
    }
    let finite = by_country
        .values()
        .chain(cells.iter().map(|(_, v)| v))
        .filter(|v| v.is_finite())
        .fold(0f64, |m, v| m.max(v.abs()));
    let limit = if finite > 0.0 { finite } else { 1.0 };
    report.limit = limit;
    let scale = Diverging {
        limit,
        scale: change.scale,
    };

    let globe = draw_ocean(&mut surface, &proj, &layout.frame, &pal);
    let borders = draw_land(&mut surface, basemap, &layout, &proj, &pal, |c| {
        c.code
            .and_then(|code| by_country.get(&code))
            .map_or(pal.land, |v| diverging_colour(scale.position(*v)))
    });
    if opts.graticule {
        draw_graticule(&mut surface, &proj, &layout, &pal);
    }
    for ((row, col), v) in &cells {
        fill_rings(
            &mut surface,
            &[cell_ring(grid.bounds(*row, *col), opts.cell)],
            &proj,
            &layout.frame,
            diverging_colour(scale.position(*v)),
            false,
        );
    }
    if opts.bbox.is_some() && !cells.is_empty() {
        super::canvas::draw_borders_above(&mut surface, borders.as_ref(), &layout, &pal);
    }
    if let Some(globe) = &globe
        && opts.bbox.is_none()
    {
        draw_outline(&mut surface, globe, &pal);
    }

    let unit = opts.unit;
    let side = |dbs: &[DatabaseInfo], found: u128| {
        let total = format!("{} {}", thousands(found), unit.noun_of(found, cmp.weighted));
        match database_names(dbs) {
            names if names.is_empty() => total,
            names => format!("{names}, {total}"),
        }
    };
    report.subtitle = format!(
        "{} · A: {} → B: {} · {} projection",
        match change.measure {
            Measure::Shares => "Shares compared",
            Measure::Counts => "Counts compared",
        },
        side(sides.a_databases, cmp.found_a),
        side(sides.b_databases, cmp.found_b),
        report.frame.projection,
    );
    let mut notes: Vec<(String, String)> = Vec::new();
    if report.only_a + report.only_b > 0 {
        let what = match (opts.mode, report.only_a) {
            (Mode::Choropleth, 1) => "country",
            (Mode::Choropleth, _) => "countries",
            (_, 1) => "cell",
            _ => "cells",
        };
        let s = format!(
            "{} {what} only in A, {} only in B",
            report.only_a, report.only_b
        );
        let long = if change.value == ChangeValue::LogRatio {
            format!("{s} (drawn at the ends of the scale)")
        } else {
            s.clone()
        };
        notes.push((long, s));
    }
    let missing = |t: &Tally| {
        let l = t.located_unit(unit);
        if opts.mode == Mode::Choropleth {
            l.found - l.with_country
        } else {
            l.found - l.with_coords
        }
    };
    let (ma, mb) = (missing(a), missing(b));
    if ma + mb > 0 {
        let why = if opts.mode == Mode::Choropleth {
            "without a country"
        } else {
            "without coordinates"
        };
        let s = format!(
            "Not drawn: {} {} of A and {} of B {why}",
            thousands(ma),
            unit.noun_of(ma, cmp.weighted),
            thousands(mb)
        );
        notes.push((s.clone(), s));
    }
    report.notes = notes.iter().map(|(l, _)| l.clone()).collect();
    report.attributions = sources;

    if opts.shows_text() {
        let fonts = super::text::Fonts::load(opts.font.as_ref())
            .ok_or_else(|| Error::Internal("the embedded font cannot be read".into()))?;
        report.frame.scale_bar =
            super::canvas::draw_region_marks(&mut surface, &fonts, &proj, &layout, opts, &pal);
        let ticks: Vec<(f64, String)> = (0..=4)
            .map(|k| {
                let t = f64::from(k) / 4.0;
                (t, tick_label(scale.value_at(t), &cmp, change.value))
            })
            .collect();
        let title = opts
            .title
            .clone()
            .unwrap_or_else(|| CHANGE_TITLE.to_owned());
        let right = match change.scale {
            ChangeScale::Linear => "red: more in B, blue: less",
            ChangeScale::Cbrt => "cube-root scale; red: more in B, blue: less",
        };
        draw_legend(
            &mut surface,
            &fonts,
            &pal,
            &Words {
                title: &title,
                subtitle: &report.subtitle,
                notes: &notes,
                captions: &super::legend::caption_lines(
                    &opts.captions,
                    layout.width as f32,
                    opts.font.as_ref(),
                ),
                attributions: &report.attributions,
            },
            &Bar {
                colour: &diverging_colour,
                ticks,
                label: report.legend.clone(),
                right: right.to_owned(),
                no_data: (opts.mode == Mode::Choropleth).then_some(pal.land),
            },
            layout.header,
            layout.footer_top(),
        );
    }
    Ok((surface, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_is_centred_on_no_change_and_invertible() {
        for scale in [ChangeScale::Linear, ChangeScale::Cbrt] {
            let d = Diverging { limit: 4.0, scale };
            assert_eq!(d.position(0.0), 0.5);
            assert_eq!(d.position(4.0), 1.0);
            assert_eq!(d.position(-9.0), 0.0);
            for v in [-4.0, -1.0, 0.5, 3.0] {
                assert!(
                    (d.value_at(d.position(v)) - v).abs() < 1e-9,
                    "{scale:?} {v}"
                );
            }
        }
        // Gains are red, losses blue.
        let (gain, loss) = (diverging_colour(1.0), diverging_colour(0.0));
        assert!(gain.red() > gain.blue() && loss.blue() > loss.red());
    }
}
