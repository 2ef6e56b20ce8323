//! The compiled IPv4 table gives the search tree's answers.

use crate::common::*;
use ipatlas::locate::{
    Answer, Atlas, CountryFallback, Database, FieldOverrides, Ipv4Table, Ipv6Table, NO_RECORD,
    Place,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::AtomicBool;

fn atlas(db: Database) -> Atlas {
    Atlas::new(vec![db], CountryFallback::None).unwrap()
}

/// The tree's record key, decoded place and database network for an address, or None.
fn tree(atlas: &Atlas, ip: u32) -> Option<(u64, Place, ipnetwork::IpNetwork)> {
    let ip = IpAddr::V4(Ipv4Addr::from(ip));
    let key = atlas.record(ip).unwrap().ok()?;
    match atlas.answer(ip).unwrap() {
        Answer::Found { place, network } => Some((key, place, network)),
        Answer::NotFound(_) => None,
    }
}

/// The table's record key, place and network (as `lookup` rows give it) for an address,
/// or None.
fn table_key(table: &Ipv4Table, ip: u32) -> Option<(u64, Place, ipnetwork::IpNetwork)> {
    let id = table.lookup(ip);
    let (same, prefix) = table.lookup_network(ip);
    assert_eq!(same, id);
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    let network = ipnetwork::Ipv4Network::new(Ipv4Addr::from(ip & mask), prefix).unwrap();
    (id != NO_RECORD).then(|| (table.record(id).0, table.place(id), network.into()))
}

#[test]
fn table_and_tree_agree_on_every_network_boundary_of_a_fixture() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    for path in [&fx.nested, &fx.flat_v4] {
        let atlas = atlas(Database::open(path, &FieldOverrides::default()).unwrap());
        let table = Ipv4Table::build(&atlas, &AtomicBool::new(false))
            .unwrap()
            .unwrap();
        let mut probes = vec![0u32, u32::MAX];
        for (net, ..) in NESTED_NETWORKS.iter().chain(&[
            ("9.9.9.0/24", None, None, None),
            ("11.0.0.0/16", None, None, None),
        ]) {
            let Ok(ipnetwork::IpNetwork::V4(n)) = net.parse::<ipnetwork::IpNetwork>() else {
                continue;
            };
            let (first, last) = (u32::from(n.network()), u32::from(n.broadcast()));
            probes.extend([
                first,
                last,
                first.wrapping_sub(1),
                last.wrapping_add(1),
                first + (last - first) / 2,
            ]);
        }
        for ip in probes {
            assert_eq!(
                table_key(&table, ip),
                tree(&atlas, ip),
                "{} in {}",
                Ipv4Addr::from(ip),
                path.display()
            );
        }
    }
}

#[test]
fn table_and_tree_agree_on_a_million_addresses_of_a_real_database() {
    let atlas = atlas(Database::embedded(&FieldOverrides::default()).unwrap());
    let table = Ipv4Table::build(&atlas, &AtomicBool::new(false))
        .unwrap()
        .unwrap();
    assert!(table.record_count() > 200, "{}", table.record_count());
    // Every range boundary of the real database ...
    let starts: Vec<u32> = table.ranges().map(|(start, ..)| start).collect();
    for &s in &starts {
        for ip in [s, s.wrapping_sub(1)] {
            assert_eq!(
                table_key(&table, ip),
                tree(&atlas, ip),
                "{}",
                Ipv4Addr::from(ip)
            );
        }
    }
    // ... and a million addresses spread over all of IPv4.
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..1_000_000 {
        let ip = (next() >> 32) as u32;
        assert_eq!(
            table_key(&table, ip),
            tree(&atlas, ip),
            "{}",
            Ipv4Addr::from(ip)
        );
    }
}

