use crate::common::*;

fn rows(v: &[&[&str]]) -> Vec<Vec<String>> {
    v.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

const MIXED: &str = "1.0.0.1\n1.0.0.2\n2.0.1.1\n5.5.5.5\n6.0.0.9\n3.1.1.1\n4.0.0.4\n10.0.0.1\n9.9.9.9\n\
2a00::1\n2a01::5\nbogus\n300.1.1.1\n\n# comment\n::ffff:1.0.0.3\n";

#[test]
fn countries_cells_and_summary_from_a_city_database() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    env.write("ips.txt", MIXED);
    let db = fx.nested.to_str().unwrap();
    env.run(&[
        "aggregate",
        "--db",
        db,
        "ips.txt",
        "--countries",
        "c.csv",
        "--cells",
        "g.csv",
        "--summary",
        "s.json",
    ])
    .ok();

    // US: 1.0.0.1, 1.0.0.2, ::ffff:1.0.0.3 (IPv4-mapped resolves as IPv4). 3.1.1.1 has only a
    // registered_country and 4.0.0.4 has neither: found, but not in the table.
    assert_eq!(
        csv_rows(&env.read("c.csv")),
        rows(&[
            &["country", "count", "share", "unit"],
            // Shares are of all 10 addresses found, whether or not they have a country.
            &["US", "3", "0.300000", "addresses"],
            &["DE", "1", "0.100000", "addresses"],
            &["FR", "1", "0.100000", "addresses"],
            &["GB", "1", "0.100000", "addresses"],
            &["NO", "1", "0.100000", "addresses"],
            &["TW", "1", "0.100000", "addresses"],
        ])
    );
    // Cells: half-open 1-degree cells aligned on -90/-180, ordered south to north.
    assert_eq!(
        csv_rows(&env.read("g.csv")),
        rows(&[
            &["lat_min", "lon_min", "lat_max", "lon_max", "count", "unit"],
            &["25", "121", "26", "122", "1", "addresses"],
            &["35", "139", "36", "140", "1", "addresses"],
            &["37", "-98", "38", "-97", "3", "addresses"],
            &["48", "2", "49", "3", "1", "addresses"],
            &["51", "-1", "52", "0", "1", "addresses"],
            &["51", "9", "52", "10", "1", "addresses"],
        ])
    );
    let s = json(&env.read("s.json"));
    assert_eq!(s["lines"], 16);
    assert_eq!(s["skipped"], 2);
    assert_eq!(s["parsed"], 12);
    assert_eq!(s["invalid"], 2);
    assert_eq!(s["invalid_reasons"]["not_an_address"], 1);
    assert_eq!(s["invalid_reasons"]["bad_ipv4"], 1);
    assert_eq!(s["ipv4"], 10);
    assert_eq!(s["ipv6"], 2);
    assert_eq!(s["found"], 10);
    assert_eq!(s["not_found"], 2);
    assert_eq!(s["not_found_reasons"]["reserved"], 1);
    assert_eq!(s["not_found_reasons"]["no_record"], 1);
    assert_eq!(s["with_country"], 8);
    assert_eq!(s["with_coords"], 8);
    assert_eq!(s["without_location"], 1);
    assert_eq!(s["database"]["type"], "GeoIP2-City");
    assert_eq!(s["database"]["build_epoch"], FIXTURE_EPOCH);
    assert_eq!(s["database"]["path"], db);
    assert!(s["elapsed_s"].as_f64().unwrap() >= 0.0);
    // Each distinct record is decoded once: US, DE, FR, NO, 3/8, 4/24, GB, TW.
    assert_eq!(s["decoded_records"], 8);
}

#[test]
fn registered_country_fallback_is_opt_in() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let plain = env
        .run_with_stdin(&["aggregate", "--db", db, "-"], Some(b"3.0.0.1\n3.0.0.2\n"))
        .ok();
    assert_eq!(plain.stdout, "country,count,share,unit\n");
    let run = env
        .run_with_stdin(
            &[
                "aggregate",
                "--db",
                db,
                "-",
                "--country-fallback",
                "registered",
                "--summary",
                "s.json",
            ],
            Some(b"3.0.0.1\n3.0.0.2\n"),
        )
        .ok();
    let _ = run;
    let s = json(&env.read("s.json"));
    assert_eq!(s["with_country"], 2);
    assert_eq!(s["country_from_registered"], 2);
}

