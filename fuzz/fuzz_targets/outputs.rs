#![no_main]
//! GeoJSON (every layer) and PNG output from arbitrary tallies: places with any country,
//! any coordinates (the tally keeps only valid ones) and any weights, drawn with every map
//! flag `render` has (projection, scale, colormap, style, width, bbox as the user would type
//! it, blur, spread, per capita, coarse places, graticule, H3 resolution), in the ranges the
//! command line accepts. A refused option is an error, never a panic.

use ipatlas::basemap::{Basemap, Detail};
use ipatlas::locate::{CountryCode, Place};
use ipatlas::outputs::features::Layer;
use ipatlas::outputs::geojson::{Framing, write_layer};
use ipatlas::render::{
    Bbox, Colormap, MapOptions, Mode, ProjectionKind, ProjectionSpec, ScaleKind, Style, render,
};
use ipatlas::tally::{CellGrid, Column, Tally, Unit};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The embedded basemap with every ring cut to at most 24 points: the same countries, codes
/// and populations (so every join and choropleth path runs), at a fraction of the drawing
/// cost, so the fuzzer spends its time on the tally-dependent code.
fn basemap() -> &'static Basemap {
    static B: OnceLock<Basemap> = OnceLock::new();
    B.get_or_init(|| {
        let mut b = Basemap::embedded(Detail::World).expect("embedded basemap");
        let thin = |ring: &mut Vec<(f64, f64)>| {
            let step = ring.len().div_ceil(24).max(1);
            let last = *ring.last().unwrap();
            let mut kept: Vec<(f64, f64)> = ring.iter().copied().step_by(step).collect();
            if kept.last() != Some(&last) {
                kept.push(last);
            }
            *ring = kept;
        };
        for country in &mut b.countries {
            for polygon in &mut country.polygons {
                thin(&mut polygon.exterior);
                polygon.holes.iter_mut().for_each(thin);
            }
        }
        b
    })
}

/// Bytes of map flags before the tally's records.
const FLAGS: usize = 16;