#[test]
fn every_lookup_strategy_gives_the_same_outputs() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let mut text = String::new();
    for i in 0..300_000u32 {
        text.push_str(&format!(
            "{}.{}.{}.{}\n",
            1 + i % 11,
            (i >> 8) & 255,
            i & 255,
            i % 251
        ));
        if i % 5000 == 0 {
            text.push_str("2a00::1\n10.1.2.3\n");
        }
        if i % 7 == 0 {
            text.push_str(&format!("2a00::{:x}\n2001:db8::{:x}\n", i % 9973, i % 251));
        }
    }
    env.write("ips.txt", &text);
    let mut outs = Vec::new();
    for lookup in ["tree", "table", "auto"] {
        env.run(&[
            "aggregate",
            "--db",
            fx.nested.to_str().unwrap(),
            "ips.txt",
            "--lookup",
            lookup,
            "--tally",
            "t.json",
            "--summary",
            "s.json",
        ])
        .ok();
        let mut s = json(&env.read("s.json"));
        for volatile in ["elapsed_s", "decoded_records", "ipv4_table", "ipv6_table"] {
            s.as_object_mut().unwrap().remove(volatile);
        }
        outs.push((env.read("t.json"), s));
    }
    assert_eq!(outs[0], outs[1], "tree vs table");
    assert_eq!(outs[0], outs[2], "tree vs auto");
    // `lookup` rows (place and database network per line) too: with `--lookup table` from
    // a table it builds (its own cache directory holds the file after), with `auto` from
    // that file.
    let rows: Vec<String> = ["tree", "table", "auto"]
        .iter()
        .map(|lookup| {
            let args = [
                "lookup",
                "--db",
                fx.nested.to_str().unwrap(),
                "ips.txt",
                "--lookup",
                lookup,
                "--cache-dir",
                "rows-cache",
            ];
            let out = env.run(&args).ok().stdout;
            let tables = std::fs::read_dir(env.path("rows-cache"))
                .map_or(0, |d| d.filter(|e| e.is_ok()).count());
            assert_eq!(tables, usize::from(*lookup != "tree"), "{lookup}");
            out
        })
        .collect();
    assert!(rows[0].lines().count() > 300_000);
    assert!(rows[0].contains("/24,found"), "rows carry networks");
    assert_eq!(rows[0], rows[1], "lookup: tree vs table");
    assert_eq!(rows[0], rows[2], "lookup: tree vs auto");
}

/// Found by fuzzing (fuzz target `mmdb`): a database whose one record for IPv4 sits above
/// the IPv4 subtree (`::/1` here) was invisible to the table's walk, so `--lookup table`
/// said "not found" where the tree found it.
#[test]
fn an_ipv6_network_covering_all_of_ipv4_is_seen_by_every_path() {
    use mmdb_writer::{Ipv4Aliasing, Value, Writer};
    let env = TestEnv::new();
    let mut w = Writer::builder("Test")
        .ipv4_aliasing(Ipv4Aliasing::Disabled)
        .build();
    let us = Value::map([("country", Value::map([("iso_code", Value::from("US"))]))]);
    w.insert_value("::/1".parse::<ipnet::IpNet>().unwrap(), us)
        .unwrap();
    std::fs::write(env.path("wide.mmdb"), w.to_bytes().unwrap()).unwrap();
    let mut outs = Vec::new();
    for lookup in ["tree", "table"] {
        let r = env
            .run(&[
                "lookup",
                "--db",
                "wide.mmdb",
                "--lookup",
                lookup,
                "1.2.3.4",
                "200.0.0.1",
            ])
            .ok();
        assert!(r.stdout.contains("1.2.3.4,US"), "{lookup}: {}", r.stdout);
        assert!(r.stdout.contains("200.0.0.1,US"), "{lookup}: {}", r.stdout);
        env.write("ips.txt", "1.2.3.4\n200.0.0.1\n9.9.9.9\n");
        let a = env
            .run(&[
                "aggregate",
                "--db",
                "wide.mmdb",
                "ips.txt",
                "--lookup",
                lookup,
            ])
            .ok();
        outs.push(a.stdout);
        // Rows from a file (through the table with `table`), networks included.
        let rows = env
            .run(&["lookup", "--db", "wide.mmdb", "ips.txt", "--lookup", lookup])
            .ok();
        outs.push(rows.stdout);
    }
    assert_eq!(outs[0], outs[2]);
    assert_eq!(outs[1], outs[3], "lookup rows: tree vs table");
    assert!(outs[0].contains("US,3,"), "{}", outs[0]);
    // The whole IPv4 space through the table, and the export, see it too.
    env.run(&[
        "aggregate",
        "--db",
        "wide.mmdb",
        "--whole-db",
        "--summary",
        "s.json",
    ])
    .ok();
    assert_eq!(json(&env.read("s.json"))["found"], 1u64 << 32);
    env.run(&["export", "--db", "wide.mmdb", "-o", "x"]).ok();
    assert!(env.read("x/Test-Blocks-IPv4.csv").contains("\n0.0.0.0/0,"));
}

