//! `ipatlas map` (resolve, aggregate and draw in one run) and `ipatlas render` (draw a saved
//! tally): the map flags they share.

use super::SourceArgs;
use clap::Args;
use ipatlas::basemap::{Basemap, Detail};
use ipatlas::error::{Error, Result};
use ipatlas::locate::DatabaseInfo;
use ipatlas::outputs::features::Layer;
use ipatlas::outputs::geojson::{Framing, write_layer};
use ipatlas::outputs::{self as tables, Outputs, RunFacts, Summary};
use ipatlas::render::{
    Bbox, Colormap, HtmlOptions, HtmlReport, MapOptions, MapReport, Mode, ProjectionSpec,
    ScaleKind, Style, render_html, render_vector_with, render_with,
};
use ipatlas::tally::{CellGrid, Tally};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Flags that shape a map.
#[derive(Args, Debug, Clone)]
pub struct MapArgs {
    /// Image width in pixels, 64 to 16384 (the height follows the projection).
    #[arg(long, default_value_t = 1600, allow_hyphen_values = true)]
    width: u32,
    /// Map a region: lon0,lat0,lon1,lat1 (west,south,east,north) in degrees; a west edge east
    /// of the east edge crosses the antimeridian (165,-48,-175,-15).
    #[arg(long, value_name = "BOX", allow_hyphen_values = true)]
    bbox: Option<String>,
    /// Heat layer: points (per pixel), cells (grid), choropleth (countries), hex (H3). Default: points
    /// when the data has coordinates, choropleth when it has only countries.
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    /// Colour scale.
    #[arg(long, value_enum, default_value_t = ScaleKind::EqHist)]
    scale: ScaleKind,
    /// Colour map (default: inferno on dark, ylorrd on light).
    #[arg(long, value_enum)]
    colormap: Option<Colormap>,
    /// dark (the 2012 look) or light (print).
    #[arg(long, value_enum, default_value_t = Style::Dark)]
    style: Style,
    /// Title above the map.
    #[arg(long)]
    title: Option<String>,
    /// No title, colour bar or attribution: the bare map.
    #[arg(long)]
    no_legend: bool,
    /// Cell size in degrees, 0.01 to 180 (cells mode, and map's cells outputs).
    #[arg(long, value_name = "DEG", default_value = "1", value_parser = super::cell_grid, allow_hyphen_values = true)]
    cell: CellGrid,
    /// Points mode: grow each lit pixel by this many pixels (0 to 50).
    #[arg(
        long,
        value_name = "PX",
        default_value_t = 1,
        allow_hyphen_values = true
    )]
    spread: u32,
    /// Points mode: Gaussian blur radius in pixels, 0 (none) to 100.
    #[arg(
        long,
        value_name = "RADIUS",
        default_value_t = 0.0,
        allow_hyphen_values = true
    )]
    blur: f32,
    /// Choropleth: addresses per million people (the basemap's POP_EST).
    #[arg(long)]
    per_capita: bool,
    /// Leave out places with an accuracy radius of at least --coarse-km: country centroids
    /// and default locations that pile thousands of addresses into one pixel.
    #[arg(long)]
    drop_coarse: bool,
    /// With --drop-coarse: the accuracy radius, in kilometres, from which a place is coarse.
    #[arg(
        long,
        value_name = "KM",
        default_value_t = ipatlas::render::COARSE_KM,
        requires = "drop_coarse",
        allow_hyphen_values = true
    )]
    coarse_km: u32,
    /// Draw a 30-degree graticule.
    #[arg(long)]
    graticule: bool,
    /// Country polygons: any polygon shapefile (default: embedded Natural Earth 1:10m).
    /// With --level subdivision: the subdivisions, an admin-1 shapefile with ISO 3166-2
    /// codes (ISO_3166_2, e.g. US-CA; default: the embedded US states).
    #[arg(long, value_name = "FILE.shp")]
    basemap: Option<PathBuf>,
    /// What a choropleth fills: countries, or first-level subdivisions (states, provinces)
    /// where the map of subdivisions has polygons.
    #[arg(long, value_enum, default_value_t = ipatlas::render::Level::Country)]
    level: ipatlas::render::Level,
    /// H3 resolution for --mode hex (0: 122 cells on Earth, 3: about 41,000, 5: 2 million).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    h3_res: Option<u8>,
    /// What the map counts: addresses (IPv4, and single IPv6 addresses) or the /64 subnets
    /// of IPv6 prefixes; the two are never added. Default: addresses when any were located.
    #[arg(long, value_enum)]
    unit: Option<ipatlas::tally::Unit>,
    /// The interactive page's (.html) size limit in megabytes: heat layers are left out
    /// (points, then hexagons, then cells) until it fits, and the page says which.
    #[arg(
        long,
        value_name = "MB",
        default_value_t = 10.0,
        allow_hyphen_values = true
    )]
    html_max_mb: f64,
    #[command(flatten)]
    frame: FrameArgs,
}

