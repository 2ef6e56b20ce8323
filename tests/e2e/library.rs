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
