//! `ipatlas compare`: two tallies with known changes give the expected tables, summary and
//! change map; across databases and years; refusals.

use crate::common::*;
use std::path::PathBuf;

/// A: US 600, FR 300, DE 100 (1,000). B: US 1,000, FR 500, JP 500 (2,000): JP is new, DE
/// gone, US and FR keep their counts' proportion but lose share to JP.
fn known_tallies(env: &TestEnv) {
    tally_of(
        env,
        "a.json",
        &[
            ("US", 40.0, -100.0, 600),
            ("FR", 48.85, 2.35, 300),
            ("DE", 51.0, 9.0, 100),
        ],
    );
    tally_of(
        env,
        "b.json",
        &[
            ("US", 40.0, -100.0, 1000),
            ("FR", 48.85, 2.35, 500),
            ("JP", 35.7, 139.7, 500),
        ],
    );
}

#[test]
fn shares_and_counts_of_two_tallies_compare_as_expected() {
    let env = TestEnv::new();
    known_tallies(&env);
    env.run(&[
        "compare", "a.json", "b.json", "-o", "out", "--cell", "10", "--quiet",
    ])
    .ok();
    assert_eq!(
        env.read("out/countries.csv"),
        "country,count_a,count_b,share_a,share_b,change,ratio,unit\n\
         JP,0,500,0.000000,0.250000,0.25,,addresses\n\
         FR,300,500,0.300000,0.250000,-0.05,0.833333,addresses\n\
         DE,100,0,0.100000,0.000000,-0.1,0,addresses\n\
         US,600,1000,0.600000,0.500000,-0.1,0.833333,addresses\n"
    );
    assert_eq!(
        env.read("out/cells.csv"),
        "lat_min,lon_min,lat_max,lon_max,count_a,count_b,share_a,share_b,change,ratio,unit\n\
         30,130,40,140,0,500,0.000000,0.250000,0.25,,addresses\n\
         40,-100,50,-90,600,1000,0.600000,0.500000,-0.1,0.833333,addresses\n\
         40,0,50,10,300,500,0.300000,0.250000,-0.05,0.833333,addresses\n\
         50,0,60,10,100,0,0.100000,0.000000,-0.1,0,addresses\n"
    );
    let s = json(&env.read("out/summary.json"));
    assert_eq!(s["format"], "ipatlas-compare");
    assert_eq!(
        (s["unit"].as_str(), s["compare"].as_str()),
        (Some("addresses"), Some("shares"))
    );
    assert_eq!(
        (s["a"]["found"].as_u64(), s["b"]["found"].as_u64()),
        (Some(1000), Some(2000))
    );
    assert_eq!(s["across_databases"], false);
    let map = &s["map"];
    assert_eq!(map["layer"], "countries");
    assert_eq!(
        (
            map["features"].as_u64(),
            map["only_a"].as_u64(),
            map["only_b"].as_u64()
        ),
        (Some(4), Some(1), Some(1))
    );
    assert_eq!(map["legend"], "share change (% points)");
    assert!(
        (map["limit"].as_f64().unwrap() - 25.0).abs() < 1e-9,
        "JP: +25 points"
    );
    assert_eq!(
        map["subtitle"],
        "Shares compared · A: 1,000 addresses → B: 2,000 addresses · Equal Earth projection"
    );
    // Counts: the changes are the count differences, the ratios the counts' ratios.
    env.run(&[
        "compare",
        "a.json",
        "b.json",
        "-o",
        "counts",
        "--compare",
        "counts",
        "--only",
        "countries.csv",
        "--quiet",
    ])
    .ok();
    assert_eq!(
        env.read("counts/countries.csv"),
        "country,count_a,count_b,share_a,share_b,change,ratio,unit\n\
         JP,0,500,0.000000,0.250000,500,,addresses\n\
         US,600,1000,0.600000,0.500000,400,1.666667,addresses\n\
         FR,300,500,0.300000,0.250000,200,1.666667,addresses\n\
         DE,100,0,0.100000,0.000000,-100,0,addresses\n"
    );
    let written: Vec<_> = std::fs::read_dir(env.path("counts")).unwrap().collect();
    assert_eq!(written.len(), 1, "--only writes only what it names");
}

