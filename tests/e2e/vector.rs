//! SVG and PDF maps: the PNG's layout as shapes, text and images, opened as a reader would
//! (resvg for the SVG; poppler's tools, installed by scripts/fetch-test-data.sh, for the PDF).

use crate::common::*;
use std::path::Path;
use std::process::Command;

/// A world of places: a lattice over the land masses' latitudes, heavier towards a few
/// cities, so the points layer has content everywhere and a range of counts.
fn world_places() -> Vec<(&'static str, f64, f64, u64)> {
    let mut places = Vec::new();
    for i in 0u32..24 {
        for j in 0u32..48 {
            let lat = -45.0 + f64::from(i) * 4.6;
            let lon = -175.0 + f64::from(j) * 7.3;
            places.push(("FR", lat, lon, 1 + u64::from((i * 7 + j * 13) % 50)));
        }
    }
    for (lat, lon, n) in [
        (48.86, 2.35, 5000),
        (40.71, -74.01, 8000),
        (35.68, 139.69, 6000),
        (-23.55, -46.63, 3000),
    ] {
        places.push(("FR", lat, lon, n));
    }
    places
}

/// Runs a poppler tool on a file; a missing tool fails the test (the fetch step installs
/// them).
fn poppler(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("{tool}: {e}: run scripts/fetch-test-data.sh (installs poppler-utils)")
    });
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The first page of a PDF as pixels, at `dpi`, drawn by poppler's cairo backend
/// (`pdftocairo`). Its other backend (`pdftoppm`, Splash) smooths every image with a soft
/// mask, /Interpolate false or not, which blurs the points layer by half a pixel; cairo
/// draws it pixel for pixel, as Acrobat and pdf.js do. [`pdf_page_splash`] draws with the
/// other one.
fn pdf_page(pdf: &Path, dpi: f64) -> tiny_skia::Pixmap {
    rasterise("pdftocairo", pdf, dpi)
}

/// The first page of a PDF drawn by `pdftoppm`.
fn pdf_page_splash(pdf: &Path, dpi: f64) -> tiny_skia::Pixmap {
    rasterise("pdftoppm", pdf, dpi)
}

fn rasterise(tool: &str, pdf: &Path, dpi: f64) -> tiny_skia::Pixmap {
    let stem = pdf.with_extension(tool);
    let stem = stem.to_str().unwrap();
    poppler(
        tool,
        &[
            "-r",
            &dpi.to_string(),
            "-png",
            "-singlefile",
            "-f",
            "1",
            pdf.to_str().unwrap(),
            stem,
        ],
    );
    decode(Path::new(&format!("{stem}.png")))
}

/// An SVG drawn by resvg with the map's fonts (DejaVu Sans from the repository, and
/// `extra`), `width` pixels wide.
fn svg_pixels(svg: &Path, width: u32, extra: Option<&Path>) -> tiny_skia::Pixmap {
    let mut options = resvg::usvg::Options::default();
    let fonts = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fonts");
    for face in ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"] {
        options
            .fontdb_mut()
            .load_font_data(std::fs::read(fonts.join(face)).unwrap());
    }
    if let Some(f) = extra {
        options
            .fontdb_mut()
            .load_font_data(std::fs::read(f).unwrap());
    }
    let text = std::fs::read_to_string(svg).unwrap();
    let tree = resvg::usvg::Tree::from_str(&text, &options).expect("the SVG parses");
    let scale = width as f32 / tree.size().width();
    let height = (tree.size().height() * scale).round() as u32;
    let mut pixmap = tiny_skia::Pixmap::new(width, height).unwrap();
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
}

