#![no_main]
//! GeoJSON (every layer) and PNG output from arbitrary tallies: places with any country,
//! any coordinates (the tally keeps only valid ones) and any weights.

use ipatlas::basemap::{Basemap, Detail};
use ipatlas::export::features::Layer;
use ipatlas::export::geojson::{Framing, write_layer};
use ipatlas::locate::{CountryCode, Place};
use ipatlas::render::{MapOptions, Mode, render};
use ipatlas::tally::{CellGrid, Tally};
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

fuzz_target!(|data: &[u8]| {
    let Some((&opts, rest)) = data.split_first() else {
        return;
    };
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
        tally.add(slot, usize::from(rec[6] >> 7), u128::from(weight));
    }
    let grid = CellGrid::new(f64::from(opts % 16 + 1) / 2.0).unwrap();
    let res = h3o::Resolution::try_from(opts % 6).unwrap();
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
            Framing::Collection,
            &mut out,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(v["type"], "FeatureCollection");
    }
    let mode = [Mode::Points, Mode::Cells, Mode::Choropleth, Mode::Hex][usize::from(opts >> 6)];
    let options = MapOptions {
        width: 96,
        mode,
        legend: opts & 32 == 32,
        ..MapOptions::default()
    };
    let (pixmap, _) = render(&tally, basemap(), &[], &options).expect("render");
    assert!(pixmap.encode_png().is_ok());
});