/// What a map carries besides its data (captions, the bar's label, the font, the scale
/// bar, the Mercator crop): the same flags on `map`, `render` and `compare`.
#[derive(Args, Debug, Clone)]
pub(super) struct FrameArgs {
    /// Map projection: auto (Equal Earth for the world; for a --bbox, Albers equal-area
    /// conic or Lambert azimuthal equal-area centred on it), equal-earth, robinson,
    /// equirectangular, mercator, lambert-azimuthal, albers. NAME:LON0 sets the central
    /// meridian (equal-earth:150 for a Pacific-centred world).
    #[arg(long, value_name = "NAME[:LON0]", default_value = "auto", value_parser = parse_projection, allow_hyphen_values = true)]
    projection: ProjectionSpec,
    /// The central meridian, in degrees (default: the centre of --bbox, or 0).
    #[arg(long, value_name = "DEGREES", value_parser = parse_lon0, allow_hyphen_values = true)]
    lon0: Option<f64>,
    /// A line added above the attribution, wrapped to the width (repeat for more lines): a
    /// source, a disclaimer.
    #[arg(long = "note", value_name = "TEXT")]
    notes: Vec<String>,
    /// The colour bar's label, instead of the one the unit and mode give.
    #[arg(long, value_name = "TEXT")]
    legend_label: Option<String>,
    /// Mercator world maps are cropped to 70°S-70°N (beyond, the projection gives most of
    /// the image to the poles); this draws them to 85°S-85°N.
    #[arg(long)]
    full_mercator: bool,
    /// A TrueType/OpenType font (or .ttc collection) for the characters the embedded DejaVu
    /// Sans lacks: Chinese, Japanese or Korean titles and notes (Noto Sans CJK, IPAGothic).
    #[arg(long, value_name = "FILE.ttf")]
    font: Option<PathBuf>,
    /// The printed width (180mm, 18cm, 7in): the image is made that wide at --dpi (300 by
    /// default), the height follows the map, and the PNG says its resolution so it prints
    /// at that size. Instead of --width.
    #[arg(long, value_name = "WIDTH", value_parser = parse_print_width, conflicts_with = "width")]
    size: Option<f64>,
    /// The print resolution in dots per inch (72 to 2400): with --size, the pixels per
    /// millimetre; alone, the resolution the PNG says it has.
    #[arg(long, value_name = "DPI", value_parser = parse_dpi)]
    dpi: Option<f64>,
    /// Leave out the scale bar a regional map (--bbox) gets.
    #[arg(long)]
    no_scale_bar: bool,
}

fn parse_projection(text: &str) -> std::result::Result<ProjectionSpec, String> {
    ProjectionSpec::parse(text).map_err(|e| e.to_string())
}

fn parse_print_width(text: &str) -> std::result::Result<f64, String> {
    ipatlas::render::print_width_mm(text).map_err(|e| e.to_string())
}

fn parse_dpi(text: &str) -> std::result::Result<f64, String> {
    ipatlas::render::parse_dpi(text).map_err(|e| e.to_string())
}

fn parse_lon0(text: &str) -> std::result::Result<f64, String> {
    ipatlas::render::parse_lon0(text).map_err(|e| e.to_string())
}

