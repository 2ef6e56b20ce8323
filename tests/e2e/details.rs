//! Subdivisions, cities and networks: places keep the first-level subdivision and the city
//! a database names, `--asn-db` adds each address's network, and `aggregate` writes their
//! tables (exact counts from databases built here).

use crate::common::*;
use mmdb_writer::{IpVersion, Value, Writer};
use std::time::{Duration, UNIX_EPOCH};

fn epoch() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(FIXTURE_EPOCH)
}

/// A GeoIP2-City-shaped record with a subdivision (code and/or name) and a city.
fn city_record(
    country: &str,
    sub: Option<(Option<&str>, &str)>,
    city: Option<&str>,
    lat: f64,
    lon: f64,
) -> Value {
    let mut entries: Vec<(&str, Value)> = vec![
        ("country", Value::map([("iso_code", Value::from(country))])),
        (
            "location",
            Value::map([
                ("latitude", Value::from(lat)),
                ("longitude", Value::from(lon)),
                ("accuracy_radius", Value::from(20u16)),
            ]),
        ),
    ];
    if let Some((code, name)) = sub {
        let mut s: Vec<(&str, Value)> = vec![(
            "names",
            Value::map([("en", Value::from(name)), ("de", Value::from("x"))]),
        )];
        if let Some(code) = code {
            s.push(("iso_code", Value::from(code)));
        }
        entries.push(("subdivisions", Value::Array(vec![Value::map(s)])));
    }
    if let Some(city) = city {
        entries.push((
            "city",
            Value::map([("names", Value::map([("en", Value::from(city))]))]),
        ));
    }
    Value::map(entries)
}

fn net(s: &str) -> ipnet::IpNet {
    s.parse().unwrap()
}

/// US-CA (two cities, one of them at two points), US-NY, a subdivision known only by
/// name, a city with a comma in its name, and a record with neither.
fn build_city_db(path: &std::path::Path) {
    let mut w = Writer::builder("GeoIP2-City").build_epoch(epoch()).build();
    let ca = Some((Some("CA"), "California"));
    for (n, rec) in [
        (
            "10.1.0.0/24",
            city_record("US", ca, Some("San Jose"), 37.3, -121.9),
        ),
        (
            "10.1.1.0/25",
            city_record("US", ca, Some("San Jose"), 37.4, -121.8),
        ),
        (
            "10.1.2.0/26",
            city_record("US", ca, Some("Fresno"), 36.7, -119.8),
        ),
        (
            "10.2.0.0/24",
            city_record(
                "US",
                Some((Some("NY"), "New York")),
                Some("Albany, NY"),
                42.6,
                -73.8,
            ),
        ),
        (
            "10.3.0.0/28",
            city_record("FR", Some((None, "Bretagne")), None, 48.1, -1.7),
        ),
        ("10.4.0.0/28", city_record("DE", None, None, 51.0, 9.0)),
    ] {
        w.insert_value(net(n), rec).unwrap();
    }
    std::fs::write(path, w.to_bytes().unwrap()).unwrap();
}

/// A GeoLite2-ASN-shaped database: AS 64500 over 10.1.0.0/24 and 10.2.0.0/24, AS 64501
/// (no organisation) over 10.1.1.0/24, nothing for 10.1.2.0/24.
fn build_asn_db(path: &std::path::Path) {
    let mut w = Writer::builder("GeoLite2-ASN")
        .ip_version(IpVersion::V6)
        .build_epoch(epoch())
        .build();
    let asn = |n: u32, org: Option<&str>| {
        let mut e: Vec<(&str, Value)> = vec![("autonomous_system_number", Value::from(n))];
        if let Some(o) = org {
            e.push(("autonomous_system_organization", Value::from(o)));
        }
        Value::map(e)
    };
    w.insert_value(net("10.1.0.0/24"), asn(64500, Some("Example Net, Inc.")))
        .unwrap();
    w.insert_value(net("10.2.0.0/24"), asn(64500, Some("Example Net, Inc.")))
        .unwrap();
    w.insert_value(net("10.1.1.0/24"), asn(64501, None))
        .unwrap();
    std::fs::write(path, w.to_bytes().unwrap()).unwrap();
}

