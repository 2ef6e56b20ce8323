//! The words around a map: title, subtitle, colour bar with its ticks and label, the notes
//! on what is drawn and left out, and the attribution.

use super::MapReport;

use super::options::{MapOptions, Mode};
use super::palette::Palette;
use super::scale::{ColorScale, ScaleKind, short_count};
use super::surface::{Surface, paint};
use super::text::{Align, FontFile, Fonts};
use crate::locate::{CountryCode, DatabaseInfo};
use crate::tally::Unit;
use tiny_skia::{Color, Rect, Transform};

/// The subtitle: the count drawn and its unit, the databases with their dates, the
/// projection.
pub(super) fn subtitle(
    opts: &MapOptions,
    databases: &[DatabaseInfo],
    report: &MapReport,
) -> String {
    let mut drawn = format!(
        "{} {} drawn",
        thousands(report.drawn),
        opts.unit.noun_of(report.drawn, report.weighted)
    );
    if let Some(column) = &report.weight_column {
        drawn.push_str(&format!(" (weights: {column})"));
    }
    // A tally written by hand may name no database.
    let parts = [
        drawn,
        database_names(databases),
        format!("{} projection", report.frame.projection),
    ];
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Every database a tally was made with (a merge of mixed databases names them all), with
/// its build date: `GeoLite2-City (2018-07-03) + ...`.
pub(super) fn database_names(databases: &[DatabaseInfo]) -> String {
    let mut names: Vec<String> = Vec::new();
    for d in databases {
        let name = format!("{} ({})", d.display_name(), d.build_date);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(" + ")
}

/// The footer's notes, each in a long and a short form: the share drawn at coarse
/// locations, and what is not drawn and why.
pub(super) fn footer_notes(opts: &MapOptions, report: &MapReport) -> Vec<(String, String)> {
    let unit = opts.unit.noun_of(report.coarse, report.weighted);
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
pub(super) fn tiny_text(w: f32) -> f32 {
    (w * 0.0095).max(8.0)
}

/// The footer's margin for a map `w` pixels wide.
fn margin(w: f32) -> f32 {
    w * 0.02
}

/// The title's size for a map `w` pixels wide.
fn big_text(w: f32) -> f32 {
    (w * 0.021).max(13.0)
}

/// The title as the header draws it: wrapped to the width.
pub(super) fn title_lines(title: &str, w: f32, font: Option<&FontFile>) -> Vec<String> {
    match Fonts::load(font) {
        Some(fonts) => {
            let lines = fonts.wrap_face(title, big_text(w), w - 2.0 * margin(w), true);
            if lines.is_empty() {
                vec![String::new()]
            } else {
                lines
            }
        }
        None => vec![title.to_owned()],
    }
}

/// The height a wrapped title adds to the header: a line's height per line past the first.
pub(super) fn title_extra(title: &str, w: f32, font: Option<&FontFile>) -> f32 {
    lines_extra(title_lines(title, w, font).len(), w)
}

/// The height `lines` title lines take past the first.
fn lines_extra(lines: usize, w: f32) -> f32 {
    (lines.max(1) - 1) as f32 * big_text(w) * 1.25
}

/// Below this width (pixels) a map carries no text: at the smallest readable sizes the
/// title, bar labels and attribution would not fit, and clipped words mislead.
pub const MIN_TEXT_WIDTH: u32 = 240;

/// The attribution as the footer draws it: every source, then `ipatlas`, joined and wrapped
/// to the width (never shortened: licences ask for it whole).
pub(super) fn attribution_lines(
    sources: &[String],
    w: f32,
    font: Option<&FontFile>,
) -> Vec<String> {
    let mut all = sources.to_vec();
    all.push("ipatlas".to_owned());
    let text = all.join(" · ");
    match Fonts::load(font) {
        Some(fonts) => fonts.wrap(&text, tiny_text(w), w - 2.0 * margin(w)),
        None => vec![text],
    }
}

/// `text` made to fit `max` pixels: its " · "-separated parts from the first, as many as
/// fit; a first part too long alone is cut and ends with an ellipsis.
fn fit_parts(fonts: &Fonts, text: &str, size: f32, max: f32) -> String {
    if fonts.width(text, size, false) <= max {
        return text.to_owned();
    }
    let parts: Vec<&str> = text.split(" · ").collect();
    for n in (1..parts.len()).rev() {
        let kept = parts[..n].join(" · ");
        if fonts.width(&kept, size, false) <= max {
            return kept;
        }
    }
    let mut cut = String::new();
    for c in parts[0].chars() {
        let next = format!("{cut}{c}…");
        if fonts.width(&next, size, false) > max {
            break;
        }
        cut.push(c);
    }
    format!("{}…", cut.trim_end())
}

/// The size of the subtitle and the colour bar's text for a map `w` pixels wide.
fn small_text(w: f32) -> f32 {
    (w * 0.0115).max(9.0)
}

/// The caller's captions as the footer draws them: each wrapped to the width.
pub(super) fn caption_lines(captions: &[String], w: f32, font: Option<&FontFile>) -> Vec<String> {
    if captions.is_empty() {
        return Vec::new();
    }
    let Some(fonts) = Fonts::load(font) else {
        return captions.to_vec();
    };
    captions
        .iter()
        .flat_map(|c| fonts.wrap(c, tiny_text(w), w - 2.0 * margin(w)))
        .collect()
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
            format!(" {}", unit.noun_of(n, report.weighted))
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
        if report.unmapped_subdivisions.is_empty() {
            report.unmapped_weight
        } else {
            0
        },
        format!(
            "in countries without a polygon ({})",
            codes(&report.unmapped)
        ),
        "unmapped",
    );
    if !report.unmapped_subdivisions.is_empty() {
        let mut names: Vec<String> = report
            .unmapped_subdivisions
            .iter()
            .take(6)
            .cloned()
            .collect();
        if report.unmapped_subdivisions.len() > 6 {
            names.push("...".to_owned());
        }
        add(
            report.unmapped_weight,
            format!("in subdivisions without a polygon ({})", names.join(", ")),
            "unmapped",
        );
    }
    add(
        report.no_subdivision,
        "in countries without subdivisions on the map, or without a subdivision".into(),
        "no subdivision",
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
        let (noun, flag) = (o.kind.noun_of(o.found, report.weighted), o.kind.flag());
        parts.push((
            format!("{} {noun} (--unit {flag})", thousands(o.found)),
            format!("{} {noun} (--unit {flag})", short_count(o.found as f64)),
        ));
    }
    parts
}

pub(super) fn thousands(n: u128) -> String {
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

/// What the legend is drawn with: the image, fonts, colours and text sizes.
struct Pen<'a> {
    fonts: &'a Fonts,
    pal: &'a Palette,
    /// Image width.
    w: f32,
    margin: f32,
    /// Title size.
    big: f32,
    /// Subtitle and colour bar size.
    small: f32,
    /// Notes and attribution size.
    tiny: f32,
}

/// The words a map carries: title, subtitle, the footer's notes (long and short forms) and
/// attributions.
pub(super) struct Words<'a> {
    pub(super) title: &'a str,
    pub(super) subtitle: &'a str,
    pub(super) notes: &'a [(String, String)],
    /// The caller's captions, wrapped ([`caption_lines`]).
    pub(super) captions: &'a [String],
    pub(super) attributions: &'a [String],
}

/// A colour bar: its colours (0 to 1), tick positions and labels, what it counts (left)
/// and how (right).
pub(super) struct Bar<'a> {
    pub(super) colour: &'a dyn Fn(f64) -> Color,
    pub(super) ticks: Vec<(f64, String)>,
    pub(super) label: String,
    pub(super) right: String,
    /// The fill of areas drawn without data (a choropleth's grey countries), for a "no
    /// data" swatch after the scale's name.
    pub(super) no_data: Option<Color>,
}