/// The share of pixels whose colours, each averaged over its 3 x 3 neighbourhood, differ by
/// more than `threshold` in some channel. The averaging forgives what readers do their own
/// way (anti-aliasing, and poppler smooths embedded images by half a pixel) and keeps what
/// matters: a shape, a label or a point out of place, or a colour wrong.
fn differing(a: &tiny_skia::Pixmap, b: &tiny_skia::Pixmap, threshold: u8) -> f64 {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()), "sizes");
    let (w, h) = (a.width() as i64, a.height() as i64);
    let mean = |p: &tiny_skia::Pixmap, x: i64, y: i64| {
        let mut sum = [0u32; 3];
        let mut n = 0;
        for (dx, dy) in (-1..=1).flat_map(|dx| (-1..=1).map(move |dy| (dx, dy))) {
            let (xx, yy) = (x + dx, y + dy);
            if (0..w).contains(&xx) && (0..h).contains(&yy) {
                let c = p.pixel(xx as u32, yy as u32).unwrap().demultiply();
                sum[0] += u32::from(c.red());
                sum[1] += u32::from(c.green());
                sum[2] += u32::from(c.blue());
                n += 1;
            }
        }
        sum.map(|s| s / n)
    };
    let mut bad = 0usize;
    for y in 0..h {
        for x in 0..w {
            let (p, q) = (mean(a, x, y), mean(b, x, y));
            if (0..3).any(|i| p[i].abs_diff(q[i]) > u32::from(threshold)) {
                bad += 1;
            }
        }
    }
    bad as f64 / (w * h) as f64
}

/// Asserts that a vector file drawn by a reader (`drawn`) looks like the PNG: at most 1% of
/// pixels differ by more than 32 in a channel ([`differing`]). On a mismatch both are saved
/// beside the test output.
fn assert_close(drawn: &tiny_skia::Pixmap, png: &tiny_skia::Pixmap, name: &str) {
    let share = differing(drawn, png, 32);
    if share >= 0.01 {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        drawn
            .save_png(dir.join(format!("{name}-drawn.png")))
            .unwrap();
        png.save_png(dir.join(format!("{name}-png.png"))).unwrap();
        panic!(
            "{name} differs from the PNG in {share:.4} of pixels (both in {})",
            dir.display()
        );
    }
}

fn save(pixmap: &tiny_skia::Pixmap, env: &TestEnv, name: &str) -> std::path::PathBuf {
    let path = env.path(name);
    pixmap.save_png(&path).unwrap();
    path
}

const NOTE: &str = "The boundaries and names shown and the designations used on this map do not imply official endorsement or acceptance.";

