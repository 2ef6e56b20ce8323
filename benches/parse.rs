//! Parsing throughput: lines of text to addresses (no lookup).

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipatlas::input::{Item, parse_item, trim};
use std::hint::black_box;

/// Parses every line of `text`, asserting that all 100,000 are addresses.
fn parse_all(text: &[u8]) -> u32 {
    let mut n = 0u32;
    for line in text.split(|c| *c == b'\n') {
        if let Ok(Item::Addr(_)) = parse_item(trim(line)) {
            n += 1;
        }
    }
    assert_eq!(n, 100_000);
    n
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(100_000));
    let ipv4 = common::ipv4_lines(100_000);
    g.bench_function("ipv4_lines", |b| b.iter(|| black_box(parse_all(&ipv4))));
    let ipv6 = common::ipv6_lines(100_000);
    g.bench_function("ipv6_lines", |b| b.iter(|| black_box(parse_all(&ipv6))));
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
