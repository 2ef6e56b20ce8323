//! `ipatlas geojson`: a GeoJSON layer (cells, places or countries) from a tally or from inputs.

use super::SourceArgs;
use clap::{Args, ValueEnum};
use ipatlas::basemap::{Basemap, Detail};
use ipatlas::error::Result;
use ipatlas::outputs::features::Layer;
use ipatlas::outputs::geojson::{Framing, write_layer};
use ipatlas::tally::CellGrid;
use std::io::IsTerminal;
use std::path::PathBuf;

/// `geojson` arguments. The inputs are either one tally file (`aggregate --tally`) or
/// address lists to resolve, as for `aggregate`.
#[derive(Args, Debug)]
pub struct GeojsonArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Which features: grid cells (Polygon), places (Point), countries (MultiPolygon),
    /// subdivisions (MultiPolygon: the embedded US states, or --basemap with an admin-1
    /// shapefile) or H3 hexagons (Polygon).
    #[arg(long, value_enum, default_value_t = LayerArg::Cells)]
    layer: LayerArg,
    /// Grid cell size in degrees (0.01 to 180), for the cells layer.
    #[arg(long, value_name = "DEG", default_value = "1", value_parser = super::cell_grid, allow_hyphen_values = true)]
    cell: CellGrid,
    /// Output file; `-` for stdout (the default unless --shapefile is given).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also (or, without -o, only) write the layer as a shapefile: DIR/<layer>.shp, .shx,
    /// .dbf and .prj (WGS 84). dBase names are at most 10 characters: accuracy_radius is
    /// acc_radius.
    #[arg(long, value_name = "DIR")]
    shapefile: Option<PathBuf>,
    /// Write a GeoJSON Text Sequence (RFC 8142) for streaming tools (tippecanoe -P).
    #[arg(long)]
    seq: bool,
    /// Country polygons for the countries layer: any polygon shapefile (default: the embedded
    /// Natural Earth 1:10m countries at regional detail); for the subdivisions layer, an
    /// admin-1 shapefile with ISO 3166-2 codes (ISO_3166_2; default: the embedded US states).
    #[arg(long, value_name = "FILE.shp")]
    basemap: Option<PathBuf>,
    /// H3 resolution (0 to 15) for the hex layer (default 3).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    h3_res: Option<u8>,
    /// What the layer counts: addresses (IPv4, and single IPv6 addresses) or the /64
    /// subnets of IPv6 prefixes; the two are never added. Default: addresses when any were
    /// located.
    #[arg(long, value_enum)]
    unit: Option<ipatlas::tally::Unit>,
}