/// The title a map gets without `--title`.
pub(super) fn title(opts: &MapOptions) -> String {
    opts.title
        .clone()
        .unwrap_or_else(|| "Geo-location of IP addresses".to_owned())
}

/// Draws the title and subtitle in the header, the colour bar below the map, and the notes
/// and attribution at the bottom.
pub(super) fn draw_legend(
    surface: &mut Surface,
    fonts: &Fonts,
    pal: &Palette,
    words: &Words<'_>,
    bar: &Bar<'_>,
    header: f32,
    footer_top: f32,
) {
    let w = surface.width() as f32;
    let pen = Pen {
        fonts,
        pal,
        w,
        margin: margin(w),
        big: big_text(w),
        small: small_text(w),
        tiny: tiny_text(w),
    };
    draw_titles(surface, &pen, words, header);
    draw_colour_bar(surface, &pen, bar, footer_top);
    draw_footer(surface, &pen, words);
}

fn draw_titles(surface: &mut Surface, pen: &Pen<'_>, words: &Words<'_>, header: f32) {
    let Pen {
        fonts,
        pal,
        margin,
        big,
        small,
        ..
    } = *pen;
    // A long title wraps; the header grew by its extra lines (see `title_extra`).
    let w = surface.width() as f32;
    let lines = title_lines(words.title, w, fonts.extra());
    let extra = lines_extra(lines.len(), w);
    let base = header - extra;
    for (i, line) in lines.iter().enumerate() {
        fonts.draw(
            surface,
            line,
            margin,
            base * 0.48 + i as f32 * big * 1.25,
            big,
            true,
            pal.text,
            Align::Left,
        );
    }
    fonts.draw(
        surface,
        &fit_parts(fonts, words.subtitle, small, w - 2.0 * margin),
        margin,
        base * 0.84 + extra,
        small,
        false,
        pal.muted,
        Align::Left,
    );
}