impl FrameArgs {
    /// Declares the font file as an input.
    pub(super) fn declare(&self, paths: &mut super::guard::Paths) {
        if let Some(f) = &self.font {
            paths.input("--font", f);
        }
    }

    /// `options` with these flags applied (the font read and checked).
    pub(super) fn apply(&self, options: MapOptions) -> Result<MapOptions> {
        let options = options.printed(self.size, self.dpi)?;
        Ok(MapOptions {
            projection: self.projection.with_lon0(self.lon0)?,
            captions: self.notes.clone(),
            legend_label: self.legend_label.clone(),
            full_mercator: self.full_mercator,
            font: self
                .font
                .as_deref()
                .map(ipatlas::render::FontFile::read)
                .transpose()?,
            scale_bar: !self.no_scale_bar,
            ..options
        })
    }
}

impl MapArgs {
    /// The map options, and a warning for each flag that cannot act on this map.
    fn options(&self, tally: &Tally) -> Result<(MapOptions, Vec<String>, Option<String>)> {
        let choice = super::choose_unit(tally, self.unit, "map");
        let mode = self
            .mode
            .unwrap_or_else(|| Mode::default_for(tally, choice.unit, self.per_capita));
        let h3_res = self.h3_res.unwrap_or(3);
        let mode_name = match mode {
            Mode::Points => "points",
            Mode::Cells => "cells",
            Mode::Choropleth => "choropleth",
            Mode::Hex => "hex",
        };
        let mut warnings: Vec<String> = choice.warning.into_iter().collect();
        let mut unused = |flag: &str, applies: &str| {
            warnings.push(format!(
                "{flag} applies to {applies} maps; this is a {mode_name} map, so it does nothing"
            ));
        };
        if self.per_capita && mode != Mode::Choropleth {
            unused("--per-capita", "choropleth");
        }
        if self.blur > 0.0 && mode != Mode::Points {
            unused("--blur", "points");
        }
        if self.spread != 1 && mode != Mode::Points {
            unused("--spread", "points");
        }
        if self.h3_res.is_some() && mode != Mode::Hex {
            unused("--h3-res", "hex");
        }
        if self.level == ipatlas::render::Level::Subdivision && mode != Mode::Choropleth {
            unused("--level subdivision", "choropleth");
        }
        let options = MapOptions {
            width: self.width,
            bbox: self.bbox.as_deref().map(Bbox::parse).transpose()?,
            mode,
            scale: self.scale,
            colormap: self.colormap,
            style: self.style,
            title: self.title.clone(),
            legend: !self.no_legend,
            cell: self.cell.deg(),
            spread: self.spread,
            blur: self.blur,
            per_capita: self.per_capita,
            drop_coarse_km: self.drop_coarse.then_some(self.coarse_km),
            graticule: self.graticule,
            h3_res,
            unit: choice.unit,
            level: self.level,
            ..MapOptions::default()
        };
        let options = self.frame.apply(options)?;
        options.validate()?;
        Ok((options, warnings, choice.note))
    }

    /// The countries: `--basemap`, unless it names the subdivisions (`--level
    /// subdivision`); else the embedded one at this detail.
    fn basemap(&self, detail: Detail) -> Result<Basemap> {
        let countries = match self.level {
            ipatlas::render::Level::Country => self.basemap.as_deref(),
            ipatlas::render::Level::Subdivision => None,
        };
        Basemap::for_map(countries, detail)
    }

    /// The subdivisions a choropleth of them fills: `--basemap`, else the embedded US
    /// states; `None` at the country level.
    fn subdivisions(&self, opts: &MapOptions) -> Result<Option<Basemap>> {
        (opts.mode == Mode::Choropleth && opts.level == ipatlas::render::Level::Subdivision)
            .then(|| Basemap::subdivisions(self.basemap.as_deref()))
            .transpose()
    }

