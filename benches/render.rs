//! Tally merging and map rendering: the work after the lookups.

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use ipatlas::basemap::{Basemap, Detail};
use ipatlas::pipeline::{self, Families};
use ipatlas::render::{MapOptions, Mode, render};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let atlas = common::embedded_atlas();
    // The embedded database's whole IPv4 space: a tally with one place per country.
    let tally = pipeline::aggregate_whole_db(
        &atlas,
        &pipeline::RunOptions {
            family: Families::Ipv4,
            ..pipeline::RunOptions::default()
        },
    )
    .expect("whole db");
    assert!(tally.countries(ipatlas::tally::Unit::Addresses).len() > 200);
    let mut g = c.benchmark_group("tally");
    g.bench_function("merge_250_places", |b| {
        b.iter(|| {
            let mut t = tally.clone();
            t.merge(&tally);
            black_box(t)
        })
    });
    g.finish();
    let basemap = Basemap::embedded(Detail::World).expect("basemap");
    let mut g = c.benchmark_group("render");
    g.sample_size(10);
    g.bench_function("choropleth_1600px", |b| {
        let opts = MapOptions {
            mode: Mode::Choropleth,
            ..MapOptions::default()
        };
        b.iter(|| {
            let (pixmap, report) = render(&tally, &basemap, &atlas.infos(), &opts).expect("render");
            assert!(report.drawn > 0);
            black_box(pixmap)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