fuzz_target!(|data: &[u8]| {
    if data.len() < FLAGS {
        return;
    }
    let (flags, rest) = data.split_at(FLAGS);
    let opts = flags[0];
    let mut tally = Tally::new();
    for rec in rest.chunks_exact(16) {
        let code = std::str::from_utf8(&rec[0..2])
            .ok()
            .and_then(CountryCode::parse);
        let lat = f64::from(i16::from_le_bytes([rec[2], rec[3]])) / 300.0;
        let lon = f64::from(i16::from_le_bytes([rec[4], rec[5]])) / 150.0;
        let has =
            rec[6] & 1 == 1 && (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
        let place = Place {
            country: code,
            lat: has.then_some(lat),
            lon: has.then_some(lon),
            accuracy_radius: (rec[6] & 2 == 2).then_some(u32::from(rec[7]) * 10),
            ..Place::EMPTY
        };
        let weight = u64::from_le_bytes(rec[8..16].try_into().unwrap());
        let slot = tally.slot(place);
        // Weight columns: IPv4 addresses, IPv6 addresses, IPv6 /64 subnets.
        let column = Column::ALL[usize::from(rec[6] >> 6) % Column::ALL.len()];
        tally.add(slot, column, u128::from(weight));
    }
    let grid = CellGrid::new(f64::from(opts % 16 + 1) / 2.0).unwrap();
    let res = h3o::Resolution::try_from(opts % 6).unwrap();
    let unit = if flags[1] & 64 == 64 {
        Unit::Subnets64
    } else {
        Unit::Addresses
    };
    for layer in [
        Layer::Cells,
        Layer::Places,
        Layer::Countries,
        Layer::Hex(res),
    ] {
        let mut out = Vec::new();
        write_layer(
            &tally,
            layer,
            &grid,
            Some(basemap()),
            unit,
            Framing::Collection,
            &mut out,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(v["type"], "FeatureCollection");
    }
    let mode = [Mode::Points, Mode::Cells, Mode::Choropleth, Mode::Hex][usize::from(opts >> 6)];
    let coord = |i: usize| f64::from(i16::from_le_bytes([flags[i], flags[i + 1]])) / 150.0;
    // As typed on the command line: out of range, reversed or degenerate boxes included.
    let bbox = (flags[1] & 1 == 1)
        .then(|| {
            let tiny = f64::from(flags[12]) * 1e-7;
            let (lon0, lat0) = (coord(4), coord(6) / 2.0);
            let (lon1, lat1) = if flags[1] & 2 == 2 {
                (lon0 + tiny, lat0 + coord(10).abs() / 2.0)
            } else {
                (coord(8), coord(10) / 2.0)
            };
            Bbox::parse(&format!("{lon0},{lat0},{lon1},{lat1}")).ok()
        })
        .flatten();
    let colormaps = [
        None,
        Some(Colormap::Inferno),
        Some(Colormap::Magma),
        Some(Colormap::Viridis),
        Some(Colormap::Plasma),
        Some(Colormap::Turbo),
        Some(Colormap::Cividis),
        Some(Colormap::YlOrRd),
        Some(Colormap::Blues),
        Some(Colormap::Cubehelix),
    ];
    let options = MapOptions {
        // Auto or any projection, and sometimes a central meridian of its own.
        projection: ProjectionSpec {
            kind: [
                None,
                Some(ProjectionKind::EqualEarth),
                Some(ProjectionKind::Robinson),
                Some(ProjectionKind::Equirectangular),
                Some(ProjectionKind::Mercator),
                Some(ProjectionKind::LambertAzimuthal),
                Some(ProjectionKind::Albers),
                None,
            ][usize::from(((flags[1] >> 2) & 3) | ((flags[1] >> 5) & 4))],
            lon0: (flags[1] & 128 == 128).then(|| f64::from(flags[12]) * 1.4 - 180.0),
        },
        scale: [
            ScaleKind::EqHist,
            ScaleKind::Log,
            ScaleKind::Cbrt,
            ScaleKind::Linear,
        ][usize::from(flags[1] >> 4) % 4],
        colormap: colormaps[usize::from(flags[2]) % colormaps.len()],
        style: if flags[2] & 128 == 128 {
            Style::Light
        } else {
            Style::Dark
        },
        width: 64 + u32::from(flags[3]),
        bbox,
        mode,
        legend: opts & 32 == 32,
        cell: f64::from(flags[13] % 40 + 1) / 4.0,
        spread: u32::from(flags[14] % 6),
        blur: f32::from(flags[14] >> 4),
        per_capita: flags[15] & 1 == 1,
        drop_coarse_km: (flags[15] & 2 == 2).then_some(u32::from(flags[15] >> 2) * 50),
        graticule: flags[15] & 4 == 4,
        h3_res: flags[13] % 7,
        unit,
        title: (flags[2] & 64 == 64).then(|| "A title, long enough to wrap or be cut".into()),
        // Captions wrap to any width, a word longer than a line included.
        captions: if flags[2] & 16 == 16 {
            vec![
                "Source: a fuzzed tally, with a caption long enough to wrap more than once at small widths.".into(),
                "x".repeat(usize::from(flags[3]) * 3),
            ]
        } else {
            Vec::new()
        },
        legend_label: (flags[2] & 32 == 32).then(|| "a legend label".into()),
        full_mercator: flags[2] & 8 == 8,
        level: if flags[2] & 4 == 4 {
            ipatlas::render::Level::Subdivision
        } else {
            ipatlas::render::Level::Country
        },
        font: None,
        scale_bar: flags[2] & 2 == 2,
        // A print resolution only changes what the report says.
        dpi: (flags[14] & 8 == 8).then_some(72.0 + f64::from(flags[13])),
    };
    match render(&tally, basemap(), &[], &options) {
        Ok((pixmap, _)) => assert!(pixmap.encode_png().is_ok()),
        Err(ipatlas::Error::Usage(_) | ipatlas::Error::Option { .. }) => {}
        Err(e) => panic!("unexpected error: {e}"),
    }
    // Now and then the same map as SVG and PDF (small maps only: the PDF writer is slow
    // for a fuzzer).
    if flags[15] & 16 == 16 && options.width <= 400 {
        match ipatlas::render::render_vector_with(&tally, basemap(), None, &[], &options) {
            Ok((drawing, _)) => {
                assert!(drawing.svg().starts_with("<?xml"));
                assert!(drawing.pdf().is_ok_and(|pdf| pdf.starts_with(b"%PDF-")));
            }
            Err(ipatlas::Error::Usage(_) | ipatlas::Error::Option { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
});