    /// Draws the map and writes the image or page `out` names (with the run's other
    /// outputs). Returns notes and warnings for stderr, and what was drawn.
    fn draw(
        &self,
        tally: &Tally,
        databases: &[DatabaseInfo],
        outputs: &mut Outputs,
        out: &Path,
    ) -> Result<Drawn> {
        let (opts, mut warnings, unit_note) = self.options(tally)?;
        let basemap = self.basemap(opts.detail())?;
        let subdivisions = self.subdivisions(&opts)?;
        let format = ImageFormat::of(out)?;
        let mut html = None;
        let report = if format == ImageFormat::Html {
            let (page, h) = render_html(tally, &basemap, databases, &opts, &self.html_options()?)?;
            outputs.write(out, |w| w.write_all(page.as_bytes()));
            if subdivisions.is_some() {
                warnings.push(format!(
                    "{}: the page's choropleth fills countries; --level subdivision is drawn in the PNG",
                    out.display()
                ));
            }
            if opts.mode == Mode::Points && (self.blur > 0.0 || self.spread != 1) {
                warnings.push(format!(
                    "{}: --blur and --spread shape the PNG's points; the page draws each lit pixel",
                    out.display()
                ));
            }
            warnings.extend(h.notes.iter().map(|n| format!("{}: {n}", out.display())));
            let report = h.shown_report.clone();
            html = Some(h);
            report
        } else if let ImageFormat::Svg | ImageFormat::Pdf = format {
            let (drawing, report) =
                render_vector_with(tally, &basemap, subdivisions.as_ref(), databases, &opts)?;
            let bytes = if format == ImageFormat::Svg {
                drawing.svg().into_bytes()
            } else {
                drawing.pdf()?
            };
            outputs.write(out, |w| w.write_all(&bytes));
            report
        } else {
            let (pixmap, report) =
                render_with(tally, &basemap, subdivisions.as_ref(), databases, &opts)?;
            let bytes = format
                .encode(&pixmap, opts.dpi)
                .map_err(|e| Error::output(out.to_string_lossy(), std::io::Error::other(e)))?;
            outputs.write(out, |w| w.write_all(&bytes));
            report
        };
        let mut notes: Vec<String> = unit_note.into_iter().collect();
        let located = tally.located_unit(opts.unit);
        if matches!(opts.mode, Mode::Points | Mode::Cells | Mode::Hex)
            && located.found > 0
            && located.with_coords == 0
        {
            notes.push("the data has no coordinates (a country-only database?): use --mode choropleth, or a city database".to_owned());
        }
        if let Some(px) = report.subpixel_cells {
            notes.push(format!(
                "cells of {}° are {px:.2} pixels wide at --width {}: each is drawn as one pixel (a larger --cell or --width shows their shape)",
                ipatlas::util::trim_decimal(opts.cell, 4),
                opts.width
            ));
        }
        if report.outside > 0 {
            notes.push(format!(
                "{} {} lie outside the map's frame and are not drawn",
                report.outside, report.unit
            ));
        }
        if !report.unmapped.is_empty() {
            let codes: Vec<String> = report.unmapped.iter().map(ToString::to_string).collect();
            notes.push(format!(
                "no polygon in {} for {}",
                basemap.source,
                codes.join(", ")
            ));
        }
        if opts.legend && !opts.shows_text() {
            notes.push(format!(
                "at --width {} (below {} pixels) the map carries no title, colour bar or footer: they would not fit; the summary's map section holds them",
                opts.width,
                ipatlas::render::MIN_TEXT_WIDTH
            ));
        }
        if !report.missing_characters.is_empty() {
            warnings.push(format!(
                "the map's fonts have no glyph for {}: give --font FILE.ttf with them (Noto Sans CJK, IPAGothic, ...)",
                report.missing_characters
            ));
        }
        if !report.unmapped_subdivisions.is_empty()
            && let Some(map) = &subdivisions
        {
            notes.push(format!(
                "no polygon in {} for {}",
                map.source,
                report.unmapped_subdivisions.join(", ")
            ));
        }
        if self.drop_coarse {
            let any_radius = tally
                .places()
                .iter()
                .any(|(p, _)| p.accuracy_radius.is_some());
            if !any_radius {
                warnings.push(
                    "--drop-coarse: no place has an accuracy radius (this database gives none), so nothing was left out".to_owned(),
                );
            } else if report.drawn == 0 && report.coarse > 0 {
                warnings.push(format!(
                    "--drop-coarse left out every place (all at an accuracy radius of {} km or more): the map is empty",
                    report.coarse_km
                ));
            }
        }
        Ok(Drawn {
            notes,
            warnings,
            report,
            html,
        })
    }

