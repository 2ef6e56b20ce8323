//! The on-disk cache of compiled IPv4 tables: used when sound, rebuilt when not, never
//! stale, safe when runs race.

use crate::common::*;
use std::path::PathBuf;

const IPS: &str = "1.0.0.1\n2.0.2.3\n2.0.0.9\n3.0.0.1\n4.0.0.77\n9.9.9.9\n10.0.0.1\n2a00::1\n";

/// Runs `aggregate --lookup table` (so even a small input uses the table) and returns the
/// tally file's text and the summary.
fn run(env: &TestEnv, db: &str, extra: &[&str]) -> (String, serde_json::Value) {
    env.write("ips.txt", IPS);
    let mut args = vec![
        "aggregate",
        "--db",
        db,
        "ips.txt",
        "--lookup",
        "table",
        "--tally",
        "t.json",
        "--summary",
        "s.json",
    ];
    args.extend_from_slice(extra);
    env.run(&args).ok();
    (env.read("t.json"), json(&env.read("s.json")))
}

/// Runs `aggregate` on `input` (with `extra` options), checks that every line was found,
/// and says where the run's IPv4 and IPv6 tables came from (`none`, `built` or `cache`;
/// the summary names the IPv6 table only when the run had one).
fn table_sources(env: &TestEnv, db: &str, input: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["aggregate", "--db", db, input, "--summary", "s.json"];
    args.extend_from_slice(extra);
    env.run(&args).ok();
    let s = json(&env.read("s.json"));
    assert_eq!(s["found"], env.read(input).lines().count(), "{s}");
    let ipv4 = s["ipv4_table"].as_str().unwrap().to_owned();
    let ipv6 = s.get("ipv6_table").map_or("none", |v| v.as_str().unwrap());
    (ipv4, ipv6.to_owned())
}

/// The compiled IPv4 tables in the cache.
fn cache_files(env: &TestEnv) -> Vec<PathBuf> {
    files_of(env, "ipv4-table-")
}

/// The cache's files whose names start with `prefix`.
fn files_of(env: &TestEnv, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(env.path("cache"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|f| f.file_name().unwrap().to_string_lossy().starts_with(prefix));
    files.sort();
    files
}

#[test]
fn a_second_run_reads_the_cache_and_gives_identical_outputs() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let (first, s1) = run(&env, db, &[]);
    assert_eq!(s1["ipv4_table"], "built");
    assert!(s1["decoded_records"].as_u64().unwrap() > 0);
    let files = cache_files(&env);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("ipv4-table-")
    );
    let (second, s2) = run(&env, db, &[]);
    assert_eq!(s2["ipv4_table"], "cache");
    // Cached tables decode nothing (the IPv6 address goes through the IPv6 table, cached
    // beside the IPv4 one).
    assert_eq!(s2["ipv6_table"], "cache");
    assert_eq!(s2["decoded_records"], 0);
    assert_eq!(first, second);
    assert_eq!(s1["found"], 6);
    assert_eq!(s1["found"], s2["found"]);
    // --whole-db reads the same cache.
    env.run(&["aggregate", "--db", db, "--whole-db", "--summary", "w.json"])
        .ok();
    let w = json(&env.read("w.json"));
    assert_eq!(w["ipv4_table"], "cache");
    assert!(w["found"].as_u64().unwrap() > 256, "{w}");
}

#[test]
fn a_damaged_cache_file_is_ignored_and_rebuilt() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let (good, _) = run(&env, db, &[]);
    let file = cache_files(&env).remove(0);
    let original = std::fs::read(&file).unwrap();
    let mut flipped = original.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x10;
    let damages: [(&str, Vec<u8>); 4] = [
        ("flipped byte", flipped),
        ("truncated", original[..original.len() - 9].to_vec()),
        ("empty", Vec::new()),
        ("not a table", b"hello".repeat(100)),
    ];
    for (what, bytes) in damages {
        std::fs::write(&file, &bytes).unwrap();
        let (tally, s) = run(&env, db, &[]);
        assert_eq!(s["ipv4_table"], "built", "{what}");
        assert_eq!(tally, good, "{what}");
        assert_eq!(std::fs::read(&file).unwrap(), original, "{what}: rewritten");
    }
}

#[test]
fn a_changed_database_or_option_never_reads_a_stale_table() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = env.path("db.mmdb");
    let db_s = db.to_str().unwrap();
    std::fs::copy(&fx.nested, &db).unwrap();
    let (nested, _) = run(&env, db_s, &[]);
    // Same path, other contents (as after a database update in place).
    std::fs::copy(&fx.flat_v4, &db).unwrap();
    let (flat, s) = run(&env, db_s, &[]);
    assert_eq!(s["ipv4_table"], "built");
    let (flat_uncached, s) = run(&env, db_s, &["--no-cache"]);
    assert_eq!(s["ipv4_table"], "built");
    assert_eq!(flat, flat_uncached);
    assert_ne!(flat, nested);
    // The country fallback changes places, so it has a table of its own.
    std::fs::copy(&fx.nested, &db).unwrap();
    let (_, s) = run(&env, db_s, &[]);
    assert_eq!(s["ipv4_table"], "cache");
    let (_, s) = run(&env, db_s, &["--country-fallback", "registered"]);
    assert_eq!(s["ipv4_table"], "built");
    assert_eq!(s["country_from_registered"], 1);
    let (_, s) = run(&env, db_s, &["--country-fallback", "registered"]);
    assert_eq!(s["ipv4_table"], "cache");
    assert_eq!(s["country_from_registered"], 1);
}

