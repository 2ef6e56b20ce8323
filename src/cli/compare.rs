//! `ipatlas compare`: two tallies side by side (then versus now): country and cell tables of
//! counts, shares, change and ratio, and a map of the change.

use clap::Args;
use ipatlas::basemap::Basemap;
use ipatlas::error::{Error, Result};
use ipatlas::render::{
    Bbox, ChangeOptions, ChangeReport, ChangeScale, ChangeValue, MapOptions, Mode, Sides, Style,
    render_change, render_change_vector,
};
use ipatlas::tally::compare::{self, Comparison, Measure};
use ipatlas::tally::{CellGrid, Tally, Unit};
use std::path::{Path, PathBuf};

/// `compare` arguments.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The earlier (or reference) tally, written by `aggregate --tally` or `map`.
    #[arg(value_name = "A")]
    a: PathBuf,
    /// The later tally.
    #[arg(value_name = "B")]
    b: PathBuf,
    /// Directory that receives countries.csv, cells.csv, map.png and summary.json (created
    /// if missing); and map.svg and map.pdf (vector) when --only names them.
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// Write only these outputs (comma-separated names from the list above).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    only: Vec<String>,
    /// Compare each side's shares of its own total (the default: the totals of two studies
    /// differ) or the counts themselves.
    #[arg(long = "compare", value_enum, default_value_t = Measure::Shares)]
    measure: Measure,
    /// What the map colours: the difference B - A (percentage points of share, or counts),
    /// or the ratio B / A on a log scale.
    #[arg(long, value_enum, default_value_t = ChangeValue::Difference)]
    change: ChangeValue,
    /// The map: countries (choropleth) or grid cells of --cell degrees.
    #[arg(long, value_enum, default_value_t = CompareMode::Countries)]
    mode: CompareMode,
    /// How changes spread over the colour bar: linear, or cube root (small changes stay
    /// visible beside a large one).
    #[arg(long, value_enum, default_value_t = ChangeScale::Linear)]
    scale: ChangeScale,
    /// Cell size in degrees, 0.01 to 180 (cells.csv and the cells map).
    #[arg(long, value_name = "DEG", default_value = "1", value_parser = super::cell_grid, allow_hyphen_values = true)]
    cell: CellGrid,
    /// What both tallies count: addresses or /64 subnets (default: addresses when both
    /// located any).
    #[arg(long, value_enum)]
    unit: Option<Unit>,
    /// Leave out places with an accuracy radius of at least --coarse-km on both sides
    /// (country centroids and default locations), before comparing.
    #[arg(long)]
    drop_coarse: bool,
    /// With --drop-coarse: the accuracy radius, in kilometres, from which a place is coarse.
    #[arg(long, value_name = "KM", default_value_t = ipatlas::render::COARSE_KM, requires = "drop_coarse")]
    coarse_km: u32,
    /// Image width in pixels, 64 to 16384.
    #[arg(long, default_value_t = 1600, allow_hyphen_values = true)]
    width: u32,
    /// Map a region: lon0,lat0,lon1,lat1 (west,south,east,north) in degrees; a west edge east
    /// of the east edge crosses the antimeridian (165,-48,-175,-15).
    #[arg(long, value_name = "BOX", allow_hyphen_values = true)]
    bbox: Option<String>,
    /// light (the default here: the diverging colours are made for a pale ground) or dark.
    #[arg(long, value_enum, default_value_t = Style::Light)]
    style: Style,
    /// Title above the map.
    #[arg(long)]
    title: Option<String>,
    /// No title, colour bar or attribution: the bare map.
    #[arg(long)]
    no_legend: bool,
    /// Draw a 30-degree graticule.
    #[arg(long)]
    graticule: bool,
    /// Country polygons: any polygon shapefile (default: embedded Natural Earth 1:10m).
    #[arg(long, value_name = "FILE.shp")]
    basemap: Option<PathBuf>,
    #[command(flatten)]
    frame: super::map::FrameArgs,
    /// No notes on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// The layers a change map shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum CompareMode {
    /// Countries filled by their change.
    Countries,
    /// Grid cells filled by their change.
    Cells,
}

/// The files `compare` writes.
const OUTPUTS: [&str; 4] = ["countries.csv", "cells.csv", "map.png", "summary.json"];

/// What `summary.json` says about one side.
#[derive(serde::Serialize)]
struct Side {
    tally: String,
    databases: Vec<ipatlas::locate::DatabaseInfo>,
    /// Located weight in the unit compared (the shares' denominator).
    found: u128,
    with_country: u128,
    with_coords: u128,
}

