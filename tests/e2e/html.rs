//! The interactive page (`map.html`, `render -o view.html`): self-contained, every layer's
//! features as the tally bins them, text escaped, a size limit that leaves layers out and
//! says so. The page's behaviour in a browser is tested in tests/browser (headless Chromium).

use crate::common::*;

/// The features of one layer group in a page: the elements with a count.
fn group_counts(page: &str, id: &str) -> Vec<u128> {
    let Some(start) = page.find(&format!(r#"<g id="{id}""#)) else {
        return Vec::new();
    };
    let end = start + page[start..].find("</g>").expect("group closes");
    page[start..end]
        .split("data-n=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// Land paths the countries layer colours (class `kN`).
fn filled_countries(page: &str) -> usize {
    let start = page.find(r#"<g id="land">"#).expect("land");
    let end = start + page[start..].find("</g>").unwrap();
    page[start..end].matches(r#"<path class="k"#).count()
}

fn features(summary: &serde_json::Value, id: &str) -> (u64, bool) {
    let layer = summary["html"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap_or_else(|| panic!("no {id} layer"));
    (
        layer["features"].as_u64().unwrap(),
        layer["dropped"].as_bool().unwrap(),
    )
}

/// A page must fetch nothing: no external references of any kind.
#[track_caller]
fn assert_self_contained(page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.trim_end().ends_with("</html>"));
    for needle in [
        "src=",
        "href=\"",
        "<link",
        "url(",
        "@import",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(!page.contains(needle), "the page contains {needle:?}");
    }
    assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none'"));
}

#[test]
fn map_writes_a_page_whose_layers_hold_the_tallys_features() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    // US (Kansas default), DE, FR twice, JP (registered only: no country), GB.
    env.write(
        "ips.txt",
        "1.0.0.1\n2.0.0.1\n5.5.5.5\n5.5.5.6\n3.1.1.1\n2a00::1\n",
    );
    env.run(&[
        "map",
        "--db",
        fx.nested.to_str().unwrap(),
        "ips.txt",
        "-o",
        "out",
        "--width",
        "400",
        "--cell",
        "5",
        "--quiet",
    ])
    .ok();
    let page = env.read("out/map.html");
    assert_self_contained(&page);
    let summary = json(&env.read("out/summary.json"));
    assert_eq!(
        summary["html"]["bytes"].as_u64().unwrap() as usize,
        page.len()
    );
    assert_eq!(summary["html"]["shown"], "points");
    // Cells: one per cell of cells.geojson, with its count.
    let cells_geojson = json(&env.read("out/cells.geojson"));
    let cells = cells_geojson["features"].as_array().unwrap();
    let page_cells = group_counts(&page, "L-cells");
    assert_eq!(page_cells.len(), cells.len());
    assert_eq!(features(&summary, "cells"), (cells.len() as u64, false));
    let mut want: Vec<u128> = cells
        .iter()
        .map(|f| f["properties"]["count"].as_u64().unwrap().into())
        .collect();
    let mut got = page_cells.clone();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want);
    assert_eq!(got.iter().sum::<u128>(), 6, "every address has coordinates");
    // Countries: the countries with a count and a polygon (JP's address has none).
    let countries_geojson = json(&env.read("out/countries.geojson"));
    let with_count = countries_geojson["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["count"].as_u64().unwrap_or(0) > 0)
        .count();
    assert_eq!(with_count, 4, "US, DE, FR, GB");
    assert_eq!(filled_countries(&page), with_count);
    assert_eq!(features(&summary, "countries"), (4, false));
    // Hexagons: as the hex GeoJSON layer at the same resolution.
    env.run(&[
        "geojson",
        "--db",
        fx.nested.to_str().unwrap(),
        "ips.txt",
        "--layer",
        "hex",
        "-o",
        "hex.geojson",
        "--quiet",
    ])
    .ok();
    let hex = json(&env.read("hex.geojson"));
    let page_hex = group_counts(&page, "L-hex");
    assert_eq!(page_hex.len(), hex["features"].as_array().unwrap().len());
    assert_eq!(page_hex.iter().sum::<u128>(), 6);
    // Points: five places, far enough apart for a pixel each at 400 px.
    let points = group_counts(&page, "L-points");
    assert_eq!(points.len(), 5);
    assert_eq!(points.iter().sum::<u128>(), 6);
    assert_eq!(features(&summary, "points"), (5, false));
    // The page's data names the layers with their legends.
    assert!(page.contains(r#""barLabel":"addresses per 5° cell""#));
    assert!(page.contains(r#""barLabel":"addresses per H3 cell (resolution 3)""#));
    // --only map.html writes just the page.
    env.run(&[
        "map",
        "--db",
        fx.nested.to_str().unwrap(),
        "ips.txt",
        "-o",
        "only",
        "--only",
        "map.html",
        "--quiet",
    ])
    .ok();
    let written: Vec<_> = std::fs::read_dir(env.path("only"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(written, ["map.html"]);
}

#[test]
fn render_writes_a_page_with_the_title_escaped() {
    let env = TestEnv::new();
    tally_with(&env, "t.json", &[(48.85, 2.35, 7)]);
    let title = r#"</script><script>alert(1)</script> & "quoted" 東京"#;
    env.run(&[
        "render",
        "t.json",
        "-o",
        "view.html",
        "--title",
        title,
        "--mode",
        "cells",
    ])
    .ok();
    let page = env.read("view.html");
    assert_self_contained(&page);
    assert!(
        !page.contains("<script>alert(1)"),
        "the title is not escaped"
    );
    assert!(page.contains(
        "<h1 id=\"title\">&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; 東京</h1>"
    ));
    // Exactly the two script elements of the page itself.
    assert_eq!(page.matches("<script").count(), 2);
    assert!(
        page.contains(r#"class="show-cells""#),
        "--mode picks the layer shown"
    );
    assert_eq!(group_counts(&page, "L-cells"), [7]);
    // A bare page: --no-legend hides the words.
    env.run(&["render", "t.json", "-o", "bare.html", "--no-legend"])
        .ok();
    assert!(env.read("bare.html").contains(r#"<body class="bare">"#));
    // The format error names .html among the choices.
    let r = env.run(&["render", "t.json", "-o", "view.svgz"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(".html"), "{}", r.stderr);
    for bad in ["0", "-1", "nan", "5000"] {
        let r = env.run(&["render", "t.json", "-o", "v.html", "--html-max-mb", bad]);
        assert_eq!(r.code, 2, "--html-max-mb {bad}: {}", r.stderr);
        assert!(!env.path("v.html").exists());
    }
}

#[test]
fn a_page_past_its_size_limit_leaves_layers_out_and_says_so() {
    let env = TestEnv::new();
    // 20,000 places on a lattice over the inhabited latitudes: many cells, hexagons and
    // lit pixels.
    let places: Vec<(f64, f64, u64)> = (0..20_000u32)
        .map(|i| {
            let (row, col) = (f64::from(i / 200), f64::from(i % 200));
            (
                -55.0 + row * 1.3,
                -179.0 + col * 1.79,
                u64::from(1 + i % 50),
            )
        })
        .collect();
    tally_with(&env, "t.json", &places);
    let r = env
        .run(&["render", "t.json", "-o", "full.html", "--width", "800"])
        .ok();
    assert!(!r.stderr.contains("left out"), "{}", r.stderr);
    let full = env.read("full.html");
    let points = group_counts(&full, "L-points").len();
    assert!(points > 10_000, "{points} lit pixels");
    // A limit below the full page: the points go first, and the page says so.
    let limit_mb = (full.len() as f64 / 1e6 * 0.8).max(0.1);
    let limit = format!("{limit_mb:.3}");
    let r = env
        .run(&[
            "render",
            "t.json",
            "-o",
            "small.html",
            "--width",
            "800",
            "--html-max-mb",
            &limit,
        ])
        .ok();
    assert!(
        r.stderr.contains("The points layer (") && r.stderr.contains("is left out"),
        "{}",
        r.stderr
    );
    let small = env.read("small.html");
    assert!(
        small.len() as f64 <= limit_mb * 1e6,
        "{} bytes",
        small.len()
    );
    assert!(!small.contains(r#"id="L-points""#));
    assert!(
        small.contains(r#"class="show-countries""#),
        "the points were to be shown"
    );
    assert!(small.contains("The points layer ("), "the page says so");
    assert!(!group_counts(&small, "L-cells").is_empty());
    // A limit no layer can meet: every heat layer goes, the page says it is still over.
    let r = env
        .run(&[
            "render",
            "t.json",
            "-o",
            "tiny.html",
            "--html-max-mb",
            "0.1",
        ])
        .ok();
    assert!(
        r.stderr.contains("even without its heat layers"),
        "{}",
        r.stderr
    );
    let tiny = env.read("tiny.html");
    for layer in ["L-points", "L-hex", "L-cells"] {
        assert!(!tiny.contains(&format!(r#"id="{layer}""#)), "{layer} kept");
    }
}

#[test]
fn an_empty_input_gives_an_empty_but_valid_page() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    env.write("empty.txt", "");
    env.run(&[
        "map",
        "--db",
        fx.nested.to_str().unwrap(),
        "empty.txt",
        "-o",
        "out",
        "--only",
        "map.html,summary.json",
        "--quiet",
    ])
    .ok();
    let page = env.read("out/map.html");
    assert_self_contained(&page);
    let summary = json(&env.read("out/summary.json"));
    for id in ["countries", "cells", "hex", "points"] {
        assert_eq!(features(&summary, id), (0, false), "{id}");
    }
    assert_eq!(filled_countries(&page), 0);
    assert!(page.contains(r#""subtitle":"0 addresses drawn"#));
}
