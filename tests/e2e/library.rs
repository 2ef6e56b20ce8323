//! The library's entry points give what the command line gives for the same addresses.

use crate::common::{TestEnv, fixture_env, synthetic_ips};
use ipatlas::input::{Input, Item};
use ipatlas::locate::{Answer, Atlas, OpenOptions};
use ipatlas::pipeline::{LookupStrategy, RunOptions, aggregate};
use ipatlas::tally::Unit;

/// A tally's file text, without the counters that differ by how records arrived (lines,
/// blank lines): the places and weights.
fn places(t: &ipatlas::Tally) -> String {
    let file = t.to_file(vec![]);
    serde_json::to_string(&file.places).unwrap()
}

#[test]
fn every_entry_point_counts_like_the_command_line() {
    let (env, fx): (TestEnv, _) = fixture_env();
    let text = synthetic_ips(300_000) + "2a00::1\n2a01::/48\n";
    env.write("ips.txt", &text);
    let db = fx.nested.to_str().unwrap();
    env.run(&[
        "aggregate",
        "--db",
        db,
        "ips.txt",
        "--tally",
        "cli.json",
        "--no-cache",
    ])
    .ok();
    let (cli, _) = ipatlas::Tally::read(env.path("cli.json")).unwrap();

    let atlas = Atlas::open(&[db], &OpenOptions::default()).unwrap();
    let options = |lookup| RunOptions {
        lookup,
        ..RunOptions::default()
    };
    let lines: Vec<&str> = text.lines().collect();
    let items: Vec<Item> = lines
        .iter()
        .map(|l| ipatlas::input::parse_item(l.as_bytes()).unwrap())
        .collect();
    let v4: Vec<u32> = items
        .iter()
        .filter_map(|i| match i {
            Item::Addr(std::net::IpAddr::V4(a)) => Some(u32::from(*a)),
            _ => None,
        })
        .collect();
    for lookup in [
        LookupStrategy::Tree,
        LookupStrategy::Table,
        LookupStrategy::Auto,
    ] {
        let from_items = atlas.aggregate_items(&items, &options(lookup)).unwrap();
        assert_eq!(places(&from_items), places(&cli), "{lookup:?}");
        assert_eq!(from_items.counters.not_found, cli.counters.not_found);
        let from_lines = atlas.aggregate_lines(&lines, &options(lookup)).unwrap();
        assert_eq!(from_lines.counters, cli.counters, "{lookup:?}");
        assert_eq!(places(&from_lines), places(&cli));
        // The IPv4 part alone, as integers.
        let from_ints = atlas.aggregate_ipv4(&v4, &options(lookup)).unwrap();
        assert_eq!(
            from_ints.located_unit(Unit::Addresses).found,
            cli.located(ipatlas::tally::Column::Ipv4).found
        );
    }
    let reader = atlas
        .aggregate_reader(
            "memory",
            std::io::Cursor::new(text.clone().into_bytes()),
            &options(LookupStrategy::Auto),
        )
        .unwrap();
    assert_eq!(places(&reader), places(&cli));
    let file = aggregate(
        &atlas,
        &[Input::Path(env.path("ips.txt"))],
        &RunOptions::default(),
        None,
    )
    .unwrap();
    assert_eq!(file.counters, cli.counters);

    // One address: the same place the lookup command gives.
    match atlas.answer("5.5.5.5".parse().unwrap()).unwrap() {
        Answer::Found { place, network } => {
            assert_eq!(place.country.unwrap().as_str(), "FR");
            assert_eq!(network.to_string(), "5.5.5.0/24");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        atlas.answer("10.0.0.1".parse().unwrap()).unwrap(),
        Answer::NotFound(ipatlas::locate::NotFound::Reserved)
    ));
}

#[test]
fn errors_have_kinds_a_caller_can_match() {
    let missing = Atlas::open(&["/no/such.mmdb"], &OpenOptions::default())
        .err()
        .unwrap();
    assert_eq!(missing.kind(), ipatlas::ErrorKind::Database);
    let (env, _) = fixture_env();
    env.write("bad.json", "{\"format\":\"ipatlas-tally\",\"version\":7}");
    let bad = ipatlas::Tally::read(env.path("bad.json")).err().unwrap();
    assert_eq!(bad.kind(), ipatlas::ErrorKind::Tally);
    let gone = ipatlas::Tally::read(env.path("gone.json")).err().unwrap();
    assert_eq!(gone.kind(), ipatlas::ErrorKind::Io);
    // An option out of range names the option, not a command-line flag.
    let cell = ipatlas::tally::CellGrid::new(0.0).err().unwrap();
    assert!(
        matches!(cell, ipatlas::Error::Option { name: "cell", .. }),
        "{cell}"
    );
    assert_eq!(cell.kind(), ipatlas::ErrorKind::InvalidInput);
    assert!(!cell.to_string().contains("--"), "{cell}");
}