    /// The page's options: `--html-max-mb`, checked.
    fn html_options(&self) -> Result<HtmlOptions> {
        let mb = self.html_max_mb;
        HtmlOptions::from_mb(mb).ok_or_else(|| Error::Option {
            name: "html-max-mb",
            message: format!("must be 0.1 to 1000 megabytes, got {mb}"),
        })
    }
}

/// What drawing a map produced besides the image.
struct Drawn {
    notes: Vec<String>,
    warnings: Vec<String>,
    report: MapReport,
    /// What the page holds, for a page.
    html: Option<HtmlReport>,
}

impl Drawn {
    /// The notes and warnings of another drawing of the same map, each said once.
    fn absorb(&mut self, other: Drawn) {
        for w in other.warnings {
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
        for n in other.notes {
            if !self.notes.contains(&n) {
                self.notes.push(n);
            }
        }
        if other.html.is_some() {
            self.html = other.html;
        }
    }

    fn say(&self) {
        self.warnings
            .iter()
            .for_each(|w| crate::cli::say!("ipatlas: warning: {w}"));
        self.notes
            .iter()
            .for_each(|n| crate::cli::say!("ipatlas: note: {n}"));
    }
}

/// The image file formats `render -o` writes, chosen by the file name's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ImageFormat {
    Png,
    Jpeg,
    WebP,
    Tiff,
    /// Vector formats: drawn as shapes, text and images (`render_vector_with`).
    Svg,
    Pdf,
    /// The interactive page (not an image encoding: drawn by `render_html`).
    Html,
}

impl ImageFormat {
    /// The format a file name asks for: `.png` (and `-`, stdout), `.jpg`/`.jpeg`, `.webp`,
    /// `.tif`/`.tiff`; anything else is refused with the list.
    fn of(path: &Path) -> Result<Self> {
        if path.as_os_str() == "-" {
            return Ok(ImageFormat::Png);
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("png") => Ok(ImageFormat::Png),
            Some("jpg" | "jpeg") => Ok(ImageFormat::Jpeg),
            Some("webp") => Ok(ImageFormat::WebP),
            Some("tif" | "tiff") => Ok(ImageFormat::Tiff),
            Some("svg") => Ok(ImageFormat::Svg),
            Some("pdf") => Ok(ImageFormat::Pdf),
            Some("html" | "htm") => Ok(ImageFormat::Html),
            other => Err(Error::Usage(format!(
                "-o {}: cannot tell the image format from {}; name the file .png, .jpg, .webp (lossless), .tif, .svg or .pdf (vector), or .html (an interactive page)",
                ipatlas::util::escape_controls(&path.to_string_lossy()),
                other.map_or("no extension".to_owned(), |e| format!("\".{e}\""))
            ))),
        }
    }

    /// Encodes a rendered map; a PNG or JPEG says the print resolution when there is one.
    fn encode(
        self,
        pixmap: &tiny_skia::Pixmap,
        dpi: Option<f64>,
    ) -> std::result::Result<Vec<u8>, String> {
        if self == ImageFormat::Png {
            return ipatlas::render::encode_png(pixmap, dpi).map_err(|e| e.to_string());
        }
        let rgba = ipatlas::render::rgba(pixmap);
        let image = image::RgbaImage::from_raw(pixmap.width(), pixmap.height(), rgba)
            .ok_or("the image buffer has the wrong size")?;
        let mut out = std::io::Cursor::new(Vec::new());
        let result = match self {
            // JPEG has no alpha; the maps are opaque.
            ImageFormat::Jpeg => {
                let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92);
                if let Some(dpi) = dpi {
                    encoder.set_pixel_density(image::codecs::jpeg::PixelDensity::dpi(
                        dpi.round() as u16
                    ));
                }
                image::DynamicImage::ImageRgba8(image)
                    .to_rgb8()
                    .write_with_encoder(encoder)
            }
            ImageFormat::WebP => {
                image.write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out))
            }
            ImageFormat::Tiff
            | ImageFormat::Png
            | ImageFormat::Svg
            | ImageFormat::Pdf
            | ImageFormat::Html => {
                image.write_with_encoder(image::codecs::tiff::TiffEncoder::new(&mut out))
            }
        };
        result.map_err(|e| e.to_string())?;
        Ok(out.into_inner())
    }
}

