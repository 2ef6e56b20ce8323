//! `ipatlas geojson`: a GeoJSON layer (cells, places or countries) from a tally or from inputs.

use super::{DbArgs, InputArgs, with_threads};
use crate::basemap::{Basemap, Detail};
use crate::error::{Error, Result};
use crate::export::features::Layer;
use crate::export::geojson::{Framing, unmapped_countries, write_layer};
use crate::export::write_output;
use crate::pipeline::{self, Family};
use crate::tally::{CellGrid, Tally};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// `geojson` arguments. The inputs are either one tally file (`aggregate --tally`) or
/// address lists to resolve, as for `aggregate`.
#[derive(Args, Debug)]
pub struct GeojsonArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    input: InputArgs,
    /// Tally every network of the database instead of reading inputs (see `aggregate`).
    #[arg(long, conflicts_with_all = ["inputs", "column", "extract"])]
    whole_db: bool,
    /// Which features: grid cells (Polygon), places (Point), countries (MultiPolygon) or H3
    /// hexagons (Polygon).
    #[arg(long, value_enum, default_value_t = LayerArg::Cells)]
    layer: LayerArg,
    /// Grid cell size in degrees, for the cells layer.
    #[arg(
        long,
        value_name = "DEG",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    cell: f64,
    /// Output file; `-` for stdout (the default unless --shapefile is given).
    #[arg(short, long, value_name = "FILE")]
    output: Option<String>,
    /// Also (or, without -o, only) write the layer as a shapefile: DIR/<layer>.shp, .shx,
    /// .dbf and .prj (WGS 84). dBase names are at most 10 characters: accuracy_radius is
    /// acc_radius.
    #[arg(long, value_name = "DIR")]
    shapefile: Option<PathBuf>,
    /// Write a GeoJSON Text Sequence (RFC 8142) for streaming tools (tippecanoe -P).
    #[arg(long)]
    seq: bool,
    /// Country polygons for the countries layer: any polygon shapefile (default: the embedded
    /// Natural Earth 1:10m countries at regional detail).
    #[arg(long, value_name = "FILE.shp")]
    basemap: Option<PathBuf>,
    /// H3 resolution (0 to 15) for the hex layer.
    #[arg(long, value_name = "N", default_value_t = 3)]
    h3_res: u8,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LayerArg {
    Cells,
    Places,
    Countries,
    Hex,
}

/// A tally with what it was resolved against.
pub(super) struct Resolved {
    pub tally: Tally,
    pub databases: Vec<crate::locate::DatabaseInfo>,
    /// Records decoded (0 when read from a tally file).
    pub decoded_records: u64,
}

/// Reads a tally file when the only input is one; otherwise resolves the inputs.
pub(super) fn tally_of(db: &DbArgs, input: &InputArgs, whole_db: bool) -> Result<Resolved> {
    if let [only] = input.inputs.as_slice()
        && looks_like_tally(only)
    {
        let text = std::fs::read(only).map_err(|source| Error::Input {
            path: only.clone(),
            source,
        })?;
        let (tally, databases) = Tally::from_json(only, &text)?;
        return Ok(Resolved {
            tally,
            databases,
            decoded_records: 0,
        });
    }
    let atlas = db.open()?;
    let default_family = if whole_db { Family::Ipv4 } else { Family::Both };
    let options = input.run_options(default_family)?;
    let tally = with_threads(input.threads, || {
        if whole_db {
            pipeline::aggregate_whole_db(&atlas, options.family)
        } else {
            pipeline::aggregate(&atlas, &input.input_list()?, &options, None)
        }
    })?;
    Ok(Resolved {
        tally,
        databases: atlas.infos(),
        decoded_records: atlas.decoded_records(),
    })
}

/// A tally file starts with `{"format":"ipatlas-tally"`.
fn looks_like_tally(path: &str) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    text.trim_start().starts_with('{') && text.contains("ipatlas-tally")
}

pub(super) fn run(args: &GeojsonArgs) -> Result<()> {
    let grid = CellGrid::new(args.cell)?;
    let tally = tally_of(&args.db, &args.input, args.whole_db)?.tally;
    let layer = match args.layer {
        LayerArg::Cells => Layer::Cells,
        LayerArg::Places => Layer::Places,
        LayerArg::Countries => Layer::Countries,
        LayerArg::Hex => Layer::Hex(crate::tally::h3_resolution(args.h3_res)?),
    };
    let basemap = match (layer, &args.basemap) {
        (Layer::Countries, Some(path)) => Some(Basemap::open(path)?),
        (Layer::Countries, None) => Some(Basemap::embedded(Detail::Region)?),
        _ => None,
    };
    let framing = if args.seq {
        Framing::Sequence
    } else {
        Framing::Collection
    };
    let mut written = 0;
    let output = match (&args.output, &args.shapefile) {
        (Some(o), _) => Some(o.as_str()),
        (None, Some(_)) => None,
        (None, None) => Some("-"),
    };
    if let Some(output) = output {
        write_output(output, |w| {
            written = write_layer(&tally, layer, &grid, basemap.as_ref(), framing, w)?;
            Ok(())
        })?;
    }
    if let Some(dir) = &args.shapefile {
        written =
            crate::export::shapefile::write_layer(&tally, layer, &grid, basemap.as_ref(), dir)?;
    }
    if !args.input.quiet {
        if let Some(map) = &basemap {
            let missing = unmapped_countries(&tally, map);
            if !missing.is_empty() {
                let codes: Vec<String> = missing.iter().map(ToString::to_string).collect();
                eprintln!(
                    "ipatlas: note: no polygon in {} for {}",
                    map.source,
                    codes.join(", ")
                );
            }
        }
        if written == 0
            && layer != Layer::Countries
            && tally.located(0).found + tally.located(1).found > 0
        {
            eprintln!(
                "ipatlas: note: no coordinates in the tally (a country-only database?), so the {} layer is empty",
                match layer {
                    Layer::Cells => "cells",
                    _ => "places",
                }
            );
        }
    }
    Ok(())
}