#[test]
fn svg_and_pdf_have_the_png_layout_with_text_as_text_and_fonts_embedded() {
    let env = TestEnv::new();
    let t = tally_of(&env, "world.json", &world_places());
    let r = env
        .run(&[
            "map",
            &t,
            "-o",
            "out",
            "--only",
            "map.png,map.svg,map.pdf,summary.json",
            "--width",
            "640",
            "--spread",
            "2",
            "--graticule",
            "--title",
            "Places & <tags> in a world",
            "--note",
            NOTE,
        ])
        .ok();
    assert!(
        r.stderr.is_empty() || !r.stderr.contains("warning"),
        "{}",
        r.stderr
    );
    let png = decode(&env.path("out/map.png"));
    let (w, h) = (png.width(), png.height());

    // The SVG: parses, has the PNG's size (at 96 pixels per inch) and layout.
    let svg_text = env.read("out/map.svg");
    assert!(svg_text.starts_with("<?xml"), "{}", &svg_text[..100]);
    assert!(
        svg_text.contains(&format!("viewBox=\"0 0 {w} {h}\"")),
        "{}",
        &svg_text[..400]
    );
    // Text as text (escaped), countries as paths, the points as one embedded image.
    assert!(svg_text.contains("Places &amp; &lt;tags&gt; in a world</text>"));
    assert!(svg_text.contains("<title>Places &amp; &lt;tags&gt; in a world</title>"));
    assert!(svg_text.contains("<desc>51,374 addresses drawn · "));
    assert!(svg_text.contains("do not imply official endorsement or acceptance.</text>"));
    assert!(svg_text.matches("<path ").count() > 150);
    assert!(svg_text.contains("<image ") && svg_text.contains("data:image/png;base64,"));
    let svg = svg_pixels(&env.path("out/map.svg"), w, None);
    assert_close(&svg, &png, "world-svg");
    assert_matches_reference(&save(&svg, &env, "svg.png"), "vector-world-svg.png");

    // The PDF: one page of the PNG's size at 96 pixels per inch, the same picture.
    let pdf = env.path("out/map.pdf");
    let info = poppler("pdfinfo", &[pdf.to_str().unwrap()]);
    assert!(info.contains("Pages:           1"), "{info}");
    // The document says what it is: the map's title, its subtitle, and what made it.
    assert!(
        info.contains("Title:           Places & <tags> in a world\n"),
        "{info}"
    );
    assert!(
        info.contains("Subject:         51,374 addresses drawn"),
        "{info}"
    );
    assert!(info.contains("Creator:         ipatlas "), "{info}");
    let points = |px: u32| f64::from(px) * 72.0 / 96.0;
    assert!(
        info.contains(&format!(
            "Page size:       {} x {} pts",
            trim(points(w)),
            trim(points(h))
        )),
        "{info}"
    );
    let page = pdf_page(&pdf, 96.0);
    assert_close(&page, &png, "world-pdf");
    assert_matches_reference(&save(&page, &env, "pdf.png"), "vector-world-pdf.png");
    // Its fonts are embedded subsets, and its text is text a reader extracts.
    let fonts = poppler("pdffonts", &[pdf.to_str().unwrap()]);
    for face in ["DejaVuSans ", "DejaVuSans-Bold "] {
        let line = fonts
            .lines()
            .find(|l| l.contains(&format!("+{face}")))
            .unwrap_or_else(|| panic!("{face}: {fonts}"));
        let cols: Vec<&str> = line.split_whitespace().collect();
        // name, type (2 words), encoding, emb, sub, uni, object id (2)
        assert_eq!(&cols[4..7], ["yes", "yes", "yes"], "{line}");
    }
    let text = poppler("pdftotext", &[pdf.to_str().unwrap(), "-"]);
    assert!(text.contains("Places & <tags> in a world"), "{text}");
    assert!(text.contains("addresses per pixel"), "{text}");
    assert!(text.contains("do not imply official endorsement"), "{text}");

    // The summary reports the map once, as the PNG's.
    let m = json(&env.read("out/summary.json"))["map"].clone();
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(u64::from(w)), Some(u64::from(h)))
    );
}

/// Points with two decimals at most, as pdfinfo prints them.
fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[test]
fn a_print_size_sets_the_pdf_page_and_the_svg_size() {
    let env = TestEnv::new();
    let t = tally_of(&env, "world.json", &world_places());
    for name in ["m.svg", "m.pdf"] {
        env.run(&[
            "render", &t, "-o", name, "--size", "180mm", "--dpi", "150", "--mode", "cells",
            "--cell", "5",
        ])
        .ok();
    }
    // 180 mm at 150 dpi is 1063 pixels, so the page is 1063 / 150 inches = 180.001 mm wide.
    let svg = env.read("m.svg");
    assert!(svg.contains("width=\"180.001mm\""), "{}", &svg[..400]);
    assert!(svg.contains("viewBox=\"0 0 1063 "), "{}", &svg[..400]);
    let info = poppler("pdfinfo", &[env.path("m.pdf").to_str().unwrap()]);
    assert!(info.contains("Page size:       510.24 x "), "{info}");
    // Cells are paths in both (no embedded image: nothing is drawn as pixels but the bar).
    assert_eq!(
        svg.matches("<image ").count(),
        1,
        "only the colour bar is pixels"
    );
    // Cells and text (no image with a soft mask): both of poppler's backends draw the PNG.
    env.run(&[
        "render", &t, "-o", "m.png", "--size", "180mm", "--dpi", "150", "--mode", "cells",
        "--cell", "5",
    ])
    .ok();
    let png = decode(&env.path("m.png"));
    assert_eq!(png.width(), 1063);
    assert_close(
        &pdf_page_splash(&env.path("m.pdf"), 150.0),
        &png,
        "cells-pdftoppm",
    );
    assert_close(
        &pdf_page(&env.path("m.pdf"), 150.0),
        &png,
        "cells-pdftocairo",
    );
}