/// The tree's record key and place for an IPv6 address, or None.
fn tree6(atlas: &Atlas, ip: u128) -> Option<(u64, Place)> {
    let ip = IpAddr::V6(Ipv6Addr::from(ip));
    let key = atlas.record(ip).unwrap().ok()?;
    match atlas.answer(ip).unwrap() {
        Answer::Found { place, .. } => Some((key, place)),
        Answer::NotFound(_) => None,
    }
}

/// What a run counts for an IPv6 address with the IPv6 table: the table's record, or where
/// it leaves the answer to the tree, the tree's. Also says whether the table answered.
fn table6_answer(atlas: &Atlas, table: &Ipv6Table, ip: u128) -> (Option<(u64, Place)>, bool) {
    match table.lookup(ip) {
        NO_RECORD => (tree6(atlas, ip), false),
        id => (Some((table.record(id).0, table.place(id))), true),
    }
}

#[test]
fn the_ipv6_table_gives_the_trees_answers_on_every_range_and_a_million_addresses() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let city = maxmind_data("test-data/GeoIP2-City-Test.mmdb");
    for db in [
        Database::embedded(&FieldOverrides::default()).unwrap(),
        Database::open(&city, &FieldOverrides::default()).unwrap(),
        Database::open(&fx.nested, &FieldOverrides::default()).unwrap(),
    ] {
        let label = db.label().to_owned();
        let atlas = atlas(db);
        let table = Ipv6Table::build(&atlas, &AtomicBool::new(false))
            .unwrap()
            .unwrap();
        // Every range's first and last address, and their neighbours.
        let starts: Vec<u128> = table.ranges().map(|(start, _)| start).collect();
        let mut answered = 0usize;
        let mut probes: Vec<u128> = vec![0, 1 << 32, u128::MAX];
        for &s in &starts {
            probes.extend([s, s.wrapping_sub(1), s.wrapping_add(1)]);
        }
        // A million addresses over 2000::/3 (where networks are), and the special prefixes
        // the table leaves to the tree: 6to4, Teredo, IPv4-compatible.
        let mut x: u128 = 0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C834;
        for _ in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            probes.push((0x2u128 << 124) | (x >> 3));
        }
        for p in [
            "2002:102:304::1",
            "2001:0:102:304::1",
            "::1.2.3.4",
            "::1",
            "fe80::1",
        ] {
            probes.push(u128::from(p.parse::<Ipv6Addr>().unwrap()));
        }
        for &ip in &probes {
            let (got, by_table) = table6_answer(&atlas, &table, ip);
            answered += usize::from(by_table);
            assert_eq!(got, tree6(&atlas, ip), "{} in {label}", Ipv6Addr::from(ip));
        }
        assert!(table.range_count() > 1, "{label}");
        assert!(answered > 0, "{label}: the table answered nothing");
        // Looked up together, in batches of several sizes, the answers are the same.
        let single: Vec<u32> = probes.iter().map(|&ip| table.lookup(ip)).collect();
        for size in [1, 63, 64, 256, 10_000] {
            let mut got = vec![0u32; probes.len()];
            for (ips, out) in probes.chunks(size).zip(got.chunks_mut(size)) {
                table.lookup_batch(ips, out);
            }
            assert!(got == single, "{label}: batches of {size} differ");
        }
    }
}