/// The colour bar, with its tick labels, what it counts on its left and how on its right.
fn draw_colour_bar(surface: &mut Surface, pen: &Pen<'_>, bar: &Bar<'_>, footer_top: f32) {
    let Pen {
        fonts,
        pal,
        w,
        margin,
        small,
        ..
    } = *pen;
    let bar_h = (w * 0.009).max(6.0);
    // The bar takes a third of the width, centred, with its label on the left and the
    // scale's name (and the no-data swatch) on the right; on a narrow map it gives up its
    // centre, then the scale's name, then the swatch, so that nothing is cut.
    let gap = margin * 0.6;
    let left = fonts.width(&bar.label, small, false);
    let swatch = |with: bool| {
        if with && bar.no_data.is_some() {
            margin + bar_h * 1.8 + margin * 0.3 + fonts.width("no data", small, false)
        } else {
            0.0
        }
    };
    let right_of = |name: bool, no_data: bool| {
        let n = if name {
            fonts.width(&bar.right, small, false)
        } else {
            0.0
        };
        n + swatch(no_data)
    };
    let (bar_w, show_name, show_no_data) = [(true, true), (false, true), (false, false)]
        .into_iter()
        .map(|(name, no_data)| {
            let room = w - 2.0 * margin - left - 2.0 * gap - right_of(name, no_data);
            ((w * 0.34).min(room), name, no_data)
        })
        .find(|(bw, ..)| *bw >= w * 0.2)
        .unwrap_or((w * 0.2, false, false));
    let centred = (w - bar_w) / 2.0;
    let bar_x = if centred - gap - left >= margin
        && centred + bar_w + gap + right_of(show_name, show_no_data) <= w - margin
    {
        centred
    } else {
        margin + left + gap
    };
    let bar_y = footer_top + w * 0.014;
    if !bar.ticks.is_empty() {
        // Pixel columns (an image in a vector file, so no viewer shows seams between them).
        let steps = bar_w.round() as u32;
        surface.pixels(false, |pixmap, _| {
            for i in 0..steps {
                let t = f64::from(i) / f64::from(steps.max(2) - 1);
                if let Some(r) = Rect::from_xywh(bar_x + i as f32, bar_y, 1.0, bar_h) {
                    pixmap.fill_rect(
                        r,
                        &paint((bar.colour)(t), false),
                        Transform::identity(),
                        None,
                    );
                }
            }
        });
        for (t, label) in &bar.ticks {
            let x = bar_x + bar_w * *t as f32;
            fonts.draw(
                surface,
                label,
                x,
                bar_y + bar_h + small * 1.25,
                small,
                false,
                pal.text,
                Align::Center,
            );
        }
    }
    fonts.draw(
        surface,
        &bar.label,
        bar_x - margin * 0.6,
        bar_y + bar_h,
        small,
        false,
        pal.text,
        Align::Right,
    );
    let right_x = bar_x + bar_w + margin * 0.6;
    let name = if show_name { bar.right.as_str() } else { "" };
    fonts.draw(
        surface,
        name,
        right_x,
        bar_y + bar_h,
        small,
        false,
        pal.muted,
        Align::Left,
    );
    if let Some(fill) = bar.no_data.filter(|_| show_no_data) {
        let x = right_x + fonts.width(name, small, false) + if show_name { margin } else { 0.0 };
        let (sw, sh) = (bar_h * 1.8, bar_h);
        if let Some(r) = Rect::from_xywh(x, bar_y, sw, sh) {
            surface.fill_rect(r, pal.border, true, false);
        }
        if let Some(r) = Rect::from_xywh(x + 1.0, bar_y + 1.0, sw - 2.0, sh - 2.0) {
            surface.fill_rect(r, fill, true, false);
        }
        fonts.draw(
            surface,
            "no data",
            x + sw + margin * 0.3,
            bar_y + bar_h,
            small,
            false,
            pal.muted,
            Align::Left,
        );
    }
}

