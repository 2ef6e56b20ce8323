//! Regression tests for what a researcher reads: units, attribution and vintage, and flags
//! that must not silently do nothing. Each test is named for what it pins.

use crate::common::{TestEnv, fixture_env, json};

#[test]
fn drop_coarse_takes_no_value_so_it_never_swallows_the_tally() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n5.5.5.5\n");
    env.run(&["aggregate", "--db", db, "in.txt", "--tally", "t.json"])
        .ok();
    // The tally right after the flag is the tally, not a number of kilometres.
    env.run(&[
        "render",
        "--drop-coarse",
        "t.json",
        "-o",
        "x.png",
        "--width",
        "200",
    ])
    .ok();
    assert!(env.path("x.png").exists());
    // The threshold has its own flag, and needs --drop-coarse.
    env.run(&[
        "map",
        "--db",
        db,
        "in.txt",
        "-o",
        "m",
        "--only",
        "summary.json,map.png",
        "--width",
        "200",
        "--drop-coarse",
        "--coarse-km",
        "50",
    ])
    .ok();
    let s = json(&env.read("m/summary.json"));
    assert_eq!(s["map"]["coarse_km"], 50);
    // 1.0.0.1 sits at a 1000 km radius, 5.5.5.5 at 20 km.
    assert_eq!(s["map"]["drawn"], 1, "{s}");
    let r = env.run(&["render", "t.json", "-o", "y.png", "--coarse-km", "50"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn every_command_reports_the_threads_it_used() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n");
    for threads in ["1", "2"] {
        env.run(&[
            "map",
            "--db",
            db,
            "in.txt",
            "-o",
            "m",
            "--threads",
            threads,
            "--only",
            "summary.json",
        ])
        .ok();
        assert_eq!(
            json(&env.read("m/summary.json"))["threads"].to_string(),
            threads
        );
        let r = env
            .run(&[
                "aggregate",
                "--db",
                db,
                "in.txt",
                "--threads",
                threads,
                "--summary",
                "-",
            ])
            .ok();
        assert_eq!(json(&r.stdout)["threads"].to_string(), threads);
    }
}

#[test]
fn a_merge_of_mixed_databases_names_and_credits_every_one() {
    let env = TestEnv::new();
    let mut w = mmdb_writer::Writer::builder("GeoLite2-City").build();
    w.insert_value(
        "1.0.0.0/24".parse::<ipnet::IpNet>().unwrap(),
        mmdb_writer::Value::map([(
            "location",
            mmdb_writer::Value::map([
                ("latitude", mmdb_writer::Value::from(10.0)),
                ("longitude", mmdb_writer::Value::from(20.0)),
            ]),
        )]),
    )
    .unwrap();
    let city = env.write("city.mmdb", w.to_bytes().unwrap());
    env.write("in.txt", "1.0.0.1\n");
    env.run(&[
        "aggregate",
        "--db",
        city.to_str().unwrap(),
        "in.txt",
        "--tally",
        "a.json",
    ])
    .ok();
    env.run(&[
        "aggregate",
        "--db",
        "embedded",
        "in.txt",
        "--tally",
        "b.json",
    ])
    .ok();
    assert_eq!(
        env.run(&["merge", "a.json", "b.json", "-o", "m.json"]).code,
        2
    );
    env.run(&[
        "merge",
        "a.json",
        "b.json",
        "a.json",
        "-o",
        "m.json",
        "--allow-mixed-databases",
    ])
    .ok();
    let m = json(&env.read("m.json"));
    let dbs = m["databases"].as_array().unwrap();
    assert_eq!(dbs.len(), 2, "{m}");
    let credits: Vec<&str> = dbs
        .iter()
        .filter_map(|d| d["attribution"].as_str())
        .collect();
    assert!(
        credits.iter().any(|c| c.contains("GeoLite2")),
        "{credits:?}"
    );
    assert!(credits.iter().any(|c| c.contains("DB-IP")), "{credits:?}");
    env.run(&["map", "m.json", "-o", "out", "--only", "summary.json"])
        .ok();
    assert_eq!(
        json(&env.read("out/summary.json"))["databases"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn render_writes_the_format_its_file_name_asks_for() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n5.5.5.5\n");
    env.run(&["aggregate", "--db", db, "in.txt", "--tally", "t.json"])
        .ok();
    let mut sizes = Vec::new();
    for (name, magic, format) in [
        ("x.png", &b"\x89PNG"[..], image::ImageFormat::Png),
        ("x.jpg", &b"\xFF\xD8\xFF"[..], image::ImageFormat::Jpeg),
        ("x.JPEG", &b"\xFF\xD8\xFF"[..], image::ImageFormat::Jpeg),
        ("x.webp", &b"RIFF"[..], image::ImageFormat::WebP),
        ("x.tif", &b"II*\0"[..], image::ImageFormat::Tiff),
    ] {
        env.run(&["render", "t.json", "-o", name, "--width", "240"])
            .ok();
        let bytes = std::fs::read(env.path(name)).unwrap();
        assert!(bytes.starts_with(magic), "{name}: {:?}", &bytes[..8]);
        let img = image::load_from_memory_with_format(&bytes, format).unwrap();
        sizes.push((img.width(), img.height()));
    }
    assert!(sizes.windows(2).all(|w| w[0] == w[1]), "{sizes:?}");
    // The vector formats, by extension too (tests/e2e/vector.rs opens them).
    for (name, magic) in [("x.svg", &b"<?xml"[..]), ("x.PDF", &b"%PDF-"[..])] {
        env.run(&["render", "t.json", "-o", name, "--width", "240"])
            .ok();
        let bytes = std::fs::read(env.path(name)).unwrap();
        assert!(bytes.starts_with(magic), "{name}: {:?}", &bytes[..8]);
    }
    for bad in ["x.gif", "x", "x.eps"] {
        let r = env.run(&["render", "t.json", "-o", bad]);
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains(".png, .jpg, .webp"), "{}", r.stderr);
        assert!(!env.path(bad).exists());
    }
}

#[test]
fn a_flag_that_cannot_act_says_so() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n5.5.5.5\n");
    let map = |extra: &[&str]| {
        let mut args = vec![
            "map",
            "--db",
            db,
            "in.txt",
            "-o",
            "m",
            "--only",
            "summary.json,map.png",
            "--width",
            "200",
        ];
        args.extend_from_slice(extra);
        let r = env.run(&args).ok();
        (
            r.stderr,
            json(&env.read("m/summary.json"))["warnings"].clone(),
        )
    };
    for (extra, flag) in [
        (&["--per-capita", "--mode", "points"][..], "--per-capita"),
        (&["--blur", "2", "--mode", "cells"][..], "--blur"),
        (&["--spread", "3", "--mode", "choropleth"][..], "--spread"),
        (&["--h3-res", "5"][..], "--h3-res"),
        (
            &["--country-field", "nosuch.iso_code"][..],
            "--country-field",
        ),
    ] {
        let (stderr, warnings) = map(extra);
        assert!(
            stderr.contains(&format!("ipatlas: warning: {flag}")),
            "{extra:?}: {stderr}"
        );
        assert!(warnings.to_string().contains(flag), "{extra:?}: {warnings}");
    }
    // --per-capita alone implies a choropleth, so it acts.
    let (stderr, warnings) = map(&["--per-capita"]);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(warnings.is_null(), "{warnings}");
    // --drop-coarse on a database without accuracy radii, or leaving out everything.
    let flat = fx.flat_v4.to_str().unwrap();
    let r = env
        .run(&[
            "map",
            "--db",
            flat,
            "in.txt",
            "-o",
            "f",
            "--width",
            "200",
            "--drop-coarse",
            "--only",
            "map.png",
        ])
        .ok();
    assert!(
        r.stderr.contains("no place has an accuracy radius"),
        "{}",
        r.stderr
    );
    env.write("coarse.txt", "1.0.0.1\n");
    let r = env
        .run(&[
            "map",
            "--db",
            db,
            "coarse.txt",
            "-o",
            "c",
            "--width",
            "200",
            "--drop-coarse",
            "--only",
            "map.png",
        ])
        .ok();
    assert!(r.stderr.contains("left out every place"), "{}", r.stderr);
    // geojson: --h3-res or --cell on another layer.
    let r = env
        .run(&[
            "geojson", "--db", db, "in.txt", "--layer", "places", "--h3-res", "4", "--cell", "2",
        ])
        .ok();
    assert!(r.stderr.contains("--h3-res applies"), "{}", r.stderr);
    assert!(r.stderr.contains("--cell applies"), "{}", r.stderr);
    // aggregate: a field path no record has.
    let r = env
        .run(&[
            "aggregate",
            "--db",
            db,
            "in.txt",
            "--lat-field",
            "a.b",
            "--summary",
            "-",
        ])
        .ok();
    assert!(r.stderr.contains("--lat-field"), "{}", r.stderr);
    assert!(
        json(&r.stdout)["warnings"]
            .to_string()
            .contains("--lat-field")
    );
}

#[test]
fn messages_say_where_a_database_came_from_and_help_gives_limits() {
    let env = TestEnv::new();
    env.write("in.txt", "1.0.0.1\n");
    let r = env
        .command()
        .env("IPATLAS_DB", env.path("gone.mmdb"))
        .args(["aggregate", "in.txt"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("found through $IPATLAS_DB"), "{stderr}");
    let help = env.run(&["map", "--help"]).ok().stdout;
    for limit in ["64 to 16384", "0.01 to 180", "0 (none) to 100", "(0 to 50)"] {
        assert!(help.contains(limit), "{limit} not in map --help");
    }
}

#[test]
fn lookup_arguments_are_files_or_addresses_decided_up_front_and_rows_stay_aligned() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("ips.txt", "1.0.0.1\n");
    // A missing file is an error, not an invalid row.
    let r = env.run(&["lookup", "--db", db, "five.txt", "1.0.0.1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("five.txt: no such file"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    // Files and addresses together are refused before any row is written.
    let r = env.run(&["lookup", "--db", db, "ips.txt", "1.0.0.1"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    // --family keeps one row per record, marked excluded.
    let r = env
        .run(&[
            "lookup",
            "--db",
            db,
            "--family",
            "ipv4",
            "1.0.0.1",
            "2a00::1",
            "2a00::/16",
            "bogus",
        ])
        .ok();
    assert_eq!(
        crate::common::csv_column(&r.stdout, 6),
        ["found", "excluded", "excluded", "invalid"],
        "{}",
        r.stdout
    );
}

#[test]
fn a_table_read_without_column_ends_with_a_hint() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    // The ipsum feed's layout: IP<TAB>count.
    env.write(
        "ipsum.txt",
        "# comment\n1.0.0.1\t5\n2.0.0.1\t3\n5.5.5.5\t1\n",
    );
    let r = env
        .run(&["aggregate", "--db", db, "ipsum.txt", "--summary", "-"])
        .ok();
    assert_eq!(json(&r.stdout)["invalid_reasons"]["not_an_address"], 3);
    assert!(
        r.stderr.contains("add --column 1 --delimiter tab"),
        "{}",
        r.stderr
    );
    // ... and the hint reads it.
    let r = env
        .run(&[
            "aggregate",
            "--db",
            db,
            "ipsum.txt",
            "--column",
            "1",
            "--delimiter",
            "tab",
            "--summary",
            "-",
        ])
        .ok();
    assert_eq!(json(&r.stdout)["found"], 3);
    assert!(!r.stderr.contains("hint"), "{}", r.stderr);
    // Comma-separated, through map as well; plain junk gets no hint.
    env.write("flows.csv", "src,bytes\n1.0.0.1,10\n2.0.0.1,20\n");
    let r = env
        .run(&[
            "map",
            "--db",
            db,
            "flows.csv",
            "-o",
            "m",
            "--only",
            "summary.json",
        ])
        .ok();
    assert!(r.stderr.contains("add --column 1"), "{}", r.stderr);
    env.write("junk.txt", "hello\nworld\n1.0.0.1\n");
    let r = env.run(&["aggregate", "--db", db, "junk.txt"]).ok();
    assert!(!r.stderr.contains("hint"), "{}", r.stderr);
}

#[test]
fn addresses_and_slash64_subnets_are_never_added_into_one_number() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    // Five IPv4 addresses (US), one IPv6 address and two IPv6 prefixes (GB, TW).
    env.write(
        "in.txt",
        "1.0.0.1\n1.0.0.2\n1.0.0.3\n1.0.0.4\n1.0.0.5\n2a00::1\n2a00::/32\n2a01::/48\n",
    );
    env.run(&[
        "aggregate",
        "--db",
        db,
        "in.txt",
        "--countries",
        "c.csv",
        "--cells",
        "g.csv",
        "--summary",
        "s.json",
        "--tally",
        "t.json",
    ])
    .ok();
    let subnets = (1u64 << 32) + 65_536;
    // One row per country and unit: GB's address and its 2^32 /64s are two rows.
    assert_eq!(
        env.read("c.csv"),
        format!(
            "country,count,share,unit\n\
             US,5,0.833333,addresses\nGB,1,0.166667,addresses\n\
             GB,4294967296,{:.6},/64 subnets\nTW,65536,{:.6},/64 subnets\n",
            (1u64 << 32) as f64 / subnets as f64,
            65_536.0 / subnets as f64
        )
    );
    let cells = env.read("g.csv");
    assert!(cells.contains("\n51,-1,52,0,1,addresses\n"), "{cells}");
    assert!(
        cells.contains("\n51,-1,52,0,4294967296,/64 subnets\n"),
        "{cells}"
    );
    let s = json(&env.read("s.json"));
    assert_eq!(s["unit"], "addresses");
    assert_eq!(s["found"], 6, "{s}");
    assert_eq!(s["subnets_64"]["found"], subnets, "{s}");
    assert_eq!(s["subnets_64"]["unit"], "/64 subnets");
    assert_eq!(s["by_family"]["ipv6"]["found"], 1, "{s}");
    assert_eq!(s["by_family"]["ipv6"]["records"], 3);
    assert_eq!(s["by_family"]["ipv6"]["prefixes"], 2);
    assert_eq!(s["countries"], 3);
    // The tally keeps three columns, and a merge keeps them apart.
    let t = json(&env.read("t.json"));
    assert_eq!(t["version"], 2);
    let gb = t["places"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["country"] == "GB")
        .unwrap();
    assert_eq!(
        (gb["ipv4"].as_u64(), gb["ipv6"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(gb["subnets_64"], 1u64 << 32);
    env.run(&["merge", "t.json", "t.json", "-o", "m.json"]).ok();
    env.run(&["aggregate", "m.json", "--countries", "mc.csv"]);
    let m = json(&env.read("m.json"));
    let gb = m["places"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["country"] == "GB")
        .unwrap();
    assert_eq!(gb["ipv6"], 2);
    assert_eq!(gb["subnets_64"], 1u64 << 33);

    // A map shows one unit: addresses by default, and its footer and summary say how many
    // /64 subnets it leaves out; --unit subnets draws those instead.
    let r = env
        .run(&[
            "map",
            "t.json",
            "-o",
            "m",
            "--only",
            "summary.json,map.png,cells.geojson",
            "--width",
            "300",
        ])
        .ok();
    assert!(r.stderr.contains("--unit subnets"), "{}", r.stderr);
    let s = json(&env.read("m/summary.json"));
    assert_eq!(s["map"]["unit"], "addresses");
    assert_eq!(s["map"]["drawn"], 6, "{s}");
    assert_eq!(s["map"]["other_unit"]["unit"], "/64 subnets");
    assert_eq!(s["map"]["other_unit"]["found"], subnets);
    let layer = json(&env.read("m/cells.geojson"));
    let counts: Vec<u64> = layer["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["properties"]["unit"], "addresses");
            f["properties"]["count"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), 6);
    env.run(&[
        "map",
        "t.json",
        "-o",
        "m6",
        "--only",
        "summary.json,map.png",
        "--width",
        "300",
        "--unit",
        "subnets",
    ])
    .ok();
    let s = json(&env.read("m6/summary.json"));
    assert_eq!(s["map"]["unit"], "/64 subnets");
    assert_eq!(s["map"]["drawn"], subnets, "{s}");
    assert_eq!(s["map"]["other_unit"]["found"], 6);
    let g = env
        .run(&[
            "geojson",
            "t.json",
            "--layer",
            "countries",
            "--unit",
            "subnets",
        ])
        .ok();
    let layer = json(&g.stdout);
    let gb = layer["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["iso_a2"] == "GB")
        .unwrap();
    assert_eq!(gb["properties"]["count"], 1u64 << 32);
    assert_eq!(gb["properties"]["unit"], "/64 subnets");
    // Asking for a unit the tally has none of says so.
    env.write("v4.txt", "1.0.0.1\n");
    let r = env
        .run(&["geojson", "--db", db, "v4.txt", "--unit", "subnets"])
        .ok();
    assert!(
        r.stderr.contains("no /64 subnets were located"),
        "{}",
        r.stderr
    );
}

#[test]
fn share_means_the_same_in_every_layer_and_table() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    // 10 found: 3.0.0.1 has coordinates but no country, 6.0.0.1 a country but none,
    // 4.0.0.1 neither.
    env.write(
        "in.txt",
        "1.0.0.1\n1.0.0.2\n2.0.0.1\n3.0.0.1\n4.0.0.1\n5.5.5.1\n5.5.5.2\n6.0.0.1\n7.0.0.1\n8.0.0.1\n",
    );
    env.run(&[
        "aggregate",
        "--db",
        db,
        "in.txt",
        "--tally",
        "t.json",
        "--countries",
        "c.csv",
        "--summary",
        "s.json",
    ])
    .ok();
    let found = json(&env.read("s.json"))["found"].as_u64().unwrap();
    assert_eq!(found, 10);
    let check = |count: u64, share: f64, what: &str| {
        let expected = (count as f64 / found as f64 * 1e6).round() / 1e6;
        assert!(
            (share - expected).abs() < 1e-9,
            "{what}: {count} -> {share}"
        );
    };
    for row in crate::common::csv_rows(&env.read("c.csv")).iter().skip(1) {
        check(
            row[1].parse().unwrap(),
            row[2].parse().unwrap(),
            "countries.csv",
        );
    }
    for layer in ["cells", "places", "countries", "hex"] {
        let g = env.run(&["geojson", "t.json", "--layer", layer]).ok();
        let fc = json(&g.stdout);
        let features = fc["features"].as_array().unwrap();
        assert!(!features.is_empty(), "{layer}");
        for f in features {
            let p = &f["properties"];
            check(
                p["count"].as_u64().unwrap(),
                p["share"].as_f64().unwrap(),
                layer,
            );
        }
    }
}

#[test]
fn a_map_counts_what_it_draws_and_says_what_it_leaves_out() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    // US (Kansas, 1000 km), JP coordinates (500 km), DE (100 km), two FR (20 km), NO (no
    // coordinates).
    env.write(
        "in.txt",
        "1.0.0.1\n3.0.0.1\n2.0.0.1\n5.5.5.1\n5.5.5.2\n6.0.0.1\n",
    );
    env.run(&["aggregate", "--db", db, "in.txt", "--tally", "t.json"])
        .ok();
    let map = |extra: &[&str]| {
        let mut args = vec![
            "map",
            "t.json",
            "-o",
            "m",
            "--only",
            "summary.json,map.png",
            "--width",
            "400",
        ];
        args.extend_from_slice(extra);
        env.run(&args).ok();
        json(&env.read("m/summary.json"))["map"].clone()
    };
    // The world: 5 drawn, one of them coarse; NO has no coordinates.
    let m = map(&[]);
    assert_eq!(m["drawn"], 5, "{m}");
    assert_eq!(m["coarse"], 1, "{m}");
    assert_eq!(m["no_coordinates"], 1, "{m}");
    let subtitle = m["subtitle"].as_str().unwrap();
    assert!(
        subtitle.starts_with("5 addresses drawn · GeoIP2-City (2020-01-02)"),
        "{subtitle}"
    );
    let notes = m["notes"].to_string();
    assert!(
        notes.contains("Includes 1 address (20.0%) at coarse locations"),
        "{notes}"
    );
    assert!(
        notes.contains("Not drawn: 1 address without coordinates"),
        "{notes}"
    );
    // Europe without coarse places: DE and FR drawn; US and JP outside the box (US is not
    // counted as coarse: it is not on this map at all).
    let m = map(&[
        "--bbox",
        "-12,34,35,62",
        "--drop-coarse",
        "--coarse-km",
        "50",
    ]);
    assert_eq!(m["drawn"], 2, "{m}");
    assert_eq!(m["outside"], 2, "{m}");
    assert_eq!(m["coarse"], 1, "{m}");
    assert!(
        m["subtitle"]
            .as_str()
            .unwrap()
            .starts_with("2 addresses drawn"),
        "{m}"
    );
    let notes = m["notes"].to_string();
    assert!(
        notes.contains(
            "Not drawn: 1 address at coarse locations (accuracy ≥ 50 km, --drop-coarse) · 2 outside the map's area · 1 without coordinates"
        ),
        "{notes}"
    );
    // A choropleth counts the countries it fills; the rest is named.
    let m = map(&["--mode", "choropleth"]);
    assert_eq!(m["drawn"], 5, "{m}");
    assert_eq!(m["no_country"], 1, "{m}");
    assert!(
        m["notes"]
            .to_string()
            .contains("1 address without a country"),
        "{m}"
    );
}

/// The legacy GeoLiteCity fixture's files (copyright notice "2012"), copied so their
/// modification time is today's.
fn legacy_files() -> Vec<(&'static str, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/csv/legacy");
    ["GeoLiteCity-Blocks.csv", "GeoLiteCity-Location.csv"]
        .into_iter()
        .map(|n| (n, std::fs::read(dir.join(n)).unwrap()))
        .collect()
}

fn legacy_zip(env: &TestEnv, zip_name: &str, dir: &str, entry_day: (u16, u8, u8)) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(env.path(zip_name)).unwrap());
    let when =
        zip::DateTime::from_date_and_time(entry_day.0, entry_day.1, entry_day.2, 12, 0, 0).unwrap();
    let opts = zip::write::SimpleFileOptions::default().last_modified_time(when);
    for (name, bytes) in legacy_files() {
        zip.start_file(format!("{dir}{name}"), opts).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn legacy_data_is_credited_and_dated_from_the_data_never_the_clock() {
    let env = TestEnv::new();
    std::fs::create_dir(env.path("legacy")).unwrap();
    for (name, bytes) in legacy_files() {
        env.write(&format!("legacy/{name}"), bytes);
    }
    let info = |db: &str| json(&env.run(&["info", "--db", db, "--json"]).ok().stdout);
    // Files copied today: the copyright notice's year dates them, not their mtime.
    let i = info("legacy");
    assert_eq!(i["build_date"], "2012", "{i}");
    assert_eq!(i["date_from"], "copyright line");
    assert_eq!(
        i["attribution"],
        "This product includes GeoLite data created by MaxMind, available from http://www.maxmind.com"
    );
    env.write("in.txt", "1.0.0.1\n");
    let s = json(
        &env.run(&["aggregate", "--db", "legacy", "in.txt", "--summary", "-"])
            .ok()
            .stdout,
    );
    assert_eq!(s["database"]["build_date"], "2012", "{s}");
    assert_eq!(s["database"]["date_from"], "copyright line");
    assert!(
        s["database"]["attribution"]
            .as_str()
            .unwrap()
            .contains("GeoLite data")
    );
    // The zip as distributed: the date in its name; else its entries' own dates.
    legacy_zip(
        &env,
        "GeoLiteCity_20130101.zip",
        "GeoLiteCity_20130101/",
        (2013, 1, 2),
    );
    let i = info("GeoLiteCity_20130101.zip");
    assert_eq!(
        (i["build_date"].as_str(), i["date_from"].as_str()),
        (Some("2013-01-01"), Some("file name"))
    );
    legacy_zip(&env, "city.zip", "", (2013, 1, 3));
    let i = info("city.zip");
    assert_eq!(
        (i["build_date"].as_str(), i["date_from"].as_str()),
        (Some("2013-01-03"), Some("zip entry date"))
    );
    // build-db records the data's date, and says where it came from.
    env.run(&[
        "build-db",
        "--from",
        "GeoLiteCity_20130101.zip",
        "-o",
        "g.mmdb",
    ])
    .ok();
    let i = info("g.mmdb");
    assert_eq!(i["build_date"], "2013-01-01", "{i}");
    assert_eq!(i["date_from"], "metadata");
    assert!(
        i["description"]["en"]
            .as_str()
            .unwrap()
            .contains("2013-01-01 (from the file name)"),
        "{i}"
    );
    assert!(i["attribution"].as_str().unwrap().contains("GeoLite data"));
    // build-db --from X.mmdb keeps X's date, unless SOURCE_DATE_EPOCH says otherwise.
    env.run(&["build-db", "--from", "g.mmdb", "-o", "h.mmdb"])
        .ok();
    assert_eq!(info("h.mmdb")["build_epoch"], i["build_epoch"]);
    let forced = env
        .command()
        .env("SOURCE_DATE_EPOCH", "86400")
        .args(["build-db", "--from", "g.mmdb", "-o", "f.mmdb"])
        .output()
        .unwrap();
    assert!(forced.status.success());
    assert_eq!(info("f.mmdb")["build_date"], "1970-01-02");
}

#[test]
fn a_temporary_file_name_never_appears_in_a_message() {
    let env = TestEnv::new();
    env.write("in.txt", "1.0.0.1\n");
    for args in [
        &["aggregate", "in.txt", "--countries", "missing/c.csv"][..],
        &[
            "map",
            "in.txt",
            "-o",
            "m",
            "--only",
            "tally.json",
            "--prefix",
            "x",
        ][..],
    ] {
        if args[0] == "map" {
            // The output directory is a file: nothing can be created in it.
            env.write("m", "a file");
        }
        let r = env.run(args);
        assert_ne!(r.code, 0, "{}", r.stderr);
        assert!(!r.stderr.contains(".ipatlas-"), "{}", r.stderr);
        assert!(!r.stderr.contains(".tmp"), "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
    let r = env.run(&["aggregate", "in.txt", "--countries", "missing/c.csv"]);
    assert!(
        r.stderr
            .contains("missing/c.csv: No such file or directory"),
        "{}",
        r.stderr
    );
}

#[test]
fn map_and_geojson_end_like_aggregate_on_a_terminal() {
    let env = TestEnv::new();
    env.write("in.txt", "1.0.0.1\n2a00::/32\n");
    // `script` (util-linux, on every Debian) gives the run a terminal.
    let on_a_terminal = |args: &str| {
        let run = std::process::Command::new("script")
            .current_dir(env.dir.path())
            .env_remove("IPATLAS_DB")
            .env("IPATLAS_SEARCH_PATH", env.path("no-such-dir"))
            .env("IPATLAS_CACHE_DIR", env.path("cache"))
            .args([
                "-qec",
                &format!("{} {args}", env!("CARGO_BIN_EXE_ipatlas")),
                "/dev/null",
            ])
            .output()
            .unwrap();
        assert!(run.status.success(), "{args}");
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    for args in [
        "aggregate in.txt --countries c.csv",
        "map in.txt -o m --only summary.json",
        "geojson in.txt --layer countries -o g.geojson",
    ] {
        let out = on_a_terminal(args);
        // Each unit on its own, then the database and its attribution.
        assert!(
            out.contains(
                "ipatlas: 2 lines, 2 parsed, 0 invalid; 1 address located (1 with country, 0 with coordinates), 0 not found; \
                 4294967296 /64 subnets located"
            ),
            "{args}: {out}"
        );
        assert!(
            out.contains("database DB-IP IP to Country Lite (2026-06-01)"),
            "{args}: {out}"
        );
        assert!(out.contains("\n  IP Geolocation by DB-IP"), "{args}: {out}");
    }
}