/// The layer's name, as the shapefile's file names use it.
fn layer_name(layer: LayerArg) -> &'static str {
    match layer {
        LayerArg::Cells => Layer::Cells.name(),
        LayerArg::Places => Layer::Places.name(),
        LayerArg::Countries => Layer::Countries.name(),
        LayerArg::Subdivisions => Layer::Subdivisions.name(),
        LayerArg::Hex => Layer::Hex(h3o::Resolution::Zero).name(),
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LayerArg {
    Cells,
    Places,
    Countries,
    Subdivisions,
    Hex,
}

pub(super) fn run(args: &GeojsonArgs) -> Result<()> {
    let mut paths = super::guard::Paths::default();
    args.source.declare(&mut paths);
    if let Some(basemap) = &args.basemap {
        super::map::declare_basemap(&mut paths, basemap);
    }
    let output = match (&args.output, &args.shapefile) {
        (Some(o), _) => Some(o.as_path()),
        (None, Some(_)) => None,
        (None, None) => Some(std::path::Path::new("-")),
    };
    if let Some(o) = output {
        paths.output("-o", o);
    }
    if let Some(dir) = &args.shapefile {
        for ext in ipatlas::outputs::shapefile::EXTENSIONS {
            paths.output(
                "--shapefile",
                dir.join(format!("{}.{ext}", layer_name(args.layer))),
            );
        }
    }
    let mut outputs = paths.check()?;
    let started = std::time::Instant::now();
    let grid = args.cell;
    let resolved = args.source.resolve()?;
    let tally = resolved.tally;
    let choice = super::choose_unit(&tally, args.unit, "layer");
    let unit = choice.unit;
    let layer = match args.layer {
        LayerArg::Cells => Layer::Cells,
        LayerArg::Places => Layer::Places,
        LayerArg::Countries => Layer::Countries,
        LayerArg::Subdivisions => Layer::Subdivisions,
        LayerArg::Hex => Layer::Hex(ipatlas::tally::h3_resolution(args.h3_res.unwrap_or(3))?),
    };
    let basemap = match (layer, &args.basemap) {
        (Layer::Countries, Some(path)) => Some(Basemap::open(path)?),
        (Layer::Countries, None) => Some(Basemap::embedded(Detail::Region)?),
        (Layer::Subdivisions, path) => Some(Basemap::subdivisions(path.as_deref())?),
        _ => None,
    };
    let framing = if args.seq {
        Framing::Sequence
    } else {
        Framing::Collection
    };
    let mut written = 0;
    if let Some(output) = output {
        outputs.write(output, |w| {
            written = write_layer(&tally, layer, &grid, basemap.as_ref(), unit, framing, w)?;
            Ok(())
        });
    }
    if let Some(dir) = &args.shapefile {
        written = ipatlas::outputs::shapefile::write_layer(
            &tally,
            layer,
            &grid,
            basemap.as_ref(),
            unit,
            dir,
            &mut outputs,
        )?;
    }
    outputs.commit()?;
    if args.shapefile.is_some() && ipatlas::outputs::shapefile::may_round_counts(&tally, unit) {
        crate::cli::say!(
            "ipatlas: warning: counts above 2^53 are rounded in the shapefile's .dbf (dBase numbers are doubles); the GeoJSON and CSV outputs carry them exactly"
        );
    }
    if !args.source.input.quiet {
        let mut warnings = args.source.db.field_warnings(&tally);
        warnings.extend(choice.warning);
        if args.h3_res.is_some() && args.layer != LayerArg::Hex {
            warnings.push(
                "--h3-res applies to the hex layer; this is another layer, so it does nothing"
                    .to_owned(),
            );
        }
        if args.cell.deg() != 1.0 && args.layer != LayerArg::Cells {
            warnings.push(
                "--cell applies to the cells layer; this is another layer, so it does nothing"
                    .to_owned(),
            );
        }
        for w in warnings {
            crate::cli::say!("ipatlas: warning: {w}");
        }
        if let Some(note) = &choice.note {
            crate::cli::say!("ipatlas: note: {note}");
        }
        if let Some(map) = &basemap {
            let missing = map.unmapped(&tally, unit);
            if !missing.is_empty() {
                let codes: Vec<String> = missing.iter().map(ToString::to_string).collect();
                crate::cli::say!(
                    "ipatlas: note: no polygon in {} for {}",
                    map.source,
                    codes.join(", ")
                );
            }
        }
        let located = tally.located_unit(unit);
        if written == 0
            && layer != Layer::Countries
            && located.found > 0
            && located.with_coords == 0
        {
            crate::cli::say!(
                "ipatlas: note: no coordinates in the tally (a country-only database?), so the {} layer is empty",
                match layer {
                    Layer::Cells => "cells",
                    Layer::Hex(_) => "hex",
                    _ => "places",
                }
            );
        }
        if std::io::stderr().is_terminal() {
            let summary = ipatlas::outputs::Summary::new(
                &tally,
                ipatlas::outputs::RunFacts {
                    databases: resolved.databases,
                    decoded_records: resolved.decoded_records,
                    ipv4_table: resolved.ipv4_table,
                    ipv6_table: resolved.ipv6_table,
                    csv_database: resolved.csv_database,
                    elapsed_s: started.elapsed().as_secs_f64(),
                    threads: resolved.threads,
                    grid: None,
                },
            );
            crate::cli::say!("{}", super::closing_line(&summary));
        }
    }
    Ok(())
}