/// `render` arguments.
#[derive(Args, Debug)]
pub struct RenderArgs {
    /// A tally file written by `aggregate --tally` or `map`.
    #[arg(value_name = "TALLY")]
    tally: PathBuf,
    /// The image to write, its format by extension: .png, .jpg, .webp (lossless) or .tif;
    /// .svg or .pdf (vector: the same layout, text as text, points as an embedded image;
    /// the PDF embeds its fonts); or .html for an interactive page (pan, zoom, hover, every
    /// layer); `-` writes PNG to stdout.
    #[arg(short, long, value_name = "FILE.png|.jpg|.webp|.tif|.svg|.pdf|.html")]
    output: PathBuf,
    #[command(flatten)]
    map: MapArgs,
    /// No notes on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// Declares a basemap shapefile (and the files beside it that are read) as inputs.
pub(super) fn declare_basemap(paths: &mut super::guard::Paths, shp: &Path) {
    paths.input("--basemap", shp);
    for ext in ["dbf", "shx"] {
        let sibling = shp.with_extension(ext);
        if sibling.exists() {
            paths.input("--basemap", sibling);
        }
    }
}

pub(super) fn run_render(args: &RenderArgs) -> Result<()> {
    let mut paths = super::guard::Paths::default();
    paths.input("TALLY", &args.tally);
    if let Some(b) = &args.map.basemap {
        declare_basemap(&mut paths, b);
    }
    args.map.frame.declare(&mut paths);
    let mut outputs = paths.output("-o", &args.output).check()?;
    ImageFormat::of(&args.output)?;
    let (tally, databases) = Tally::read(&args.tally)?;
    let drawn = args
        .map
        .draw(&tally, &databases, &mut outputs, &args.output)?;
    outputs.commit()?;
    if !args.quiet {
        drawn.say();
    }
    Ok(())
}

/// `map` arguments.
#[derive(Args, Debug)]
pub struct MapCommandArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Directory that receives map.png, map.html (the interactive page), countries.csv,
    /// cells.csv, summary.json, tally.json, cells.geojson and countries.geojson (created if
    /// missing); and map.svg and map.pdf (vector) when --only names them.
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// Write only these outputs (comma-separated names from the list above).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    only: Vec<String>,
    /// Put this before every output name (`--prefix run1-` writes run1-map.png, ...).
    #[arg(long, value_name = "TEXT", default_value = "")]
    prefix: String,
    #[command(flatten)]
    map: MapArgs,
}

/// The vector maps `map` and `compare` write when `--only` names them.
pub(super) const VECTOR_MAPS: [&str; 2] = ["map.svg", "map.pdf"];

/// Checks `--only`'s names against a command's outputs (and the vector maps).
pub(super) fn check_only(only: &[String], outputs: &[&str]) -> Result<()> {
    match only
        .iter()
        .find(|n| !outputs.contains(&n.as_str()) && !VECTOR_MAPS.contains(&n.as_str()))
    {
        Some(name) => Err(Error::Usage(format!(
            "--only: unknown output {name:?}; the outputs are {}, and {} (written only when named)",
            outputs.join(", "),
            VECTOR_MAPS.join(", ")
        ))),
        None => Ok(()),
    }
}

/// Whether `--only` asks for an output: every one but the vector maps when it is not given.
pub(super) fn wanted(only: &[String], name: &str) -> bool {
    let named = only.iter().any(|n| n == name);
    named || (only.is_empty() && !VECTOR_MAPS.contains(&name))
}

/// The files `map` writes.
const MAP_OUTPUTS: [&str; 8] = [
    "map.png",
    "map.html",
    "countries.csv",
    "cells.csv",
    "summary.json",
    "tally.json",
    "cells.geojson",
    "countries.geojson",
];