#[test]
fn cidr_lines_weigh_every_address_split_along_database_networks() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    // 2.0.0.0/15 is half DE (2.0.0.0/16) and half not in the database;
    // 1.0.0.128/25 lies inside the US /24.
    env.write("nets.txt", "2.0.0.0/15\n1.0.0.128/25\n2a00::/32\n");
    env.run(&[
        "aggregate",
        "--db",
        db,
        "nets.txt",
        "--family",
        "ipv4",
        "--summary",
        "s.json",
        "--countries",
        "c.csv",
    ])
    .ok();
    assert_eq!(
        csv_rows(&env.read("c.csv")),
        rows(&[
            &["country", "count", "share", "unit"],
            &["DE", "65536", "0.998051", "addresses"],
            &["US", "128", "0.001949", "addresses"]
        ])
    );
    let s = json(&env.read("s.json"));
    assert_eq!(s["by_family"]["ipv4"]["found"], 65536 + 128);
    assert_eq!(s["by_family"]["ipv4"]["not_found"], 65536);
    assert_eq!(s["by_family"]["ipv4"]["unit"], "addresses");
    assert_eq!(s["excluded"], 1);

    env.run(&[
        "aggregate",
        "--db",
        db,
        "nets.txt",
        "--family",
        "ipv6",
        "--summary",
        "s6.json",
        "--countries",
        "c6.csv",
    ])
    .ok();
    // 2a00::/32 inside 2a00::/16: 2^32 /64 subnets.
    assert_eq!(
        csv_rows(&env.read("c6.csv")),
        rows(&[
            &["country", "count", "share", "unit"],
            &["GB", "4294967296", "1.000000", "/64 subnets"]
        ])
    );
    let s = json(&env.read("s6.json"));
    // The prefix's /64 subnets are never counted as addresses.
    assert_eq!(s["subnets_64"]["found"], 1u64 << 32);
    assert_eq!(s["subnets_64"]["unit"], "/64 subnets");
    assert_eq!(s["found"], 0);
    assert_eq!(s["by_family"]["ipv6"]["found"], 0);
    assert_eq!(s["by_family"]["ipv6"]["prefixes"], 1);
}

#[test]
fn whole_db_tallies_the_address_space_by_network_size() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let out = env
        .run(&[
            "aggregate",
            "--db",
            db,
            "--whole-db",
            "--summary",
            "s.json",
            "--countries",
            "-",
        ])
        .ok();
    assert_eq!(
        csv_rows(&out.stdout),
        rows(&[
            &["country", "count", "share", "unit"],
            &["DE", "65536", "0.003891", "addresses"],
            &["AQ", "256", "0.000015", "addresses"],
            &["CA", "256", "0.000015", "addresses"],
            &["FR", "256", "0.000015", "addresses"],
            &["NO", "256", "0.000015", "addresses"],
            &["US", "256", "0.000015", "addresses"],
        ])
    );
    let s = json(&env.read("s.json"));
    // 3.0.0.0/8 has coordinates but no country; 4.0.0.0/24 has nothing.
    assert_eq!(
        s["by_family"]["ipv4"]["found"],
        65536 + 5 * 256 + (1 << 24) + 256
    );
    assert_eq!(
        s["by_family"]["ipv4"]["not_found"],
        (1u64 << 32) - (65536 + 6 * 256 + (1 << 24))
    );
    assert_eq!(
        s["ipv6"], 0,
        "--whole-db is IPv4 unless --family says otherwise"
    );
}

#[test]
fn separate_ipv4_and_ipv6_files_act_as_one_database() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let (v4, v6) = (fx.flat_v4.to_str().unwrap(), fx.flat_v6.to_str().unwrap());
    let input = b"1.0.0.1\n2a00::1\n11.0.5.5\n9.9.9.9\n";
    // Either order of --db routes by family.
    for dbs in [[v4, v6], [v6, v4]] {
        env.run_with_stdin(
            &[
                "aggregate",
                "--db",
                dbs[0],
                "--db",
                dbs[1],
                "-",
                "--summary",
                "s.json",
                "--cells",
                "g.csv",
                "--countries",
                "c.csv",
            ],
            Some(input),
        )
        .ok();
        assert_eq!(
            csv_rows(&env.read("c.csv")),
            rows(&[
                &["country", "count", "share", "unit"],
                &["BR", "1", "0.250000", "addresses"],
                &["GB", "1", "0.250000", "addresses"],
                &["US", "1", "0.250000", "addresses"]
            ])
        );
        // f32 coordinates read as the decimals they were written as; "" means unknown.
        assert_eq!(
            csv_rows(&env.read("g.csv")),
            rows(&[
                &["lat_min", "lon_min", "lat_max", "lon_max", "count", "unit"],
                &["-16", "-48", "-15", "-47", "1", "addresses"],
                &["37", "-98", "38", "-97", "1", "addresses"],
                &["51", "-1", "52", "0", "1", "addresses"],
            ])
        );
        let s = json(&env.read("s.json"));
        assert_eq!(s["found"], 4);
        assert_eq!(s["without_location"], 1);
        assert_eq!(s["databases"].as_array().unwrap().len(), 2);
        assert_eq!(s["database"]["schema"], "flat");
    }
}

