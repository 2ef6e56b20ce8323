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
    for bad in ["x.gif", "x", "x.svg"] {
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