#[derive(serde::Serialize)]
struct CompareSummary {
    format: &'static str,
    unit: &'static str,
    compare: &'static str,
    a: Side,
    b: Side,
    /// The databases differ (a comparison across databases or years).
    across_databases: bool,
    cell_deg: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    map: Option<ChangeReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

/// The unit both tallies are compared in: `--unit`, else addresses when both located any,
/// else /64 subnets when both did.
fn unit_for(a: &Tally, b: &Tally, asked: Option<Unit>) -> Result<Unit> {
    if let Some(u) = asked {
        return Ok(u);
    }
    Comparison::unit_for(a, b).ok_or_else(|| {
        Error::Usage(
            "A and B have no unit in common: one located only addresses, the other only /64 subnets (or one located nothing); --unit picks one anyway".into(),
        )
    })
}

pub(super) fn run(args: &CompareArgs) -> Result<()> {
    super::map::check_only(&args.only, &OUTPUTS)?;
    let wanted = |name: &str| super::map::wanted(&args.only, name);
    let path = |name: &str| -> PathBuf { args.output.join(name) };
    let mut paths = super::guard::Paths::default();
    paths.input("A", &args.a);
    paths.input("B", &args.b);
    if let Some(b) = &args.basemap {
        super::map::declare_basemap(&mut paths, b);
    }
    args.frame.declare(&mut paths);
    for name in OUTPUTS
        .into_iter()
        .chain(super::map::VECTOR_MAPS)
        .filter(|n| wanted(n))
    {
        paths.output("-o", path(name));
    }
    let mut outputs = paths.check()?;
    let bbox = args.bbox.as_deref().map(Bbox::parse).transpose()?;
    let (a, a_dbs) = Tally::read(&args.a)?;
    let (b, b_dbs) = Tally::read(&args.b)?;
    if a.weight != b.weight {
        return Err(Error::Usage(format!(
            "A is {} and B is {}: their counts are not comparable",
            ipatlas::tally::weighting(a.weight.as_deref()),
            ipatlas::tally::weighting(b.weight.as_deref())
        )));
    }
    let unit = unit_for(&a, &b, args.unit)?;
    let mut warnings = Vec::new();
    for (side, t) in [("A", &a), ("B", &b)] {
        if t.located_unit(unit).found == 0 {
            warnings.push(format!(
                "{side} located no {}: its shares are all zero",
                unit.label()
            ));
        }
    }
    let keep = |t: Tally| -> Tally {
        if args.drop_coarse {
            t.filtered(|p, _| p.accuracy_radius.is_none_or(|r| r < args.coarse_km))
        } else {
            t
        }
    };
    let (a, b) = (keep(a), keep(b));
    let options = MapOptions {
        width: args.width,
        bbox,
        mode: match args.mode {
            CompareMode::Countries => Mode::Choropleth,
            CompareMode::Cells => Mode::Cells,
        },
        style: args.style,
        title: args.title.clone(),
        legend: !args.no_legend,
        cell: args.cell.deg(),
        graticule: args.graticule,
        unit,
        ..MapOptions::default()
    };
    let options = args.frame.apply(options)?;
    options.validate()?;
    super::create_output_dir(&args.output)?;
    let cmp = Comparison::new(&a, &b, unit, args.measure);
    if wanted("countries.csv") {
        outputs.write(path("countries.csv"), |w| {
            compare::countries_csv(&cmp, &a, &b, w)
        });
    }
    if wanted("cells.csv") {
        outputs.write(path("cells.csv"), |w| {
            compare::cells_csv(&cmp, &a, &b, &args.cell, w)
        });
    }
    let mut report = None;
    if wanted("map.png") || super::map::VECTOR_MAPS.iter().any(|n| wanted(n)) {
        let basemap = Basemap::for_map(args.basemap.as_deref(), options.detail())?;
        let sides = Sides {
            a: &a,
            a_databases: &a_dbs,
            b: &b,
            b_databases: &b_dbs,
        };
        let change = ChangeOptions {
            measure: args.measure,
            value: args.change,
            scale: args.scale,
        };
        if wanted("map.png") {
            let (pixmap, r) = render_change(&sides, &basemap, &options, &change)?;
            let png = ipatlas::render::encode_png(&pixmap, options.dpi)?;
            outputs.write(path("map.png"), |w| w.write_all(&png));
            report = Some(r);
        }
        for name in super::map::VECTOR_MAPS.into_iter().filter(|n| wanted(n)) {
            let (drawing, r) = render_change_vector(&sides, &basemap, &options, &change)?;
            let bytes = if name == "map.svg" {
                drawing.svg().into_bytes()
            } else {
                drawing.pdf()?
            };
            outputs.write(path(name), |w| w.write_all(&bytes));
            report.get_or_insert(r);
        }
    }
    let side = |p: &Path, t: &Tally, dbs: &[ipatlas::locate::DatabaseInfo]| {
        let l = t.located_unit(unit);
        Side {
            tally: p.to_string_lossy().into_owned(),
            databases: dbs.to_vec(),
            found: l.found,
            with_country: l.with_country,
            with_coords: l.with_coords,
        }
    };
    let summary = CompareSummary {
        format: "ipatlas-compare",
        unit: unit.label(),
        compare: match args.measure {
            Measure::Shares => "shares",
            Measure::Counts => "counts",
        },
        across_databases: a_dbs != b_dbs,
        a: side(&args.a, &a, &a_dbs),
        b: side(&args.b, &b, &b_dbs),
        cell_deg: args.cell.deg(),
        map: report.clone(),
        warnings: warnings.clone(),
    };
    if wanted("summary.json") {
        outputs.write(path("summary.json"), |w| {
            serde_json::to_writer_pretty(&mut *w, &summary)?;
            writeln!(w)
        });
    }
    outputs.commit()?;
    if !args.quiet {
        for w in &warnings {
            crate::cli::say!("ipatlas: warning: {w}");
        }
        if let Some(r) = &report {
            for n in &r.notes {
                crate::cli::say!("ipatlas: note: {n}");
            }
        }
        crate::cli::say!("ipatlas: wrote {}", args.output.display());
    }
    Ok(())
}
