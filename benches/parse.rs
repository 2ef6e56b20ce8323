//! Parsing throughput: lines of text to addresses (no lookup).

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipatlas::input::{Item, ipv4_line, parse_item, trim};
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

/// Reads every line of `text` on the dotted-quad fast path of line input, asserting that
/// all 100,000 take it.
fn fast_all(text: &[u8]) -> u32 {
    let (mut n, mut pos, mut sum) = (0u32, 0usize, 0u32);
    while pos < text.len() {
        let (ip, next) = ipv4_line(text, pos).expect("a dotted quad");
        sum = sum.wrapping_add(ip);
        pos = next;
        n += 1;
    }
    assert_eq!(n, 100_000);
    sum
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(100_000));
    let ipv4 = common::ipv4_lines(100_000);
    g.bench_function("ipv4_lines", |b| b.iter(|| black_box(parse_all(&ipv4))));
    g.bench_function("ipv4_line_fast_path", |b| {
        b.iter(|| black_box(fast_all(&ipv4)))
    });
    let ipv6 = common::ipv6_lines(100_000);
    g.bench_function("ipv6_lines", |b| b.iter(|| black_box(parse_all(&ipv6))));
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
