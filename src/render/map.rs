//! Drawing one map from a tally: the layers in order, and the report of what was drawn.

use super::canvas::{
    Layout, draw_borders_above, draw_graticule, draw_land, draw_ocean, draw_outline,
    draw_region_marks,
};
use super::heat::{Canvas, Choropleth, draw_cells, draw_points};
use super::legend::{
    Bar, Words, bar_label, caption_lines, draw_legend, footer_notes, scale_name, subtitle, ticks,
    title,
};
use super::options::{COARSE_KM, Level, MapOptions, Mode};
use super::palette::palette;
use super::projection::Projection;
use super::surface::{Drawing, Surface};
use crate::basemap::{Basemap, NATURAL_EARTH};
use crate::error::{Error, Result};
use crate::locate::{CountryCode, DatabaseInfo};
use crate::tally::{Tally, Unit};
use tiny_skia::Pixmap;

/// What a map shows, for the caller to report (and for the `map` section of the summary).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct MapReport {
    /// Image size in pixels.
    pub width: u32,
    /// Image size in pixels.
    pub height: u32,
    /// What every figure below counts: `addresses` or `/64 subnets` (`weighted addresses`
    /// when records were weighted).
    pub unit: &'static str,
    /// The counts are sums of weights (`--weight-column`).
    #[serde(skip)]
    pub weighted: bool,
    /// The weight column, when they are.
    #[serde(skip)]
    pub weight_column: Option<String>,
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
    /// Grid cells narrower than a pixel (their width in pixels): each was drawn as one
    /// pixel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpixel_cells: Option<f64>,
    /// Located weight without coordinates (points, cells and hex maps; not drawn).
    pub no_coordinates: u128,
    /// Located weight without a country (choropleth; not drawn).
    pub no_country: u128,
    /// Weight in countries without a polygon in the basemap (choropleth; not drawn).
    pub unmapped_weight: u128,
    /// Countries with counts but no polygon (choropleth).
    pub unmapped: Vec<CountryCode>,
    /// Subdivisions with counts but no polygon (`--level subdivision`): `US-XX`, or
    /// `US: name` for a subdivision the database names without a code.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmapped_subdivisions: Vec<String>,
    /// Located weight with a country but no subdivision drawn: the record names none, or
    /// its country has no subdivisions in the map (`--level subdivision`; not drawn).
    #[serde(skip_serializing_if = "is_zero")]
    pub no_subdivision: u128,
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
    /// The caller's captions (`--note`), as given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub captions: Vec<String>,
    /// The colour bar's label.
    pub legend: String,
    /// Characters of the title and captions no font of the map draws (without `--font`,
    /// those DejaVu Sans lacks), each once.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub missing_characters: String,
    /// The projection, printed size and scale bar.
    #[serde(flatten)]
    pub frame: FrameReport,
}

/// How a map (or a change map) is framed: its projection, printed size and scale bar.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct FrameReport {
    /// The projection, as the subtitle names it (`Albers equal-area conic (37.7°N,
    /// 44.3°N; 74°W)`).
    pub projection: String,
    /// The projection's PROJ definition, for placing other data on the map.
    pub proj: String,
    /// The printed size at the resolution asked for (`--size`, `--dpi`):
    /// `180 x 125.8 mm at 300 dpi`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub print_size: Option<String>,
    /// The scale bar of a regional map: its length, and the parallel it holds on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_bar: Option<String>,
}