#[test]
fn values_in_memory_count_and_look_up_like_lines_of_a_file() {
    let (env, fx): (TestEnv, _) = fixture_env();
    let mut text = synthetic_ips(5_000);
    text.push_str("2a00::1\n2a01::/48\nbogus\n300.1.2.3\n10.0.0.1\n1.2.3.0/24\n::ffff:5.5.5.5\n");
    env.write("ips.txt", &text);
    let db = fx.nested.to_str().unwrap();
    env.run(&["aggregate", "--db", db, "ips.txt", "--tally", "cli.json"])
        .ok();
    let (cli, _) = ipatlas::Tally::read(env.path("cli.json")).unwrap();
    let cli_rows = env.run(&["lookup", "--db", db, "ips.txt", "--format", "jsonl"]);
    let cli_rows = cli_rows.ok().stdout;

    let atlas = Atlas::open(&[db], &OpenOptions::default()).unwrap();
    let values: Vec<&str> = text.lines().collect();
    for lookup in [LookupStrategy::Tree, LookupStrategy::Table] {
        let options = RunOptions {
            lookup,
            ..RunOptions::default()
        };
        let tally = atlas.aggregate_values(&values[..], &options).unwrap();
        assert_eq!(tally.counters, cli.counters, "{lookup:?}");
        assert_eq!(places(&tally), places(&cli));
    }
    // The same rows, in the same order, as the lookup command writes.
    let (rows, tally) =
        ipatlas::pipeline::lookup_values(&atlas, &values[..], &RunOptions::default()).unwrap();
    let ours: String = rows
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    assert_eq!(ours, cli_rows);
    assert_eq!(places(&tally), places(&cli));
    // And the same rows from the compiled table.
    let table = RunOptions {
        lookup: LookupStrategy::Table,
        ..RunOptions::default()
    };
    let (from_table, _) = ipatlas::pipeline::lookup_values(&atlas, &values[..], &table).unwrap();
    assert_eq!(from_table, rows);
    // Every value has a row (the prefix one per database network), in order.
    let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(lines.last().copied(), Some(values.len() as u64));

    // Nulls and blanks: counted as skipped, and each has a row saying so.
    let with_nulls = [Some("5.5.5.5"), None, Some(""), Some("# note")];
    let (rows, tally) =
        ipatlas::pipeline::lookup_values(&atlas, &with_nulls[..], &RunOptions::default()).unwrap();
    let status: Vec<(&str, Option<&str>)> =
        rows.iter().map(|r| (r.status.name(), r.reason)).collect();
    assert_eq!(
        status,
        [
            ("found", None),
            ("skipped", Some("null")),
            ("skipped", Some("blank")),
            ("skipped", Some("blank"))
        ]
    );
    assert_eq!((tally.counters.skipped, tally.counters.lines), (3, 4));
}

/// Countries, cells and the summary's figures of a tally, per unit: what a coarse tally
/// must give exactly as a full one does.
fn coarse_figures(t: &ipatlas::Tally) -> String {
    let grid = ipatlas::tally::CellGrid::new(1.0).unwrap();
    let units = [Unit::Addresses, Unit::Subnets64];
    let figures: Vec<String> = units
        .iter()
        .map(|&u| {
            format!(
                "{:?} {:?} {:?} {:?}",
                t.countries(u),
                t.cells(&grid, u),
                t.located_unit(u),
                t.pseudo_countries(u)
            )
        })
        .collect();
    format!("{figures:?} {:?}", t.counters)
}

#[test]
fn a_coarse_run_counts_like_a_full_one_on_every_path() {
    use ipatlas::tally::PlaceDetail;
    let env = TestEnv::new();
    let db = crate::common::maxmind_data("test-data/GeoIP2-City-Test.mmdb");
    let open = || Atlas::open(&[db.to_str().unwrap()], &OpenOptions::default()).unwrap();
    let mut text = Vec::new();
    ipatlas::sample::Sampler::new(&open())
        .unwrap()
        .write(20_000, 7, 0.3, &mut text)
        .unwrap();
    let mut text = String::from_utf8(text).unwrap();
    text.push_str("10.0.0.1\n81.2.69.0/24\n2001:218::/32\n");
    let lines: Vec<&str> = text.lines().collect();
    let run = |atlas: &Atlas, lookup, detail| {
        let options = RunOptions {
            lookup,
            detail,
            cache_dir: Some(env.path("cache")),
            ..RunOptions::default()
        };
        atlas.aggregate_lines(&lines, &options).unwrap()
    };
    let check = |full: &ipatlas::Tally, coarse: &ipatlas::Tally, what: &str| {
        assert_eq!(coarse.detail(), PlaceDetail::Coarse, "{what}");
        assert_eq!(coarse_figures(coarse), coarse_figures(full), "{what}");
        let places = coarse.places();
        assert!(
            places
                .iter()
                .all(|(p, _)| p.details.is_none() && p.accuracy_radius.is_none()),
            "{what}"
        );
        // The test database has places that differ only in city, subdivision or radius.
        assert!(places.len() < full.places().len(), "{what}");
        assert!(full.cities(Unit::Addresses).len() > 1, "{what}");
    };
    // The search tree, then a table built (and cached), then the cached table read in
    // place by a process that opens the database afresh.
    let atlas = open();
    let full = run(&atlas, LookupStrategy::Tree, PlaceDetail::Full);
    check(
        &full,
        &run(&atlas, LookupStrategy::Tree, PlaceDetail::Coarse),
        "tree",
    );
    let built = run(&atlas, LookupStrategy::Table, PlaceDetail::Coarse);
    check(&full, &built, "built table");
    assert_eq!(
        places(&run(&atlas, LookupStrategy::Table, PlaceDetail::Full)),
        places(&full)
    );
    drop(atlas);
    let atlas = open();
    check(
        &full,
        &run(&atlas, LookupStrategy::Table, PlaceDetail::Coarse),
        "cached table",
    );
    assert_eq!(
        atlas.table_source(),
        Some(ipatlas::locate::TableSource::Cache)
    );
    // The whole database, by network size.
    let whole = |detail| {
        let options = RunOptions {
            detail,
            cache_dir: Some(env.path("cache")),
            ..RunOptions::default()
        };
        ipatlas::pipeline::aggregate_whole_db(&atlas, &options).unwrap()
    };
    check(
        &whole(PlaceDetail::Full),
        &whole(PlaceDetail::Coarse),
        "whole database",
    );
}
