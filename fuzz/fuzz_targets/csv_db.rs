#![no_main]
//! The CSV database readers (legacy GeoLiteCity, GeoLite2, ip-location-db) on arbitrary
//! files, and the `.mmdb` writer on whatever they accept: what it writes must always open.

use ipatlas::formats;
use ipatlas::locate::{Atlas, CountryFallback, Database, FieldOverrides};
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    // Two files separated by the first 0xFF byte (or one file).
    let (a, b) = match rest.iter().position(|x| *x == 0xFF) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let dir = std::env::temp_dir().join(format!("ipatlas-fuzz-csv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let files: &[(&str, &[u8])] = match kind % 3 {
        0 => &[
            ("GeoLiteCity-Blocks.csv", a),
            ("GeoLiteCity-Location.csv", b),
        ],
        1 => &[
            ("GeoLite2-City-Blocks-IPv4.csv", a),
            ("GeoLite2-City-Locations-en.csv", b),
        ],
        _ => &[("dbip-city-ipv4.csv", a), ("dbip-city-ipv6.csv", b)],
    };
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let Ok(mut source) = formats::load(&[dir.clone()]) else {
        return;
    };
    let bytes = formats::to_mmdb(&mut source, "fuzz", 0).expect("a loaded source always writes");
    let db = Database::from_memory("fuzz".into(), bytes, &FieldOverrides::default())
        .expect("what build-db writes always opens");
    let atlas = Atlas::new(vec![db], CountryFallback::None).unwrap();
    for &(first, last, _) in source.v4.iter().take(64) {
        for ip in [first, last] {
            let found = atlas.record(IpAddr::V4(ip.into())).expect("lookup");
            assert!(found.is_ok(), "range start/end found");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
});
