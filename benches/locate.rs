//! Lookup throughput through the search tree with the decode-once cache, and the whole
//! aggregate pipeline, on the embedded database.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipatlas::input::{Item, parse_item};
use ipatlas::locate::{Ipv4Table, Ipv6Table, NO_RECORD};
use ipatlas::pipeline::{self, RunOptions};
use std::hint::black_box;
use std::sync::atomic::AtomicBool;

fn locate(c: &mut Criterion) {
    let atlas = common::embedded_atlas();
    let text = common::ipv4_lines(100_000);
    let ips: Vec<_> = text
        .split(|c| *c == b'\n')
        .filter_map(|l| match parse_item(l) {
            Ok(Item::Addr(ip)) => Some(ip),
            _ => None,
        })
        .collect();
    assert_eq!(ips.len(), 100_000);
    let mut g = c.benchmark_group("locate");
    g.throughput(Throughput::Elements(ips.len() as u64));
    g.bench_function("tree_lookup", |b| {
        b.iter(|| {
            let mut found = 0u32;
            for ip in &ips {
                if let Ok(Ok(_)) = atlas.record(*ip) {
                    found += 1;
                }
            }
            assert!(found > 50_000, "most of IPv4 is in the database");
            black_box(found)
        })
    });
    let table = Ipv4Table::build(&atlas, &AtomicBool::new(false))
        .expect("build")
        .expect("IPv4 table");
    let v4: Vec<u32> = ips
        .iter()
        .filter_map(|ip| match ip {
            std::net::IpAddr::V4(v) => Some(u32::from(*v)),
            _ => None,
        })
        .collect();
    g.bench_function("table_lookup", |b| {
        b.iter(|| {
            let found = v4
                .iter()
                .filter(|ip| table.lookup(**ip) != NO_RECORD)
                .count();
            assert!(found > 50_000, "most of IPv4 is in the database");
            black_box(found)
        })
    });
    // IPv6 addresses inside the database's networks: one in each of 100,000 ranges picked
    // at random, so wide blocks of the table are met as often as they hold ranges.
    let table6 = Ipv6Table::build(&atlas, &AtomicBool::new(false))
        .expect("build")
        .expect("IPv6 table");
    let ranges: Vec<u128> = table6
        .ranges()
        .filter(|&(_, id)| id != NO_RECORD)
        .map(|(start, _)| start)
        .collect();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let v6: Vec<u128> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ranges[(x % ranges.len() as u64) as usize] | u128::from(x & 0xff)
        })
        .collect();
    let mut out = vec![0u32; v6.len()];
    g.bench_function("table6_lookup_batch", |b| {
        b.iter(|| {
            for (ips, out) in v6.chunks(256).zip(out.chunks_mut(256)) {
                table6.lookup_batch(ips, out);
            }
            let found = out.iter().filter(|id| **id != NO_RECORD).count();
            assert!(found > 90_000, "addresses inside networks are found");
            black_box(found)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("table");
    g.sample_size(10);
    g.bench_function("build_embedded", |b| {
        b.iter(|| {
            let t = Ipv4Table::build(&atlas, &AtomicBool::new(false))
                .expect("build")
                .expect("table");
            assert!(t.record_count() > 200);
            black_box(t.range_count())
        })
    });
    g.finish();

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ips.txt");
    std::fs::write(&path, &text).expect("write input");
    let inputs = vec![ipatlas::input::Input::Path(path.clone())];
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(100_000));
    g.sample_size(20);
    g.bench_function("aggregate_100k_lines", |b| {
        b.iter(|| {
            let tally =
                pipeline::aggregate(&atlas, &inputs, &RunOptions::default(), None).expect("run");
            assert_eq!(tally.counters.lines, 100_000);
            black_box(tally)
        })
    });
    g.finish();
}

criterion_group!(benches, locate);
criterion_main!(benches);
