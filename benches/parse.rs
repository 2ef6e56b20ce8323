//! Parsing throughput: lines of text to addresses (no lookup).

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipatlas::input::{Chunk, Columns, Event, InputMode, Item, ipv4_line, parse_item, scan, trim};
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

/// Reads `text` as line input does (fast paths first, the general parser for the rest),
/// asserting that all 100,000 lines are addresses.
fn scan_all(text: &[u8]) -> u64 {
    let chunk = Chunk {
        seq: 0,
        input: 0,
        first_line: 1,
        data: text.to_vec(),
        long_line: None,
    };
    let mut n = 0u64;
    scan(&chunk, &InputMode::Lines, Columns::default(), |_, event| {
        if let Event::Item(Item::Addr(_)) = event {
            n += 1;
        }
        Ok(())
    })
    .expect("line input");
    assert_eq!(n, 100_000);
    n
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
    g.bench_function("ipv6_line_input", |b| b.iter(|| black_box(scan_all(&ipv6))));
    g.bench_function("ipv4_line_input", |b| b.iter(|| black_box(scan_all(&ipv4))));
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