#[test]
fn ipv6_against_an_ipv4_only_database_is_not_found_with_its_own_reason() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let v4 = fx.flat_v4.to_str().unwrap();
    env.run_with_stdin(
        &["aggregate", "--db", v4, "-", "--summary", "s.json"],
        Some(b"2a00::1\n1.0.0.1\n"),
    )
    .ok();
    let s = json(&env.read("s.json"));
    assert_eq!(s["not_found_reasons"]["ipv6_not_in_database"], 1);
    assert_eq!(s["found"], 1);
}

#[test]
fn the_embedded_database_gives_countries_and_says_why_there_are_no_cells() {
    let env = TestEnv::new();
    let run = env
        .run_with_stdin(
            &[
                "aggregate",
                "-",
                "--cells",
                "g.csv",
                "--summary",
                "s.json",
                "--countries",
                "c.csv",
            ],
            Some(b"8.8.8.8\n1.1.1.1\n"),
        )
        .ok();
    assert_eq!(
        csv_rows(&env.read("g.csv")),
        rows(&[&["lat_min", "lon_min", "lat_max", "lon_max", "count", "unit"]])
    );
    assert!(
        run.stderr.contains("no coordinates"),
        "stderr: {}",
        run.stderr
    );
    let s = json(&env.read("s.json"));
    assert!(
        s["cells"]["note"]
            .as_str()
            .unwrap()
            .contains("country-level only")
    );
    assert!(
        s["database"]["path"]
            .as_str()
            .unwrap()
            .starts_with("embedded:")
    );
    assert!(
        s["database"]["attribution"]
            .as_str()
            .unwrap()
            .contains("DB-IP")
    );
    assert_eq!(s["with_country"], 2);
    let countries = csv_rows(&env.read("c.csv"));
    assert_eq!(countries.len(), 3, "{countries:?}");
}

#[test]
fn fine_cells_and_bad_cell_sizes() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    env.run_with_stdin(
        &[
            "aggregate",
            "--db",
            db,
            "-",
            "--cell",
            "0.01",
            "--cells",
            "g.csv",
        ],
        Some(b"1.0.0.1\n7.0.0.1\n8.0.0.1\n"),
    )
    .ok();
    assert_eq!(
        csv_rows(&env.read("g.csv")),
        rows(&[
            &["lat_min", "lon_min", "lat_max", "lon_max", "count", "unit"],
            // latitude -90 / longitude -180: the first cell; 90 / 180: the last.
            &["-90", "-180", "-89.99", "-179.99", "1", "addresses"],
            &["37.75", "-97.83", "37.76", "-97.82", "1", "addresses"],
            &["89.99", "179.99", "90", "180", "1", "addresses"],
        ])
    );
    for bad in ["0", "0.001", "-1", "200", "nan"] {
        let r = env.run_with_stdin(
            &["aggregate", "--db", db, "-", "--cell", bad],
            Some(b"1.0.0.1\n"),
        );
        assert_eq!(r.code, 2, "--cell {bad}: {}", r.stderr);
        assert!(r.stderr.contains("--cell"), "{}", r.stderr);
    }
}

#[test]
fn empty_input_gives_an_empty_but_valid_result() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    env.write("empty.txt", "");
    env.run(&[
        "aggregate",
        "--db",
        db,
        "empty.txt",
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
    assert_eq!(env.read("c.csv"), "country,count,share,unit\n");
    assert_eq!(
        env.read("g.csv"),
        "lat_min,lon_min,lat_max,lon_max,count,unit\n"
    );
    let s = json(&env.read("s.json"));
    assert_eq!(s["lines"], 0);
    assert_eq!(s["found"], 0);
    assert_eq!(
        json(&env.read("t.json"))["places"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn threads_do_not_change_results() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    // Enough lines for many chunks.
    let mut text = String::new();
    for i in 0..1_000_000u32 {
        text.push_str(&format!(
            "{}.{}.{}.{}\n",
            1 + i % 8,
            (i >> 8) & 255,
            i & 255,
            i % 7
        ));
        if i % 2500 == 0 {
            text.push_str("junk\n");
        }
    }
    env.write("big.txt", &text);
    let mut outputs = Vec::new();
    for t in ["1", "2", "3"] {
        env.run(&[
            "aggregate",
            "--db",
            db,
            "big.txt",
            "--threads",
            t,
            "--countries",
            "c.csv",
            "--cells",
            "g.csv",
            "--tally",
            "t.json",
            "--invalid-out",
            "bad.csv",
        ])
        .ok();
        outputs.push((
            env.read("c.csv"),
            env.read("g.csv"),
            env.read("t.json"),
            env.read("bad.csv"),
        ));
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
    let bad = csv_rows(&outputs[0].3);
    assert_eq!(bad.len(), 1 + 400);
    assert_eq!(bad[1], vec!["big.txt", "2", "not_an_address", "junk"]);
}