pub(super) fn run_map(args: &MapCommandArgs) -> Result<()> {
    let started = Instant::now();
    let grid = args.map.cell;
    check_only(&args.only, &MAP_OUTPUTS)?;
    if args.prefix.contains('/') {
        return Err(Error::Usage("--prefix must not contain '/'".into()));
    }
    let wanted = |name: &str| wanted(&args.only, name);
    let path = |name: &str| -> PathBuf { args.output.join(format!("{}{name}", args.prefix)) };
    let mut paths = super::guard::Paths::default();
    args.source.declare(&mut paths);
    if let Some(b) = &args.map.basemap {
        declare_basemap(&mut paths, b);
    }
    args.map.frame.declare(&mut paths);
    for name in MAP_OUTPUTS
        .into_iter()
        .chain(VECTOR_MAPS)
        .filter(|n| wanted(n))
    {
        paths.output("-o", path(name));
    }
    let mut outputs = paths.check()?;
    super::create_output_dir(&args.output)?;
    let resolved = args.source.resolve()?;
    let (tally, databases) = (resolved.tally, resolved.databases);
    // The GeoJSON layers count the map's unit (the CSV tables hold every unit, by row).
    let unit = super::choose_unit(&tally, args.map.unit, "map").unit;
    let mut drawn: Option<Drawn> = None;
    for name in ["map.png", "map.html"].into_iter().chain(VECTOR_MAPS) {
        if wanted(name) {
            let d = args
                .map
                .draw(&tally, &databases, &mut outputs, &path(name))?;
            match &mut drawn {
                Some(first) => first.absorb(d),
                None => drawn = Some(d),
            }
        }
    }
    if wanted("countries.csv") {
        outputs.write(path("countries.csv"), |w| tables::countries_csv(&tally, w));
    }
    if wanted("cells.csv") {
        outputs.write(path("cells.csv"), |w| tables::cells_csv(&tally, &grid, w));
    }
    if wanted("tally.json") {
        outputs.write(path("tally.json"), |w| tally.write(databases.clone(), w));
    }
    if wanted("cells.geojson") {
        outputs.write(path("cells.geojson"), |w| {
            write_layer(
                &tally,
                Layer::Cells,
                &grid,
                None,
                unit,
                Framing::Collection,
                w,
            )
            .map(drop)
        });
    }
    if wanted("countries.geojson") {
        let countries_map = args.map.basemap(Detail::Region)?;
        outputs.write(path("countries.geojson"), |w| {
            write_layer(
                &tally,
                Layer::Countries,
                &grid,
                Some(&countries_map),
                unit,
                Framing::Collection,
                w,
            )
            .map(drop)
        });
    }
    let mut summary = Summary::new(
        &tally,
        RunFacts {
            databases,
            decoded_records: resolved.decoded_records,
            ipv4_table: resolved.ipv4_table,
            ipv6_table: resolved.ipv6_table,
            csv_database: resolved.csv_database,
            elapsed_s: started.elapsed().as_secs_f64(),
            threads: resolved.threads,
            grid: Some(grid),
        },
    );
    summary.warnings = args.source.db.field_warnings(&tally);
    if let Some(d) = &drawn {
        summary.map = Some(d.report.clone());
        summary.html = d.html.clone();
        summary.warnings.extend(d.warnings.iter().cloned());
    }
    if wanted("summary.json") {
        outputs.write(path("summary.json"), |w| {
            serde_json::to_writer_pretty(&mut *w, &summary)?;
            writeln!(w)
        });
    }
    outputs.commit()?;
    if !args.source.input.quiet {
        for w in args.source.db.field_warnings(&tally) {
            crate::cli::say!("ipatlas: warning: {w}");
        }
        if let Some(d) = &drawn {
            d.say();
        }
        crate::cli::say!("ipatlas: wrote {}", Path::new(&args.output).display());
        if std::io::stderr().is_terminal() {
            crate::cli::say!("{}", super::closing_line(&summary));
        }
    }
    Ok(())
}