#[test]
fn no_cache_and_cache_dir_and_an_unusable_cache_dir() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let (plain, s) = run(&env, db, &["--no-cache"]);
    assert_eq!(s["ipv4_table"], "built");
    assert!(cache_files(&env).is_empty(), "--no-cache wrote nothing");
    let (other, _) = run(&env, db, &["--cache-dir", "elsewhere"]);
    assert_eq!(other, plain);
    assert!(cache_files(&env).is_empty());
    // The IPv4 and the IPv6 table.
    assert_eq!(std::fs::read_dir(env.path("elsewhere")).unwrap().count(), 2);
    // A cache directory that cannot be created costs the build, not the run.
    env.write("a-file", "x");
    let (blocked, s) = run(&env, db, &["--cache-dir", "a-file/sub"]);
    assert_eq!(s["ipv4_table"], "built");
    assert_eq!(blocked, plain);
}

#[test]
fn racing_runs_all_succeed_and_leave_one_whole_file() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    env.write("ips.txt", IPS);
    let children: Vec<_> = (0..4)
        .map(|i| {
            env.command()
                .args([
                    "aggregate",
                    "--db",
                    fx.nested.to_str().unwrap(),
                    "ips.txt",
                    "--lookup",
                    "table",
                    "--tally",
                    &format!("t{i}.json"),
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tallies: Vec<String> = (0..4).map(|i| env.read(&format!("t{i}.json"))).collect();
    assert!(tallies.iter().all(|t| *t == tallies[0]));
    let files = cache_files(&env);
    assert_eq!(files.len(), 1, "one table file, no temporaries: {files:?}");
    let (_, s) = run(&env, fx.nested.to_str().unwrap(), &[]);
    assert_eq!(s["ipv4_table"], "cache");
}

/// The converted-database cache files in the test's cache directory.
fn csv_cache_files(env: &TestEnv) -> Vec<PathBuf> {
    std::fs::read_dir(env.path("cache"))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with("csv-db-")
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_converted_csv_database_is_cached_and_answers_as_converted() {
    let env = TestEnv::new();
    // A copy of the GeoLite2 CSV fixture (with one bad row of each kind) to change later.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/csv/geolite2-city");
    std::fs::create_dir_all(env.path("csv")).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), env.path("csv").join(e.file_name())).unwrap();
    }
    env.write(
        "ips.txt",
        "81.2.69.160\n1.0.0.1\n2.0.0.1\n89.160.20.112\n2001:480::1\n216.160.83.56\n",
    );
    let aggregate = |extra: &[&str]| {
        let mut args = vec![
            "aggregate",
            "--db",
            "csv",
            "ips.txt",
            "--summary",
            "s.json",
            "--countries",
            "c.csv",
            "--tally",
            "t.json",
        ];
        args.extend_from_slice(extra);
        let r = env.run(&args).ok();
        let summary = json(&env.read("s.json"));
        (
            summary["csv_database"].as_str().unwrap().to_owned(),
            env.read("c.csv"),
            env.read("t.json"),
            r.stderr,
        )
    };
    let (how, countries, tally, stderr) = aggregate(&[]);
    assert_eq!(how, "built");
    assert!(
        stderr.contains("rows skipped"),
        "the fixture's bad rows: {stderr}"
    );
    assert_eq!(csv_cache_files(&env).len(), 1);
    // The second run reads the cache: the same tables, tally and report of skipped rows.
    let second = aggregate(&[]);
    assert_eq!(second.0, "cache");
    assert_eq!(
        (&second.1, &second.2, &second.3),
        (&countries, &tally, &stderr)
    );
    // --strict refuses the skipped rows from the cache as it does when converting.
    let r = env.run(&["aggregate", "--db", "csv", "ips.txt", "--strict", "--quiet"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    // A damaged cache file is converted again and replaced.
    let file = csv_cache_files(&env).remove(0);
    let whole = std::fs::read(&file).unwrap();
    std::fs::write(&file, &whole[..whole.len() / 2]).unwrap();
    let third = aggregate(&[]);
    assert_eq!((third.0.as_str(), &third.2), ("built", &tally));
    assert_eq!(std::fs::read(&file).unwrap(), whole);
    // --no-cache neither reads nor writes it.
    std::fs::remove_file(&file).unwrap();
    assert_eq!(aggregate(&["--no-cache"]).0, "built");
    assert!(csv_cache_files(&env).is_empty());
    aggregate(&[]);
    // A changed file is a different database: converted again, under another key.
    let locations = env.path("csv/GeoLite2-City-Locations-en.csv");
    let mut text = std::fs::read(&locations).unwrap();
    text.extend_from_slice(b"\n");
    std::fs::write(&locations, text).unwrap();
    let changed = aggregate(&[]);
    assert_eq!((changed.0.as_str(), &changed.1), ("built", &countries));
    assert_eq!(csv_cache_files(&env).len(), 2);
    // An .mmdb run says nothing about CSV conversion.
    let fx = Fixtures::build(env.dir.path());
    env.run(&[
        "aggregate",
        "--db",
        fx.nested.to_str().unwrap(),
        "ips.txt",
        "--summary",
        "m.json",
        "--quiet",
    ])
    .ok();
    assert!(json(&env.read("m.json")).get("csv_database").is_none());
}

#[test]
fn auto_loads_a_cached_table_from_one_megabyte_and_keeps_the_tree_below() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let lines = "1.0.0.1\n2.0.2.3\n";
    env.write("small.txt", lines.repeat(60_000)); // 0.96 MB
    env.write("band.txt", lines.repeat(70_000)); // 1.1 MB: from 1 MiB, below 4
    let table = |input: &str, extra: &[&str]| table_sources(&env, db, input, extra).0;
    // Nothing cached: a small input stays on the tree.
    assert_eq!(table("small.txt", &[]), "none");
    assert!(cache_files(&env).is_empty());
    // Once the cache holds the table, an input from 1 MiB on loads it first...
    assert_eq!(table("small.txt", &["--lookup", "table"]), "built");
    assert_eq!(table("band.txt", &[]), "cache");
    // ...and a small one still does not pay for it.
    assert_eq!(table("small.txt", &[]), "none");
}

#[test]
fn auto_loads_a_cached_ipv6_table_from_eight_megabytes_of_ipv6_lines() {
    let env = TestEnv::new();
    let city = maxmind_data("test-data/GeoIP2-City-Test.mmdb");
    let db = city.to_str().unwrap();
    // Written out in full, 40 bytes a line: 190,000 lines are 7.6 MB, 230,000 are 9.2 MB.
    let lines = |n: u32| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "2001:0218:{:04x}:{:04x}:0000:0000:0000:0001\n",
                    i >> 16,
                    i & 0xffff
                )
            })
            .collect()
    };
    env.write("under.txt", lines(190_000));
    env.write("over.txt", lines(230_000));
    let tables = |input: &str, extra: &[&str]| table_sources(&env, db, input, extra);
    let none = || ("none".to_owned(), "none".to_owned());
    // Nothing cached: the tree (building the table pays only from 128 MiB).
    assert_eq!(tables("over.txt", &[]), none());
    // Asked for tables, with only IPv6 counted: the IPv6 table is built, the IPv4 one is
    // not even loaded.
    assert_eq!(
        tables("under.txt", &["--lookup", "table", "--family", "ipv6"]),
        ("none".to_owned(), "built".to_owned())
    );
    // Once cached, from 8 MiB of IPv6 lines on it is loaded; below, the tree stays.
    assert_eq!(
        tables("over.txt", &[]),
        ("none".to_owned(), "cache".to_owned())
    );
    assert_eq!(tables("under.txt", &[]), none());
}

