//! Weighted records (`--weight-column`): each record counts its weight (a prefix its size
//! times its weight), bad weights are invalid records of their own, and every output says
//! the counts are weighted.

use crate::common::*;

/// An ipsum-like feed (`IP<TAB>count`): comments, a zero weight, a weighted prefix, an
/// address the fixture does not know, and four bad lines.
const FEED: &str = "# IPsum-like feed\n# IP\tcount\n1.0.0.1\t3\n1.0.0.2\t2\n5.5.5.5\t10\n2.0.0.1\t0\n2.0.1.0/24\t2\n9.9.9.9\t4\n5.5.5.6\t-1\n5.5.5.7\tx\n5.5.5.8\n5.5.5.9\t1.5\n";

#[test]
fn each_record_counts_its_weight_and_bad_weights_are_invalid_records() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    env.write("feed.tsv", FEED);
    env.run(&[
        "aggregate",
        "--db",
        db,
        "feed.tsv",
        "--column",
        "1",
        "--weight-column",
        "2",
        "--delimiter",
        "tab",
        "--countries",
        "c.csv",
        "--summary",
        "s.json",
        "--tally",
        "t.json",
        "--invalid-out",
        "bad.csv",
        "--quiet",
    ])
    .ok();
    // US 3 + 2; FR 10; DE 0 + 2 x 256 (the weighted /24); 9.9.9.9's 4 not found.
    assert_eq!(
        env.read("c.csv"),
        "country,count,share,unit\n\
         DE,512,0.971537,weighted addresses\n\
         FR,10,0.018975,weighted addresses\n\
         US,5,0.009488,weighted addresses\n"
    );
    let s = json(&env.read("s.json"));
    assert_eq!(s["weight"]["column"], "column 2");
    assert_eq!(
        s["weight"]["total"], 21,
        "the sum of column 2 over the counted records"
    );
    assert_eq!(s["parsed"], 6);
    assert_eq!(s["invalid"], 4);
    assert_eq!(s["invalid_reasons"]["bad_weight"], 3);
    assert_eq!(s["invalid_reasons"]["missing_column"], 1);
    assert_eq!(s["unit"], "weighted addresses");
    assert_eq!(s["found"], 527);
    assert_eq!(s["not_found"], 4);
    let bad = csv_rows(&env.read("bad.csv"));
    let reasons: Vec<&str> = bad.iter().skip(1).map(|r| r[2].as_str()).collect();
    assert_eq!(
        reasons,
        ["bad_weight", "bad_weight", "missing_column", "bad_weight"]
    );
    assert_eq!(bad[1][1], "9", "line numbers count the comments");
    // The tally says so, in a version older readers refuse rather than misread.
    let t = json(&env.read("t.json"));
    assert_eq!(
        (t["version"].as_u64(), t["weight"].as_str()),
        (Some(3), Some("column 2"))
    );
    // Drawn from the tally, the map's words say weighted.
    env.run(&[
        "map",
        "t.json",
        "-o",
        "out",
        "--only",
        "summary.json,countries.csv,map.png",
        "--mode",
        "choropleth",
    ])
    .ok();
    let m = json(&env.read("out/summary.json"));
    let subtitle = m["map"]["subtitle"].as_str().unwrap();
    assert!(
        subtitle.starts_with("527 weighted addresses drawn"),
        "{subtitle}"
    );
    assert_eq!(m["weight"]["column"], "column 2");
    assert_eq!(env.read("out/countries.csv"), env.read("c.csv"));
}

#[test]
fn address_weights_sum_to_the_weight_column_and_named_columns_work() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    env.write(
        "hits.csv",
        "ip,hits\n1.0.0.1,7\n5.5.5.5,11\n2.0.0.1,5\n2a00::1,2\n",
    );
    env.run(&[
        "aggregate",
        "--db",
        db,
        "hits.csv",
        "--column",
        "ip",
        "--weight-column",
        "hits",
        "--countries",
        "c.csv",
        "--summary",
        "s.json",
        "--quiet",
    ])
    .ok();
    let rows = csv_rows(&env.read("c.csv"));
    let sum: u64 = rows
        .iter()
        .skip(1)
        .map(|r| r[1].parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, 7 + 11 + 5 + 2, "counts sum to the weight column");
    let s = json(&env.read("s.json"));
    assert_eq!(
        (
            s["weight"]["column"].as_str(),
            s["weight"]["total"].as_u64()
        ),
        (Some("hits"), Some(25))
    );
    assert_eq!(s["skipped"], 1, "the header");
}

#[test]
fn weighted_and_unweighted_tallies_never_mix_and_the_flag_needs_a_column() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    env.write("feed.tsv", FEED);
    env.write("ips.txt", "1.0.0.1\n5.5.5.5\n");
    env.run(&[
        "aggregate",
        "--db",
        db,
        "feed.tsv",
        "--column",
        "1",
        "--weight-column",
        "2",
        "--delimiter",
        "tab",
        "--tally",
        "w.json",
        "--quiet",
    ])
    .ok();
    env.run(&[
        "aggregate",
        "--db",
        db,
        "ips.txt",
        "--tally",
        "u.json",
        "--quiet",
    ])
    .ok();
    let r = env.run(&["merge", "w.json", "u.json", "-o", "m.json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("weighted"), "{}", r.stderr);
    assert!(!env.path("m.json").exists());
    let r = env.run(&[
        "merge",
        "u.json",
        "w.json",
        "-o",
        "m.json",
        "--allow-mixed-databases",
    ]);
    assert_eq!(r.code, 2, "mixing weights is never allowed: {}", r.stderr);
    env.run(&["merge", "w.json", "w.json", "-o", "ww.json"])
        .ok();
    let ww = json(&env.read("ww.json"));
    assert_eq!(ww["weight"], "column 2");
    assert_eq!(ww["counters"]["weight"], 42);
    let r = env.run(&["compare", "w.json", "u.json", "-o", "cmp"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for args in [
        vec!["aggregate", "--db", db, "ips.txt", "--weight-column", "2"],
        vec![
            "lookup",
            "--db",
            db,
            "feed.tsv",
            "--column",
            "1",
            "--weight-column",
            "2",
            "--delimiter",
            "tab",
        ],
    ] {
        let r = env.run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
}
