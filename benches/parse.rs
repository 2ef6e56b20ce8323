//! Parsing throughput: lines of text to addresses (no lookup).

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipatlas::input::{Item, parse_item, trim};
use std::hint::black_box;

fn parse(c: &mut Criterion) {
    let text = common::ipv4_lines(100_000);
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("ipv4_lines", |b| {
        b.iter(|| {
            let mut n = 0u32;
            for line in text.split(|c| *c == b'\n') {
                if let Ok(Item::Addr(_)) = parse_item(trim(line)) {
                    n += 1;
                }
            }
            assert_eq!(n, 100_000);
            black_box(n)
        })
    });
    let text = common::ipv6_lines(100_000);
    g.bench_function("ipv6_lines", |b| {
        b.iter(|| {
            let mut n = 0u32;
            for line in text.split(|c| *c == b'\n') {
                if let Ok(Item::Addr(_)) = parse_item(trim(line)) {
                    n += 1;
                }
            }
            assert_eq!(n, 100_000);
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