impl FrameReport {
    /// The projection and printed size of a map laid out as `layout` (the scale bar is
    /// filled in when it is drawn).
    pub(super) fn new(proj: &Projection, layout: &Layout, opts: &MapOptions) -> Self {
        let mm = |px: u32, dpi: f64| crate::util::trim_decimal(f64::from(px) / dpi * 25.4, 1);
        FrameReport {
            projection: proj.describe(),
            proj: proj.definition(),
            print_size: opts.dpi.map(|dpi| {
                format!(
                    "{} x {} mm at {} dpi",
                    mm(layout.width, dpi),
                    mm(layout.height, dpi),
                    crate::util::trim_decimal(dpi, 2)
                )
            }),
            scale_bar: None,
        }
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u128) -> bool {
    *n == 0
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

impl MapReport {
    /// An empty report of a map of this size, naming the unit it shows and the other
    /// unit's located weight (never added in).
    pub(super) fn new(
        tally: &Tally,
        opts: &MapOptions,
        layout: &Layout,
        proj: &Projection,
    ) -> Self {
        let other_unit = Unit::ALL
            .into_iter()
            .filter(|u| *u != opts.unit)
            .map(|u| OtherUnit {
                unit: u.label_of(tally.weight.is_some()),
                found: tally.located_unit(u).found,
                kind: u,
            })
            .find(|o| o.found > 0);
        MapReport {
            width: layout.width,
            height: layout.height,
            unit: opts.unit.label_of(tally.weight.is_some()),
            weighted: tally.weight.is_some(),
            weight_column: tally.weight.clone(),
            coarse_km: opts.drop_coarse_km.unwrap_or(COARSE_KM),
            coarse_dropped: opts.drop_coarse_km.is_some(),
            other_unit,
            frame: FrameReport::new(proj, layout, opts),
            ..MapReport::default()
        }
    }
}

impl MapReport {
    /// Fills in the words once the layers are counted: the subtitle, the attributions and
    /// the notes (returned in their long and short forms, for the footer).
    pub(super) fn finish(
        &mut self,
        opts: &MapOptions,
        databases: &[DatabaseInfo],
    ) -> Vec<(String, String)> {
        self.subtitle = subtitle(opts, databases, self);
        self.attributions = attributions(databases);
        self.captions.clone_from(&opts.captions);
        self.legend = opts
            .legend_label
            .clone()
            .unwrap_or_else(|| bar_label(opts, self.weighted));
        let notes = footer_notes(opts, self);
        self.notes = notes.iter().map(|(long, _)| long.clone()).collect();
        notes
    }
}

/// A map's attributions: every database's that has one, each once, then the basemap's.
pub(super) fn attributions<'a>(
    databases: impl IntoIterator<Item = &'a DatabaseInfo>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in databases.into_iter().filter_map(|d| d.attribution.clone()) {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out.push(format!("Basemap: {NATURAL_EARTH}"));
    out
}

/// Renders a map of a tally. A choropleth of subdivisions (`opts.level`) fills the
/// embedded US states; [`render_with`] takes another map of subdivisions.
pub fn render(
    tally: &Tally,
    basemap: &Basemap,
    databases: &[DatabaseInfo],
    opts: &MapOptions,
) -> Result<(Pixmap, MapReport)> {
    render_with(tally, basemap, None, databases, opts)
}

/// Renders a map of a tally, a choropleth of subdivisions filling `subdivisions` (an
/// admin-1 map, [`Basemap::subdivisions`]; the embedded US states when `None`) over the
/// countries of `basemap`.
pub fn render_with(
    tally: &Tally,
    basemap: &Basemap,
    subdivisions: Option<&Basemap>,
    databases: &[DatabaseInfo],
    opts: &MapOptions,
) -> Result<(Pixmap, MapReport)> {
    let (surface, report) = draw(tally, basemap, subdivisions, databases, opts, false)?;
    let pixmap = surface
        .into_pixmap()
        .ok_or_else(|| Error::Internal("a raster surface holds no pixels".into()))?;
    Ok((pixmap, report))
}

/// Draws a map of a tally as [`render_with`] does, as shapes, text and images for an SVG or
/// a PDF ([`Drawing::svg`], [`Drawing::pdf`]).
pub fn render_vector_with(
    tally: &Tally,
    basemap: &Basemap,
    subdivisions: Option<&Basemap>,
    databases: &[DatabaseInfo],
    opts: &MapOptions,
) -> Result<(Drawing, MapReport)> {
    let (surface, report) = draw(tally, basemap, subdivisions, databases, opts, true)?;
    let drawing = Drawing::new(surface, opts, &report.subtitle)?;
    Ok((drawing, report))
}

/// Draws a map on a surface of pixels or (`vector`) of shapes.
fn draw(
    tally: &Tally,
    basemap: &Basemap,
    subdivisions: Option<&Basemap>,
    databases: &[DatabaseInfo],
    opts: &MapOptions,
    vector: bool,
) -> Result<(Surface, MapReport)> {
    let by_subdivision = opts.mode == Mode::Choropleth && opts.level == Level::Subdivision;
    if by_subdivision && opts.per_capita {
        return Err(Error::Option {
            name: "per-capita",
            message:
                "subdivisions have no population figures: drop --per-capita or use --level country"
                    .into(),
        });
    }
    let embedded;
    let filled = match (by_subdivision, subdivisions) {
        (false, _) => basemap,
        (true, Some(s)) => s,
        (true, None) => {
            embedded = Basemap::subdivisions(None)?;
            &embedded
        }
    };
    let proj = Projection::for_map(opts.projection, opts.bbox)?;
    let pal = palette(opts.style, opts.colormap);
    let mut sources = attributions(databases);
    if by_subdivision && filled.source == crate::basemap::US_STATES_SOURCE {
        sources.push(crate::basemap::US_CENSUS.to_owned());
    }
    let lines = super::legend::attribution_lines(&sources, opts.width as f32, opts.font.as_ref());
    let layout = Layout::new(&proj, opts, lines.len())?;
    let mut surface = layout.surface(pal.background, vector)?;
    let mut report = MapReport::new(tally, opts, &layout, &proj);

    let globe = draw_ocean(&mut surface, &proj, &layout.frame, &pal);
    let choropleth = Choropleth::new(tally, filled, opts);
    let borders = draw_land(&mut surface, basemap, &layout, &proj, &pal, |c| {
        choropleth.fill(c, &pal)
    });
    if by_subdivision {
        draw_land(&mut surface, filled, &layout, &proj, &pal, |c| {
            choropleth.fill(c, &pal)
        });
    }
    if opts.graticule {
        draw_graticule(&mut surface, &proj, &layout, &pal);
    }
    let canvas = Canvas {
        proj: &proj,
        layout: &layout,
        pal: &pal,
        opts,
        coarse_km: report.coarse_km,
    };
    let legend_scale = match opts.mode {
        Mode::Choropleth => choropleth.account(tally, filled, opts, &mut report),
        Mode::Points => draw_points(&mut surface, tally, canvas, &mut report),
        Mode::Cells | Mode::Hex => {
            let scale = draw_cells(&mut surface, tally, canvas, &mut report)?;
            if opts.bbox.is_some() {
                draw_borders_above(&mut surface, borders.as_ref(), &layout, &pal);
            }
            scale
        }
    };
    if let Some(globe) = &globe
        && opts.bbox.is_none()
    {
        draw_outline(&mut surface, globe, &pal);
    }

    let notes = report.finish(opts, databases);
    report.attributions = sources;
    if opts.shows_text() {
        let fonts = super::text::Fonts::load(opts.font.as_ref())
            .ok_or_else(|| Error::Internal("the embedded font cannot be read".into()))?;
        report.frame.scale_bar =
            draw_region_marks(&mut surface, &fonts, &proj, &layout, opts, &pal);
        let title = title(opts);
        let words: String = std::iter::once(title.clone())
            .chain(opts.captions.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        report.missing_characters = fonts.missing(&words).into_iter().collect();
        let heat = |t: f64| pal.heat(t);
        let captions = caption_lines(&opts.captions, layout.width as f32, opts.font.as_ref());
        draw_legend(
            &mut surface,
            &fonts,
            &pal,
            &Words {
                title: &title,
                subtitle: &report.subtitle,
                notes: &notes,
                captions: &captions,
                attributions: &report.attributions,
            },
            &Bar {
                colour: &heat,
                ticks: ticks(&legend_scale, layout.width as f32),
                label: report.legend.clone(),
                right: scale_name(opts.scale).to_owned(),
                no_data: (opts.mode == Mode::Choropleth
                    && filled
                        .countries
                        .iter()
                        .any(|c| !c.polygons.is_empty() && choropleth.value(c).is_none()))
                .then_some(pal.land),
            },
            layout.header,
            layout.footer_top(),
        );
    }
    Ok((surface, report))
}