#[test]
fn a_cjk_title_embeds_the_font_given() {
    let font = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
    assert!(
        Path::new(font).exists(),
        "{font} is missing: run scripts/fetch-test-data.sh"
    );
    let env = TestEnv::new();
    let t = tally_of(&env, "world.json", &world_places());
    for name in ["c.svg", "c.pdf", "c.png"] {
        env.run(&[
            "render",
            &t,
            "-o",
            name,
            "--width",
            "500",
            "--title",
            "全球 IP 地址分布",
            "--spread",
            "2",
            "--font",
            font,
        ])
        .ok();
    }
    let fonts = poppler("pdffonts", &[env.path("c.pdf").to_str().unwrap()]);
    assert!(
        fonts
            .lines()
            .any(|l| l.contains("WenQuanYi") && l.contains(" yes yes ")),
        "{fonts}"
    );
    let text = poppler("pdftotext", &[env.path("c.pdf").to_str().unwrap(), "-"]);
    assert!(text.contains("全球 IP 地址分布"), "{text}");
    let svg = env.read("c.svg");
    assert!(svg.contains("font-family=\"'WenQuanYi Micro Hei'\""));
    let png = decode(&env.path("c.png"));
    assert_close(&pdf_page(&env.path("c.pdf"), 96.0), &png, "cjk-pdf");
    let drawn = svg_pixels(&env.path("c.svg"), png.width(), Some(Path::new(font)));
    assert_close(&drawn, &png, "cjk-svg");
}

#[test]
fn change_maps_and_empty_maps_are_written_as_svg_and_pdf() {
    let env = TestEnv::new();
    let a = tally_of(&env, "a.json", &world_places());
    let mut later = world_places();
    later.truncate(600);
    let b = tally_of(&env, "b.json", &later);
    env.run(&[
        "compare",
        &a,
        &b,
        "-o",
        "cmp",
        "--only",
        "map.png,map.svg,map.pdf",
        "--mode",
        "cells",
        "--cell",
        "10",
        "--width",
        "500",
    ])
    .ok();
    let png = decode(&env.path("cmp/map.png"));
    assert_close(
        &pdf_page(&env.path("cmp/map.pdf"), 96.0),
        &png,
        "change-pdf",
    );
    let info = poppler("pdfinfo", &[env.path("cmp/map.pdf").to_str().unwrap()]);
    assert!(
        info.contains("Title:           Change in the geo-location of IP addresses"),
        "{info}"
    );
    let drawn = svg_pixels(&env.path("cmp/map.svg"), png.width(), None);
    assert_close(&drawn, &png, "change-svg");
    // Without --only naming them, no vector map is written.
    env.run(&["compare", &a, &b, "-o", "cmp2"]).ok();
    assert!(env.path("cmp2/map.png").exists());
    assert!(!env.path("cmp2/map.svg").exists() && !env.path("cmp2/map.pdf").exists());

    // An empty tally: a valid, empty map.
    let empty = tally_of(&env, "empty.json", &[]);
    for name in ["e.svg", "e.pdf"] {
        env.run(&["render", &empty, "-o", name, "--width", "300"])
            .ok();
    }
    svg_pixels(&env.path("e.svg"), 300, None);
    assert_eq!(pdf_page(&env.path("e.pdf"), 96.0).width(), 300);
}