const INPUT: &str =
    "10.1.0.1\n10.1.0.2\n10.1.1.1\n10.1.2.1\n10.2.0.9\n10.3.0.1\n10.4.0.1\n10.1.0.0/23\n";

#[test]
fn subdivisions_and_cities_are_counted_with_their_codes_names_and_points() {
    let env = TestEnv::new();
    build_city_db(&env.path("city.mmdb"));
    env.write("in.txt", INPUT);
    env.run(&[
        "aggregate",
        "--db",
        "city.mmdb",
        "in.txt",
        "--subdivisions",
        "s.csv",
        "--cities",
        "c.csv",
        "--tally",
        "t.json",
        "--quiet",
    ])
    .ok();
    // 10.1.0.0/23 adds 256 (10.1.0.0/24, San Jose) + 128 (10.1.1.0/25, San Jose) found;
    // its other 128 addresses are not found. Found: 2 + 1 + 1 + 1 + 1 + 1 + 384 = 391.
    assert_eq!(
        env.read("s.csv"),
        "country,subdivision,name,count,share,unit\n\
         US,US-CA,California,388,0.992327,addresses\n\
         FR,,Bretagne,1,0.002558,addresses\n\
         US,US-NY,New York,1,0.002558,addresses\n"
    );
    // San Jose's point is that of its heavier record (10.1.0.0/24: 2 + 256 against 129).
    assert_eq!(
        env.read("c.csv"),
        "country,subdivision,city,latitude,longitude,count,share,unit\n\
         US,US-CA,San Jose,37.3,-121.9,387,0.989770,addresses\n\
         US,US-CA,Fresno,36.7,-119.8,1,0.002558,addresses\n\
         US,US-NY,\"Albany, NY\",42.6,-73.8,1,0.002558,addresses\n"
    );
    let t = json(&env.read("t.json"));
    assert_eq!(t["version"], 4, "places with names need version 4");
    // The tally keeps them: merged with itself, every count doubles.
    env.run(&["merge", "t.json", "t.json", "-o", "m.json"]).ok();
    let m = json(&env.read("m.json"));
    let sj: u64 = m["places"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["city"] == "San Jose")
        .map(|p| p["ipv4"].as_u64().unwrap())
        .sum();
    assert_eq!(sj, 2 * 387);
    let ca = m["places"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["city"] == "Fresno")
        .unwrap()["subdivision"]
        .clone();
    assert_eq!(ca["code"], "CA");
    assert_eq!(ca["name"], "California");
    // --top keeps the first rows of each table.
    let r = env
        .run(&[
            "aggregate",
            "--db",
            "city.mmdb",
            "in.txt",
            "--cities",
            "-",
            "--top",
            "1",
        ])
        .ok();
    assert_eq!(csv_rows(&r.stdout).len(), 2, "{}", r.stdout);
}

