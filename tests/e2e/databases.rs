//! MaxMind's official test databases (known answers) and the corpus of broken databases.

use crate::common::*;

#[test]
fn known_answers_from_maxmind_test_databases() {
    let env = TestEnv::new();
    let city = maxmind_data("test-data/GeoIP2-City-Test.mmdb");
    let out = env
        .run(&[
            "lookup",
            "--db",
            city.to_str().unwrap(),
            "81.2.69.160",
            "2.125.160.216",
            "89.160.20.128",
            "216.160.83.56",
            "2001:218::1",
            "67.43.156.1",
            "::ffff:81.2.69.160",
            "1.1.1.1",
        ])
        .ok();
    assert_eq!(
        out.stdout,
        "ip,country,latitude,longitude,accuracy_radius,network,status,reason\n\
         81.2.69.160,GB,51.5142,-0.0931,100,81.2.69.160/27,found,\n\
         2.125.160.216,GB,51.75,-1.25,100,2.125.160.216/29,found,\n\
         89.160.20.128,SE,58.4167,15.6167,76,89.160.20.128/25,found,\n\
         216.160.83.56,US,47.2513,-122.3149,22,216.160.83.56/29,found,\n\
         2001:218::1,JP,35.68536,139.75309,100,2001:218::/32,found,\n\
         67.43.156.1,BT,27.5,90.5,534,67.43.156.0/24,found,\n\
         81.2.69.160,GB,51.5142,-0.0931,100,81.2.69.160/27,found,\n\
         1.1.1.1,,,,,,not_found,no_record\n"
    );
    let lite = maxmind_data("test-data/GeoLite2-City-Test.mmdb");
    let out = env
        .run(&["lookup", "--db", lite.to_str().unwrap(), "81.2.69.160"])
        .ok();
    assert!(
        out.stdout.contains("81.2.69.160,GB,51.5142,-0.0931,100,"),
        "{}",
        out.stdout
    );
    let country = maxmind_data("test-data/GeoIP2-Country-Test.mmdb");
    let out = env
        .run(&[
            "lookup",
            "--db",
            country.to_str().unwrap(),
            "81.2.69.160",
            "67.43.156.1",
        ])
        .ok();
    assert!(out.stdout.contains("81.2.69.160,GB,,,,"), "{}", out.stdout);
    assert!(out.stdout.contains("67.43.156.1,BT,,,,"), "{}", out.stdout);
    // 67.43.156.0/24 has registered_country RO: only the fallback uses it.
    let out = env
        .run(&[
            "lookup",
            "--db",
            city.to_str().unwrap(),
            "--country-fallback",
            "registered",
            "67.43.156.1",
        ])
        .ok();
    assert!(
        out.stdout.contains("67.43.156.1,BT,"),
        "country wins over registered_country: {}",
        out.stdout
    );
}

#[test]
fn whole_test_database_aggregates_consistently_with_lookup() {
    let env = TestEnv::new();
    let city = maxmind_data("test-data/GeoIP2-City-Test.mmdb");
    let db = city.to_str().unwrap();
    env.run(&[
        "aggregate",
        "--db",
        db,
        "--whole-db",
        "--family",
        "all",
        "--summary",
        "s.json",
        "--tally",
        "t.json",
    ])
    .ok();
    let s = json(&env.read("s.json"));
    assert!(s["by_family"]["ipv4"]["found"].as_u64().unwrap() > 0);
    // IPv6 networks weigh /64 subnets, kept apart from the addresses.
    assert!(s["subnets_64"]["found"].as_u64().unwrap() > 0);
    assert_eq!(s["subnets_64"]["unit"], "/64 subnets");
    assert_eq!(s["by_family"]["ipv6"]["found"], 0);
    let info = json(
        &env.run(&["info", "--db", db, "--json", "--networks"])
            .ok()
            .stdout,
    );
    assert_eq!(info["type"], "GeoIP2-City");
    assert!(info["ipv4_networks"].as_u64().unwrap() > 0);
}

fn bad_databases() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "bad-data/libmaxminddb",
        "bad-data/maxminddb-golang",
        "bad-data/maxminddb-python",
    ] {
        let d = maxmind_data(dir);
        for e in std::fs::read_dir(d).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    let test_data = maxmind_data("test-data");
    for e in std::fs::read_dir(test_data).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains("Broken") || name.contains("Invalid") || name.contains("broken") {
            files.push(p);
        }
    }
    files.sort();
    files
}