#[test]
fn the_ipv6_table_is_cached_and_a_damaged_one_is_rebuilt() {
    let env = TestEnv::new();
    let city = maxmind_data("test-data/GeoIP2-City-Test.mmdb");
    let db = city.to_str().unwrap();
    let mut text = String::new();
    for i in 0..2000u32 {
        text.push_str(&format!(
            "2001:218::{i:x}\n2001:480::{i:x}\n2a02:d300::{i:x}\n"
        ));
        text.push_str("81.2.69.160\n2002:5102:45a0::1\n");
    }
    env.write("v6.txt", &text);
    let run = |lookup: &str| {
        let r = env
            .run(&[
                "aggregate",
                "--db",
                db,
                "v6.txt",
                "--lookup",
                lookup,
                "--tally",
                "t.json",
                "--summary",
                "s.json",
            ])
            .ok();
        let s = json(&env.read("s.json"));
        (env.read("t.json"), s, r.stderr)
    };
    let (tree, s, _) = run("tree");
    assert!(s.get("ipv6_table").is_none(), "{s}");
    let (built, s, _) = run("table");
    assert_eq!(s["ipv6_table"], "built");
    let (cached, s, _) = run("table");
    assert_eq!(s["ipv6_table"], "cache");
    // The same counts whichever way (the 6to4 address is left to the tree by the table).
    assert_eq!(tree, built);
    assert_eq!(tree, cached);
    assert_eq!(s["by_family"]["ipv6"]["found"], 6_000, "{s}");
    // A damaged file is refused with a warning, rebuilt and replaced.
    let files = files_of(&env, "ipv6-table-");
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    let mut bytes = std::fs::read(file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(file, &bytes).unwrap();
    let (again, s, stderr) = run("table");
    assert_eq!(s["ipv6_table"], "built", "{stderr}");
    assert!(stderr.contains("cache"), "{stderr}");
    assert_eq!(tree, again);
    let (_, s, _) = run("table");
    assert_eq!(s["ipv6_table"], "cache");
}