#[test]
fn a_country_database_gives_empty_tables_and_says_why() {
    let env = TestEnv::new();
    env.write("in.txt", "8.8.8.8\n1.1.1.1\n");
    let r = env
        .run(&[
            "aggregate",
            "--db",
            "embedded",
            "in.txt",
            "--cities",
            "-",
            "--subdivisions",
            "s.csv",
        ])
        .ok();
    assert_eq!(
        r.stdout,
        "country,subdivision,city,latitude,longitude,count,share,unit\n"
    );
    assert!(
        r.stderr.contains("--cities: the database names no city"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("--subdivisions: the database names no subdivision"),
        "{}",
        r.stderr
    );
    assert_eq!(
        env.read("s.csv"),
        "country,subdivision,name,count,share,unit\n"
    );
}

#[test]
fn networks_split_prefixes_exactly_and_rank_within_countries() {
    let env = TestEnv::new();
    build_city_db(&env.path("city.mmdb"));
    build_asn_db(&env.path("asn.mmdb"));
    env.write("in.txt", INPUT);
    env.run(&[
        "aggregate",
        "--db",
        "city.mmdb",
        "--asn-db",
        "asn.mmdb",
        "in.txt",
        "--asns",
        "a.csv",
        "--country-asns",
        "ca.csv",
        "--summary",
        "s.json",
        "--tally",
        "t.json",
        "--quiet",
    ])
    .ok();
    // AS64500: 10.1.0.1, 10.1.0.2, 10.2.0.9 and the /23's 256 addresses of 10.1.0.0/24.
    // AS64501: 10.1.1.1 and the /23's 128 located addresses of 10.1.1.0/25.
    // No network: 10.1.2.1, 10.3.0.1, 10.4.0.1.
    assert_eq!(
        env.read("a.csv"),
        "asn,organization,count,share,unit\n\
         64500,\"Example Net, Inc.\",259,0.662404,addresses\n\
         64501,,129,0.329923,addresses\n"
    );
    assert_eq!(
        env.read("ca.csv"),
        "country,rank,asn,organization,count,share,country_share,unit\n\
         US,1,64500,\"Example Net, Inc.\",259,0.662404,0.667526,addresses\n\
         US,2,64501,,129,0.329923,0.332474,addresses\n"
    );
    let s = json(&env.read("s.json"));
    assert_eq!(
        s["found"], 391,
        "the ASN database changes no location count"
    );
    let dbs = s["databases"].as_array().unwrap();
    assert_eq!(dbs.len(), 2);
    assert_eq!(dbs[1]["type"], "GeoLite2-ASN");
    assert_eq!(dbs[1]["schema"], "asn");
    let t = json(&env.read("t.json"));
    assert_eq!(t["version"], 4);
    assert!(
        t["places"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["network"]["asn"] == 64501),
        "{t}"
    );
    // lookup adds the two columns, and only with --asn-db.
    let r = env
        .run(&[
            "lookup",
            "--db",
            "city.mmdb",
            "--asn-db",
            "asn.mmdb",
            "10.1.0.1",
            "10.1.1.1",
            "10.1.2.1",
            "10.9.9.9",
            "10.1.1.200",
        ])
        .ok();
    let rows = csv_rows(&r.stdout);
    assert_eq!(rows[0][8..], ["asn", "as_organization"]);
    assert_eq!(rows[1][8..], ["64500", "Example Net, Inc."]);
    assert_eq!(rows[2][8..], ["64501", ""]);
    assert_eq!(rows[3][8..], ["", ""]);
    assert_eq!(rows[4][6..], ["not_found", "reserved", "", ""]);
    // Not in the location database, but in the ASN database's 10.1.1.0/24.
    assert_eq!(rows[5][6..], ["not_found", "reserved", "64501", ""]);
    let r = env.run(&["lookup", "--db", "city.mmdb", "10.1.0.1"]).ok();
    assert_eq!(csv_rows(&r.stdout)[0].len(), 8);
    // The JSON lines carry them too.
    let r = env
        .run(&[
            "lookup",
            "--db",
            "city.mmdb",
            "--asn-db",
            "asn.mmdb",
            "--format",
            "jsonl",
            "10.2.0.9",
        ])
        .ok();
    let row = json(r.stdout.trim());
    assert_eq!(row["asn"], 64500);
    assert_eq!(row["as_organization"], "Example Net, Inc.");
}

#[test]
fn asn_csv_files_are_read_in_both_forms_and_bad_asn_databases_refused() {
    let env = TestEnv::new();
    build_city_db(&env.path("city.mmdb"));
    env.write("in.txt", INPUT);
    // ip-location-db's asn CSV: addresses, or (the -num files) decimal integers.
    env.write(
        "asn-ipv4.csv",
        "10.1.0.0,10.1.0.255,64500,\"Example Net, Inc.\"\n10.2.0.0,10.2.0.255,64500,\"Example Net, Inc.\"\n10.1.1.0,10.1.1.255,64501,\n",
    );
    let n = |ip: [u8; 4]| u32::from_be_bytes(ip).to_string();
    env.write(
        "asn-ipv4-num.csv",
        format!(
            "{},{},64500,\"Example Net, Inc.\"\n{},{},64500,\"Example Net, Inc.\"\n{},{},64501,\n",
            n([10, 1, 0, 0]),
            n([10, 1, 0, 255]),
            n([10, 2, 0, 0]),
            n([10, 2, 0, 255]),
            n([10, 1, 1, 0]),
            n([10, 1, 1, 255])
        ),
    );
    // A row that is not a range with an AS number is skipped, and said.
    let mut text = env.read("asn-ipv4.csv");
    text.push_str("10.3.0.0,10.3.0.255,not-a-number,X\n");
    env.write("asn-ipv4.csv", text);
    for file in ["asn-ipv4.csv", "asn-ipv4-num.csv"] {
        let r = env
            .run(&[
                "aggregate",
                "--db",
                "city.mmdb",
                "--asn-db",
                file,
                "in.txt",
                "--asns",
                "-",
                "--quiet",
            ])
            .ok();
        assert_eq!(
            r.stdout,
            "asn,organization,count,share,unit\n\
             64500,\"Example Net, Inc.\",259,0.662404,addresses\n\
             64501,,129,0.329923,addresses\n",
            "{file}"
        );
        assert_eq!(
            r.stderr
                .contains("asn-ipv4.csv: 1 row skipped (not a range with an AS number), at line 4"),
            file == "asn-ipv4.csv",
            "{file}: {}",
            r.stderr
        );
    }
    // A location database is not an ASN database; nor is a CSV of something else.
    let r = env.run(&[
        "aggregate",
        "--db",
        "city.mmdb",
        "--asn-db",
        "city.mmdb",
        "in.txt",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not an ASN database"), "{}", r.stderr);
    env.write("junk.csv", "name,value\nfoo,bar\n");
    let r = env.run(&[
        "aggregate",
        "--db",
        "city.mmdb",
        "--asn-db",
        "junk.csv",
        "in.txt",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no row is a range with an AS number"),
        "{}",
        r.stderr
    );
    let r = env.run(&["info", "--db", "city.mmdb", "--asn-db", "junk.csv"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn maxmind_asn_test_database_agrees_with_the_python_reader() {
    let env = TestEnv::new();
    let city = maxmind_data("test-data/GeoIP2-City-Test.mmdb");
    let asn = maxmind_data("test-data/GeoLite2-ASN-Test.mmdb");
    let ips = [
        "89.160.20.112",
        "216.160.83.56",
        "81.2.69.160",
        "2.125.160.216",
    ];
    let mut args = vec![
        "lookup",
        "--db",
        city.to_str().unwrap(),
        "--asn-db",
        asn.to_str().unwrap(),
    ];
    args.extend(ips);
    let r = env.run(&args).ok();
    let script = format!(
        "import maxminddb\nr = maxminddb.open_database({:?})\nfor ip in {:?}:\n    rec = r.get(ip) or {{}}\n    print(rec.get('autonomous_system_number', ''), rec.get('autonomous_system_organization', ''), sep=',')\n",
        asn.to_str().unwrap(),
        ips
    );
    let out = std::process::Command::new(python_with_maxminddb())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let got: Vec<String> = csv_rows(&r.stdout)
        .into_iter()
        .skip(1)
        .map(|row| format!("{},{}", row[8], row[9]))
        .collect();
    assert_eq!(got, expected);
    assert!(got.contains(&"29518,Bredband2 AB".to_owned()), "{got:?}");
}

#[test]
fn csv_databases_carry_subdivisions_through_conversion_and_export() {
    let env = TestEnv::new();
    std::fs::create_dir(env.path("g2")).unwrap();
    env.write(
        "g2/GeoLite2-City-Locations-en.csv",
        "geoname_id,locale_code,continent_code,continent_name,country_iso_code,country_name,subdivision_1_iso_code,subdivision_1_name,subdivision_2_iso_code,subdivision_2_name,city_name,metro_code,time_zone,is_in_european_union\n\
         1,en,NA,\"North America\",US,\"United States\",TX,Texas,,,Austin,,,0\n\
         2,en,EU,Europe,GB,\"United Kingdom\",ENG,England,,,,,,0\n",
    );
    env.write(
        "g2/GeoLite2-City-Blocks-IPv4.csv",
        "network,geoname_id,registered_country_geoname_id,represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider,postal_code,latitude,longitude,accuracy_radius\n\
         1.0.0.0/24,1,,,0,0,,30.3,-97.7,20\n\
         2.0.0.0/24,2,,,0,0,,51.5,-0.1,50\n",
    );
    env.write("in.txt", "1.0.0.1\n1.0.0.2\n2.0.0.1\n");
    let expected = "country,subdivision,name,count,share,unit\n\
                    US,US-TX,Texas,2,0.666667,addresses\n\
                    GB,GB-ENG,England,1,0.333333,addresses\n";
    let r = env
        .run(&[
            "aggregate",
            "--db",
            "g2",
            "in.txt",
            "--subdivisions",
            "-",
            "--no-cache",
            "--quiet",
        ])
        .ok();
    assert_eq!(r.stdout, expected);
    // Through an .mmdb and back to CSV, the subdivision columns survive.
    env.run(&["build-db", "--from", "g2", "-o", "g2.mmdb"]).ok();
    let r = env
        .run(&[
            "aggregate",
            "--db",
            "g2.mmdb",
            "in.txt",
            "--subdivisions",
            "-",
            "--quiet",
        ])
        .ok();
    assert_eq!(r.stdout, expected);
    env.run(&["export", "--db", "g2.mmdb", "-o", "back"]).ok();
    let loc = env.read("back/GeoLite2-City-Locations-en.csv");
    assert!(loc.contains(",US,,TX,Texas,,,Austin,"), "{loc}");
    // Legacy GeoLiteCity: US region codes are ISO 3166-2; elsewhere FIPS numbers, left out.
    std::fs::create_dir(env.path("legacy")).unwrap();
    env.write(
        "legacy/GeoLiteCity-Location.csv",
        "Copyright (c) 2012 MaxMind LLC.  All Rights Reserved.\nlocId,country,region,city,postalCode,latitude,longitude,metroCode,areaCode\n\
         1,US,CA,\"Mountain View\",94043,37.4,-122.1,807,650\n\
         2,FR,A2,Rennes,,48.1,-1.7,,\n",
    );
    env.write(
        "legacy/GeoLiteCity-Blocks.csv",
        "Copyright (c) 2012 MaxMind LLC.  All Rights Reserved.\nstartIpNum,endIpNum,locId\n\"16777216\",\"16777471\",\"1\"\n\"33554432\",\"33554687\",\"2\"\n",
    );
    let r = env
        .run(&[
            "aggregate",
            "--db",
            "legacy",
            "in.txt",
            "--subdivisions",
            "-",
            "--cities",
            "c.csv",
            "--no-cache",
            "--quiet",
        ])
        .ok();
    assert_eq!(
        r.stdout,
        "country,subdivision,name,count,share,unit\nUS,US-CA,,2,0.666667,addresses\n"
    );
    assert!(
        env.read("c.csv").contains("FR,,Rennes,48.1,-1.7,1,"),
        "{}",
        env.read("c.csv")
    );
    // ip-location-db city CSV: state1 is a name.
    env.write(
        "dbip-city-ipv4.csv",
        "1.0.0.0,1.0.0.255,US,Texas,,Austin,,30.3,-97.7,\n2.0.0.0,2.0.0.255,GB,England,,London,,51.5,-0.1,\n",
    );
    let r = env
        .run(&[
            "aggregate",
            "--db",
            "dbip-city-ipv4.csv",
            "in.txt",
            "--subdivisions",
            "-",
            "--no-cache",
            "--quiet",
        ])
        .ok();
    assert_eq!(
        r.stdout,
        "country,subdivision,name,count,share,unit\nUS,,Texas,2,0.666667,addresses\nGB,,England,1,0.333333,addresses\n"
    );
}

/// A version-4 tally of US states (one by name only), a code no polygon has, and places
/// outside the states: France by name, Germany and the US without a subdivision.
fn states_tally(env: &TestEnv) {
    let place = |cc: &str, sub: &str, lat: f64, lon: f64, n: u64| {
        let sub = if sub.is_empty() {
            String::new()
        } else {
            format!(r#","subdivision":{sub}"#)
        };
        format!(
            r#"{{"country":"{cc}","lat":{lat},"lon":{lon},"accuracy_radius":10{sub},"ipv4":{n},"ipv6":0}}"#
        )
    };
    let places = [
        place(
            "US",
            r#"{"code":"CA","name":"California"}"#,
            36.8,
            -119.4,
            5000,
        ),
        place("US", r#"{"code":"TX","name":"Texas"}"#, 31.0, -99.0, 2000),
        place("US", r#"{"code":"NY","name":"New York"}"#, 42.9, -75.5, 800),
        place(
            "US",
            r#"{"code":"WA","name":"Washington"}"#,
            47.4,
            -120.5,
            300,
        ),
        place("US", r#"{"name":"Florida"}"#, 28.6, -82.4, 100),
        place("US", r#"{"code":"XX","name":"Nowhere"}"#, 40.0, -100.0, 7),
        place("FR", r#"{"name":"Bretagne"}"#, 48.1, -1.7, 50),
        place("DE", "", 51.0, 9.0, 20),
        place("US", "", 39.8, -98.6, 10),
    ];
    env.write(
        "states.json",
        format!(
            r#"{{"format":"ipatlas-tally","version":4,"generator":"test","databases":[],"counters":{{"lines":0,"skipped":0,"parsed":0,"invalid_reasons":{{}},"ipv4_records":0,"ipv6_records":0,"ipv4_prefixes":0,"ipv6_prefixes":0,"ipv4_not_found":{{}},"ipv6_not_found":{{}}}},"places":[{}]}}"#,
            places.join(",")
        ),
    );
}

#[test]
fn a_subdivision_choropleth_fills_the_states_and_names_what_it_leaves_out() {
    let env = TestEnv::new();
    states_tally(&env);
    let r = env
        .run(&[
            "render",
            "states.json",
            "-o",
            "us.png",
            "--mode",
            "choropleth",
            "--level",
            "subdivision",
            "--bbox=-125,24,-66,50",
            "--style",
            "light",
            "--colormap",
            "ylorrd",
            "--scale",
            "log",
            "--width",
            "480",
            "--title",
            "US states",
        ])
        .ok();
    assert!(
        r.stderr
            .contains("no polygon in embedded:us-census-2017-states for US-XX"),
        "{}",
        r.stderr
    );
    assert_matches_reference(&env.path("us.png"), "us-states-choropleth-light.png");
    // The GeoJSON layer: every state, with the tally's counts (Florida joined by name).
    let r = env
        .run(&["geojson", "states.json", "--layer", "subdivisions"])
        .ok();
    let g = json(&r.stdout);
    let features = g["features"].as_array().unwrap();
    assert_eq!(features.len(), 51, "50 states and DC");
    let count = |code: &str| {
        features
            .iter()
            .find(|f| f["properties"]["iso_3166_2"] == code)
            .map(|f| f["properties"]["count"].as_u64().unwrap())
    };
    assert_eq!(count("US-CA"), Some(5000));
    assert_eq!(count("US-FL"), Some(100));
    assert_eq!(count("US-NV"), Some(0));
    assert_eq!(count("US-XX"), None);
    let total: u64 = features
        .iter()
        .map(|f| f["properties"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 5000 + 2000 + 800 + 300 + 100);
    let ca = features
        .iter()
        .find(|f| f["properties"]["iso_3166_2"] == "US-CA")
        .unwrap();
    assert_eq!(ca["properties"]["name"], "California");
    assert_eq!(ca["properties"]["unit"], "addresses");
    assert_eq!(ca["geometry"]["type"], "MultiPolygon");
    // Per capita has no population to divide by; a shapefile without ISO 3166-2 codes is
    // not a map of subdivisions.
    let r = env.run(&[
        "render",
        "states.json",
        "-o",
        "x.png",
        "--mode",
        "choropleth",
        "--level",
        "subdivision",
        "--per-capita",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no population"), "{}", r.stderr);
    let world = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/basemap/world.shp");
    let r = env.run(&[
        "render",
        "states.json",
        "-o",
        "x.png",
        "--mode",
        "choropleth",
        "--level",
        "subdivision",
        "--basemap",
        world.to_str().unwrap(),
    ]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("not a map of subdivisions"),
        "{}",
        r.stderr
    );
    assert!(!env.path("x.png").exists());
}

#[test]
fn any_admin1_shapefile_is_a_map_of_subdivisions() {
    let env = TestEnv::new();
    states_tally(&env);
    // GDAL reads the GeoJSON layer: 51 multipolygons with the stable properties.
    env.run(&[
        "geojson",
        "states.json",
        "--layer",
        "subdivisions",
        "-o",
        "states.geojson",
    ])
    .ok();
    let info =
        crate::geojson::ogrinfo(&["-al", "-so", env.path("states.geojson").to_str().unwrap()]);
    assert!(info.contains("Feature Count: 51"), "{info}");
    assert!(info.contains("Geometry: Multi Polygon"), "{info}");
    for field in [
        "iso_3166_2: String",
        "iso_a2: String",
        "name: String",
        "count: Integer",
        "share: Real",
        "unit: String",
    ] {
        assert!(info.contains(field), "{field}: {info}");
    }
    // An admin-1 shapefile as Natural Earth's: lower-case iso_3166_2 and name fields.
    env.run(&[
        "geojson",
        "states.json",
        "--layer",
        "subdivisions",
        "--shapefile",
        "shp",
    ])
    .ok();
    let info = crate::geojson::ogrinfo(&[
        "-al",
        "-so",
        env.path("shp/subdivisions.shp").to_str().unwrap(),
    ]);
    assert!(info.contains("Feature Count: 51"), "{info}");
    assert!(info.contains("iso_3166_2: String"), "{info}");
    let r = env
        .run(&[
            "render",
            "states.json",
            "-o",
            "own.png",
            "--mode",
            "choropleth",
            "--level",
            "subdivision",
            "--basemap",
            "shp/subdivisions.shp",
            "--width",
            "480",
            "--bbox=-125,24,-66,50",
        ])
        .ok();
    assert!(r.stderr.contains("for US-XX"), "{}", r.stderr);
    assert!(r.stderr.contains("shp/subdivisions.shp"), "{}", r.stderr);
}

/// Found by fuzzing (fuzz target `csv_db`): a CSV database whose records name a
/// subdivision and nothing else was written as an `.mmdb` whose layout could not be told,
/// so what `build-db` wrote did not open.
#[test]
fn records_naming_only_a_subdivision_still_make_a_database_that_opens() {
    let env = TestEnv::new();
    env.write("dbip-city-ipv4.csv", "1.0.0.0,1.0.0.255,,Fujian,,,,,,\n");
    env.run(&["build-db", "--from", "dbip-city-ipv4.csv", "-o", "x.mmdb"])
        .ok();
    let r = env
        .run_with_stdin(
            &[
                "aggregate",
                "--db",
                "x.mmdb",
                "-",
                "--summary",
                "-",
                "--quiet",
            ],
            Some(b"1.0.0.1\n"),
        )
        .ok();
    let s = json(&r.stdout);
    assert_eq!(s["found"], 1);
    assert_eq!(s["without_location"], 1);
}

#[test]
fn countries_cells_and_summary_do_not_depend_on_which_other_tables_are_asked_for() {
    let env = TestEnv::new();
    build_city_db(&env.path("city.mmdb"));
    env.write("in.txt", INPUT);
    // A run asking only for these keeps only each place's country and coordinates; one
    // asking for a table that names more (or a tally file) keeps everything.
    let outputs = |extra: &[&str], source: &str, lookup: &str| -> String {
        let mut args = vec!["aggregate", "--db", "city.mmdb", "--lookup", lookup];
        args.push(source);
        args.extend([
            "--countries",
            "c.csv",
            "--cells",
            "g.csv",
            "--cell",
            "0.1",
            "--summary",
            "s.json",
            "--quiet",
        ]);
        args.extend(extra);
        env.run(&args).ok();
        let mut summary = json(&env.read("s.json"));
        // How the run went (the first builds the table, later ones read it from the
        // cache), not what it counted.
        for how in ["elapsed_s", "decoded_records", "ipv4_table"] {
            summary[how] = serde_json::Value::Null;
        }
        format!("{}{}{summary}", env.read("c.csv"), env.read("g.csv"))
    };
    for source in ["in.txt", "--whole-db"] {
        for lookup in ["tree", "table"] {
            let coarse = outputs(&[], source, lookup);
            // 2 + 1 + 1 + 1 + 384 in.txt addresses; the whole US space otherwise.
            let us = if source == "--whole-db" {
                "US,704,"
            } else {
                "US,389,"
            };
            assert!(coarse.contains(us), "{coarse}");
            for extra in [&["--cities", "x.csv"][..], &["--tally", "t.json"]] {
                assert_eq!(
                    outputs(extra, source, lookup),
                    coarse,
                    "{source} {lookup} {extra:?}"
                );
            }
        }
    }
}