#[test]
fn the_change_map_matches_its_reference_and_log_ratios_say_what_sits_at_the_ends() {
    let env = TestEnv::new();
    known_tallies(&env);
    let r = env
        .run(&[
            "compare",
            "a.json",
            "b.json",
            "-o",
            "map",
            "--width",
            "480",
            "--only",
            "map.png,summary.json",
        ])
        .ok();
    assert!(
        r.stderr.contains("1 country only in A, 1 only in B"),
        "{}",
        r.stderr
    );
    assert_matches_reference(&env.path("map/map.png"), "compare-countries-light.png");
    let r = env
        .run(&[
            "compare",
            "a.json",
            "b.json",
            "-o",
            "ratio",
            "--change",
            "log-ratio",
            "--mode",
            "cells",
            "--cell",
            "10",
            "--width",
            "480",
            "--style",
            "dark",
            "--only",
            "map.png,summary.json",
        ])
        .ok();
    assert!(
        r.stderr.contains("(drawn at the ends of the scale)"),
        "{}",
        r.stderr
    );
    let s = json(&env.read("ratio/summary.json"));
    assert_eq!(s["map"]["layer"], "cells");
    assert_eq!(s["map"]["legend"], "share ratio B / A");
    // log2(0.25 / 0.3 ...) is the one finite ratio besides US's: both 5/6.
    assert!((s["map"]["limit"].as_f64().unwrap() - (5.0f64 / 6.0).log2().abs()).abs() < 1e-9);
    assert_matches_reference(
        &env.path("ratio/map.png"),
        "compare-cells-log-ratio-dark.png",
    );
}

#[test]
fn a_legacy_geolitecity_tally_compares_with_a_geolite2_one() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let legacy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/csv/legacy");
    // 2012 legacy CSV: AU, AU, CH, CA, DE. The GeoIP2-shaped fixture: US, DE, FR.
    env.write(
        "old.txt",
        "1.0.0.1\n1.0.0.2\n1.0.1.5\n1.0.1.130\n1.0.1.201\n",
    );
    env.write("new.txt", "1.0.0.1\n2.0.0.1\n5.5.5.5\n");
    env.run(&[
        "aggregate",
        "--db",
        legacy.to_str().unwrap(),
        "old.txt",
        "--tally",
        "old.json",
        "--quiet",
    ])
    .ok();
    env.run(&[
        "aggregate",
        "--db",
        fx.nested.to_str().unwrap(),
        "new.txt",
        "--tally",
        "new.json",
        "--quiet",
    ])
    .ok();
    env.run(&[
        "compare", "old.json", "new.json", "-o", "out", "--width", "400", "--quiet",
    ])
    .ok();
    let rows = csv_rows(&env.read("out/countries.csv"));
    let row = |code: &str| {
        rows.iter()
            .find(|r| r[0] == code)
            .unwrap_or_else(|| panic!("{code}"))
            .clone()
    };
    assert_eq!(
        row("DE")[1..6],
        ["1", "1", "0.200000", "0.333333", "0.133333"]
    );
    assert_eq!(
        row("AU")[1..7],
        ["2", "0", "0.400000", "0.000000", "-0.4", "0"]
    );
    assert_eq!(row("US")[6], "", "no ratio where A has none");
    let s = json(&env.read("out/summary.json"));
    assert_eq!(s["across_databases"], true);
    let subtitle = s["map"]["subtitle"].as_str().unwrap();
    assert!(
        subtitle.contains("GeoLiteCity") && subtitle.contains("GeoIP2-City"),
        "{subtitle}"
    );
}

#[test]
fn compare_refuses_what_it_cannot_compare_and_never_writes_over_its_inputs() {
    let env = TestEnv::new();
    known_tallies(&env);
    // An output that is an input.
    std::fs::create_dir_all(env.path("out")).unwrap();
    std::fs::copy(env.path("a.json"), env.path("out/summary.json")).unwrap();
    let before = env.read("out/summary.json");
    let r = env.run(&["compare", "out/summary.json", "b.json", "-o", "out"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert_eq!(env.read("out/summary.json"), before);
    // No unit in common: one tally of addresses, one of /64 subnets.
    env.write(
        "v6.json",
        r#"{"format":"ipatlas-tally","version":2,"generator":"test","databases":[],"counters":{"lines":0,"skipped":0,"parsed":0,"invalid_reasons":{},"ipv4_records":0,"ipv6_records":0,"ipv4_prefixes":0,"ipv6_prefixes":0,"ipv4_not_found":{},"ipv6_not_found":{}},"places":[{"country":"FR","lat":1,"lon":1,"accuracy_radius":10,"ipv4":0,"ipv6":0,"subnets_64":5}]}"#,
    );
    let r = env.run(&["compare", "a.json", "v6.json", "-o", "x"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no unit in common"), "{}", r.stderr);
    let r = env.run(&[
        "compare", "a.json", "b.json", "-o", "x", "--only", "map.gif",
    ]);
    assert_eq!(r.code, 2);
    assert!(!env.path("x").exists());
}
