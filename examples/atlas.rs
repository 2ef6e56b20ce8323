//! ipatlas as a library: aggregate a file, merge two tallies, write the merged tally and
//! render it as a PNG.
//!
//! ```sh
//! cargo run --release --example atlas -- ips.txt more-ips.txt.gz map.png
//! cargo run --release --example atlas            # makes its own inputs in a temp dir
//! ```

use ipatlas::Tally;
use ipatlas::input::Input;
use ipatlas::locate::{Atlas, OpenOptions};
use ipatlas::pipeline::{RunOptions, aggregate};
use ipatlas::render::{MapOptions, Mode, render_png};
use ipatlas::tally::Unit;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let scratch = std::env::temp_dir().join(format!("ipatlas-example-{}", std::process::id()));
    let (first, second, png) = match args.as_slice() {
        [a, b, out] => (a.clone(), b.clone(), out.clone()),
        _ => {
            std::fs::create_dir_all(&scratch)?;
            let a = scratch.join("a.txt");
            let b = scratch.join("b.txt");
            std::fs::write(&a, "8.8.8.8\n1.1.1.1\n81.2.69.160\n")?;
            std::fs::write(&b, "2001:4860::8888\n203.0.113.9\nnot an address\n")?;
            (a, b, scratch.join("map.png"))
        }
    };

    // The embedded DB-IP country database; name .mmdb files or CSV databases instead.
    let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
    let options = RunOptions::default();

    // Each file on its own (as shards on two machines would be), then merged.
    let mut tally: Tally = aggregate(&atlas, &[Input::Path(first)], &options, None)?;
    let other = aggregate(&atlas, &[Input::Path(second)], &options, None)?;
    tally.merge(&other);
    let tally = tally.checked()?;

    for (country, n) in tally.countries(Unit::Addresses).iter().take(5) {
        println!("{country} {n}");
    }
    println!(
        "{} lines, {} invalid",
        tally.counters.lines,
        tally.counters.invalid_total()
    );

    let mut file = Vec::new();
    tally.write(atlas.infos(), &mut file)?;
    std::fs::write(png.with_extension("tally.json"), &file)?;

    let map = MapOptions {
        mode: Mode::Choropleth,
        width: 800,
        title: Some("Two shards, merged".into()),
        ..MapOptions::default()
    };
    let (bytes, report) = render_png(&tally, &atlas.infos(), &map)?;
    std::fs::write(&png, bytes)?;
    println!("{}: {}", png.display(), report.subtitle);
    Ok(())
}