/// Every broken or hostile database gives one clear error line and exit 2, or, where the file
/// is valid, a clean result. Never a panic, never a signal.
#[test]
fn broken_databases_give_one_clear_error_never_a_panic() {
    let env = TestEnv::new();
    env.write("ips.txt", "81.2.69.160\n1.1.1.1\n2001:218::1\n::1\n");
    let files = bad_databases();
    assert!(
        files.len() >= 23,
        "expected the whole corpus, found {}",
        files.len()
    );
    let mut clean_errors = 0;
    for f in &files {
        let db = f.to_str().unwrap();
        for args in [
            vec!["info", "--db", db, "--networks"],
            vec!["lookup", "--db", db, "ips.txt"],
            vec![
                "aggregate",
                "--db",
                db,
                "ips.txt",
                "--quiet",
                "--summary",
                "s.json",
            ],
            vec![
                "aggregate",
                "--db",
                db,
                "--whole-db",
                "--family",
                "all",
                "--quiet",
            ],
        ] {
            let r = env.run(&args);
            assert!(
                !r.stderr.contains("panicked"),
                "{args:?} panicked:\n{}",
                r.stderr
            );
            match r.code {
                0 => {}
                2 => {
                    assert_eq!(
                        r.stderr.lines().count(),
                        1,
                        "{args:?}: one line, got:\n{}",
                        r.stderr
                    );
                    assert!(
                        r.stderr.starts_with("ipatlas: error: database "),
                        "{args:?}: {}",
                        r.stderr
                    );
                    clean_errors += 1;
                }
                other => panic!("{args:?}: exit {other}, stderr:\n{}", r.stderr),
            }
        }
    }
    assert!(
        clean_errors >= files.len(),
        "most of the corpus must be refused, refused {clean_errors}"
    );
}

#[test]
fn missing_empty_and_non_mmdb_files_are_clear_errors() {
    let env = TestEnv::new();
    env.write("empty.mmdb", "");
    env.write("text.mmdb", "this is not a database\n".repeat(100));
    let fx = Fixtures::build(env.dir.path());
    let bytes = std::fs::read(&fx.nested).unwrap();
    env.write("truncated.mmdb", &bytes[..bytes.len() / 2]);
    for db in ["nope.mmdb", "empty.mmdb", "text.mmdb", "truncated.mmdb"] {
        let r = env.run_with_stdin(&["aggregate", "--db", db, "-"], Some(b"1.0.0.1\n"));
        assert_eq!(r.code, 2, "{db}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{db}: {}", r.stderr);
        assert!(r.stderr.contains(db), "{db}: {}", r.stderr);
    }
    // A valid MMDB without location fields (an ASN database) says which flags to use.
    let asn = maxmind_data("test-data/GeoLite2-ASN-Test.mmdb");
    let r = env.run(&["info", "--db", asn.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--country-field"), "{}", r.stderr);
}

#[test]
fn field_overrides_read_any_schema() {
    let env = TestEnv::new();
    let asn = maxmind_data("test-data/GeoLite2-ASN-Test.mmdb");
    // Point the country at a field of an ASN database that holds no two-letter code: the
    // database opens (the override names the fields), records are found but carry no country.
    let out = env
        .run(&[
            "lookup",
            "--db",
            asn.to_str().unwrap(),
            "--country-field",
            "autonomous_system_organization",
            "1.128.0.1",
        ])
        .ok();
    assert!(
        out.stdout.lines().nth(1).unwrap().ends_with(",found,"),
        "{}",
        out.stdout
    );
}

/// Records read directly (the fast path of every table build) give the places the general
/// decoder gives, on every record of every fixture database that opens, broken ones
/// included; and the direct reader does read the usual layouts.
#[test]
fn the_direct_record_reader_gives_the_general_decoders_places() {
    use ipatlas::locate::{Database, FieldOverrides};
    let root = maxmind_data("test-data/GeoIP2-City-Test.mmdb");
    let data = root.parent().unwrap().parent().unwrap().to_path_buf();
    let mut paths = Vec::new();
    for dir in [
        "test-data",
        "bad-data/maxminddb-golang",
        "bad-data/libmaxminddb",
    ] {
        for entry in std::fs::read_dir(data.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "mmdb") {
                paths.push(path);
            }
        }
    }
    assert!(paths.len() > 50, "{} fixture databases", paths.len());
    let mut read = std::collections::BTreeMap::new();
    for path in &paths {
        let Ok(db) = Database::open(path, &FieldOverrides::default()) else {
            continue;
        };
        let n = db
            .check_direct_reader(usize::MAX)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let networks = db.network_counts().map_or(0, |c| c.ipv4 + c.ipv6);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        read.insert(name, (n as u64, networks));
    }
    // The usual layouts are read directly throughout (each network twice: both
    // fallbacks); a record the reader does not know (a double of the wrong size) goes to
    // the general decoder, the rest of its database still read directly.
    for name in [
        "GeoIP2-City-Test.mmdb",
        "GeoLite2-City-Test.mmdb",
        "GeoIP2-Country-Test.mmdb",
        "GeoLite2-Country-Test.mmdb",
        "GeoIP2-Enterprise-Test.mmdb",
        "GeoIP2-Precision-Enterprise-Test.mmdb",
    ] {
        let (n, networks) = read[name];
        assert!(
            networks > 30 && n == 2 * networks,
            "{name}: {n} of {networks}"
        );
    }
    let (n, networks) = read["GeoIP2-City-Test-Broken-Double-Format.mmdb"];
    assert!(n > 0 && n < 2 * networks, "{n} of {networks}");
}