/// The colour bar's tick positions (0 to 1) and labels: round counts under the scale
/// ([`ColorScale::ticks`]), spaced for the bar of a map `w` pixels wide.
pub(super) fn ticks(scale: &ColorScale, w: f32) -> Vec<(f64, String)> {
    scale.ticks_spaced(tick_gap(w))
}

/// The least distance between ticks, as a share of the bar: room for a four-character
/// label at the bar's text size (see `draw_colour_bar`), and never under a tenth.
fn tick_gap(w: f32) -> f64 {
    let small = small_text(w);
    f64::from(small * 2.8 / (w * 0.34)).max(0.1)
}

/// What the colour bar counts: the unit per pixel, cell, country or hexagon.
pub(super) fn bar_label(opts: &MapOptions, weighted: bool) -> String {
    let unit = opts.unit.label_of(weighted);
    match (opts.mode, opts.per_capita) {
        (Mode::Points, _) => format!("{unit} per pixel"),
        (Mode::Cells, _) => format!(
            "{unit} per {}° cell",
            crate::util::trim_decimal(opts.cell, 4)
        ),
        (Mode::Choropleth, true) => format!("{unit} per million people"),
        (Mode::Choropleth, false) if opts.level == super::options::Level::Subdivision => {
            format!("{unit} per subdivision")
        }
        (Mode::Choropleth, false) => format!("{unit} per country"),
        (Mode::Hex, _) => format!("{unit} per H3 cell (resolution {})", opts.h3_res),
    }
}

/// The colour scale's name, as the legend prints it.
pub(super) fn scale_name(kind: ScaleKind) -> &'static str {
    match kind {
        ScaleKind::EqHist => "histogram-equalised",
        ScaleKind::Log => "log scale",
        ScaleKind::Cbrt => "cube-root scale",
        ScaleKind::Linear => "linear scale",
    }
}

/// What the map includes and leaves out, for this map (long forms where they fit); then
/// the attribution.
fn draw_footer(surface: &mut Surface, pen: &Pen<'_>, words: &Words<'_>) {
    let Pen {
        fonts,
        pal,
        w,
        margin,
        tiny,
        ..
    } = *pen;
    let bottom = surface.height() as f32;
    let max = w - 2.0 * margin;
    let fits = |text: &str| fonts.width(text, tiny, false) <= max;
    let lines: Vec<String> = words
        .notes
        .iter()
        .map(|(long, short)| {
            if fits(long) {
                long.clone()
            } else {
                fit_parts(fonts, short, tiny, max)
            }
        })
        .collect();
    let sources = attribution_lines(words.attributions, w, fonts.extra());
    let below = sources.len().max(1) - 1;
    // Top to bottom: the notes, the captions, then (below) the attribution.
    let above = lines.iter().chain(words.captions.iter());
    for (i, line) in above.rev().enumerate() {
        fonts.draw(
            surface,
            line,
            margin,
            bottom - tiny * (2.6 + 1.7 * (i + below) as f32),
            tiny,
            false,
            pal.muted,
            Align::Left,
        );
    }
    for (i, line) in sources.iter().rev().enumerate() {
        fonts.draw(
            surface,
            line,
            margin,
            bottom - tiny * (0.9 + 1.7 * i as f32),
            tiny,
            false,
            pal.muted,
            Align::Left,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
