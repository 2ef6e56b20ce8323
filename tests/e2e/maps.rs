//! Maps: pixels where they belong under each projection, regions, and reference images.

use crate::common::*;

/// Pixels of the heat layer: a single place is drawn at the top of the colour map, bright
/// yellow in inferno, which no basemap colour comes near.
fn lit(p: &tiny_skia::Pixmap) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for y in 0..p.height() {
        for x in 0..p.width() {
            let c = p.pixel(x, y).unwrap().demultiply();
            if c.red() > 200 && c.green() > 200 && c.blue() > 100 {
                out.push((x, y));
            }
        }
    }
    out
}

fn render_one(
    env: &TestEnv,
    projection: &str,
    lat: f64,
    lon: f64,
) -> (tiny_skia::Pixmap, Vec<(u32, u32)>) {
    let t = tally_with(env, "one.json", &[(lat, lon, 1)]);
    env.run(&[
        "render",
        &t,
        "-o",
        "one.png",
        "--no-legend",
        "--spread",
        "0",
        "--width",
        "721",
        "--projection",
        projection,
    ])
    .ok();
    let p = decode(&env.path("one.png"));
    let l = lit(&p);
    (p, l)
}

#[track_caller]
fn assert_near(got: &[(u32, u32)], want: (f64, f64)) {
    assert_eq!(got.len(), 1, "exactly one lit pixel, got {got:?}");
    let (x, y) = (f64::from(got[0].0) + 0.5, f64::from(got[0].1) + 0.5);
    assert!(
        (x - want.0).abs() <= 1.0 && (y - want.1).abs() <= 1.0,
        "lit pixel {got:?}, expected near {want:?}"
    );
}

#[test]
fn a_single_address_lights_the_expected_pixel_under_each_projection() {
    let env = TestEnv::new();
    // Maps of the world leave 1% of the full extent free on every side: the half-extent
    // from the centre to an edge is 1.02 times the globe's.
    let pad = 1.02;
    // Equirectangular: x and y are longitude and latitude.
    let (p, l) = render_one(&env, "equirectangular", 40.0, -100.0);
    let (w, h) = (f64::from(p.width()), f64::from(p.height()));
    assert_eq!(p.height(), 361, "2:1 world");
    assert_near(
        &l,
        (
            (-100.0 + 180.0 * pad) / (360.0 * pad) * w,
            (90.0 * pad - 40.0) / (180.0 * pad) * h,
        ),
    );
    // Spherical Mercator: y = ln(tan(pi/4 + lat/2)), the world a square of side 2*pi.
    let (p, l) = render_one(&env, "mercator", 60.0, 30.0);
    let (w, h) = (f64::from(p.width()), f64::from(p.height()));
    let (x, y) = (
        30f64.to_radians(),
        (std::f64::consts::FRAC_PI_4 + 30f64.to_radians())
            .tan()
            .ln(),
    );
    // The world in Mercator is cropped to 70°S-70°N, with no margin: x spans +-pi, y +-y70.
    let pi = std::f64::consts::PI;
    let y70 = (std::f64::consts::FRAC_PI_4 + 35f64.to_radians())
        .tan()
        .ln();
    assert_near(&l, ((x + pi) / (2.0 * pi) * w, (y70 - y) / (2.0 * y70) * h));
    // Equal Earth and Robinson: along the equator x is proportional to longitude, and the
    // equator is the widest line; the equator is the middle row.
    for projection in ["equal-earth", "robinson"] {
        let (p, l) = render_one(&env, projection, 0.0, 150.0);
        let (w, h) = (f64::from(p.width()), f64::from(p.height()));
        assert_near(&l, ((150.0 / 180.0 + pad) / (2.0 * pad) * w, h / 2.0));
    }
    // Robinson's published table (Robinson 1974, as in Snyder 1993): at 30° the parallel is
    // X = 0.9600 of the equator's length and lies at Y = 0.3720 of the pole's height.
    let (p, l) = render_one(&env, "robinson", -30.0, 90.0);
    let (w, h) = (f64::from(p.width()), f64::from(p.height()));
    assert_near(
        &l,
        (
            (0.5 * 0.9600 + pad) / (2.0 * pad) * w,
            (pad + 0.3720) / (2.0 * pad) * h,
        ),
    );
}

#[test]
fn a_bbox_map_shows_only_what_lies_inside() {
    let env = TestEnv::new();
    let t = tally_with(&env, "two.json", &[(48.0, 10.0, 5), (40.0, -100.0, 7)]);
    let r = env
        .run(&[
            "render",
            &t,
            "-o",
            "eu.png",
            "--bbox",
            "-10,35,30,60",
            "--projection",
            "equirectangular",
            "--no-legend",
            "--spread",
            "0",
            "--width",
            "400",
        ])
        .ok();
    assert!(
        r.stderr.contains("7 addresses lie outside the map's frame"),
        "{}",
        r.stderr
    );
    let p = decode(&env.path("eu.png"));
    let (w, h) = (f64::from(p.width()), f64::from(p.height()));
    assert_eq!(p.height(), 250, "40 x 25 degrees at 400 px");
    assert_near(
        &lit(&p),
        ((10.0 + 10.0) / 40.0 * w, (60.0 - 48.0) / 25.0 * h),
    );
}

#[test]
fn bad_map_flags_are_usage_errors() {
    let env = TestEnv::new();
    let t = tally_with(&env, "one.json", &[(0.0, 0.0, 1)]);
    for args in [
        vec!["--bbox", "10,5,20,0"],
        vec!["--bbox", "10,0,190,5"],
        vec!["--projection", "equal-earth:200"],
        vec!["--lon0", "999"],
        vec!["--projection", "robinson:10", "--lon0", "20"],
        vec!["--size", "180"],
        vec!["--size", "2000mm"],
        vec!["--dpi", "10"],
        vec!["--size", "180mm", "--width", "500"],
        vec!["--width", "10"],
        vec!["--cell", "0"],
        vec!["--blur", "-1"],
        vec!["--projection", "gnomonic"],
    ] {
        let mut all = vec!["render", t.as_str(), "-o", "x.png"];
        all.extend(args.iter().copied());
        let r = env.run(&all);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(!env.path("x.png").exists());
    }
}

#[test]
fn maps_match_their_reference_images() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    // Points (dark, Equal Earth), cells (light, Robinson) and a choropleth (the embedded
    // database's whole IPv4 space) at a small size.
    let ips: String = (0..256)
        .map(|i| format!("1.0.0.{i}\n2.0.{i}.1\n5.5.5.{}\n3.{i}.0.1\n", i % 7))
        .collect();
    env.write("ips.txt", ips);
    env.run(&[
        "aggregate",
        "--db",
        fx.nested.to_str().unwrap(),
        "ips.txt",
        "--tally",
        "fx.json",
    ])
    .ok();
    env.run(&[
        "render",
        "fx.json",
        "-o",
        "points.png",
        "--width",
        "480",
        "--spread",
        "2",
        "--title",
        "Fixture",
    ])
    .ok();
    assert_matches_reference(&env.path("points.png"), "points-dark-equal-earth.png");
    env.run(&[
        "render",
        "fx.json",
        "-o",
        "cells.png",
        "--width",
        "480",
        "--mode",
        "cells",
        "--cell",
        "10",
        "--style",
        "light",
        "--projection",
        "robinson",
        "--graticule",
    ])
    .ok();
    assert_matches_reference(&env.path("cells.png"), "cells-light-robinson.png");
    env.run(&[
        "aggregate",
        "--db",
        "embedded",
        "--whole-db",
        "--tally",
        "world.json",
    ])
    .ok();
    env.run(&[
        "render",
        "world.json",
        "-o",
        "world.png",
        "--width",
        "480",
        "--projection",
        "mercator",
    ])
    .ok();
    assert_matches_reference(&env.path("world.png"), "choropleth-dark-mercator.png");
}

#[test]
fn map_writes_every_output_into_its_directory() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    env.write("ips.txt", "1.0.0.1\n5.5.5.5\n2a00::1\n");
    env.run(&[
        "map",
        "--db",
        fx.nested.to_str().unwrap(),
        "ips.txt",
        "-o",
        "out",
        "--width",
        "300",
        "--quiet",
    ])
    .ok();
    for f in [
        "map.png",
        "map.html",
        "countries.csv",
        "cells.csv",
        "summary.json",
        "tally.json",
        "cells.geojson",
        "countries.geojson",
    ] {
        assert!(env.path("out").join(f).exists(), "{f} missing");
    }
    let p = decode(&env.path("out/map.png"));
    assert_eq!(p.width(), 300);
    assert_eq!(json(&env.read("out/summary.json"))["found"], 3);
    // The map of a country-only database is a choropleth by default.
    env.run(&[
        "map",
        "--whole-db",
        "-o",
        "world",
        "--width",
        "300",
        "--quiet",
    ])
    .ok();
    assert!(decode(&env.path("world/map.png")).height() > 150);
}

#[test]
fn hex_and_cell_maps_draw_only_where_addresses_are() {
    let env = TestEnv::new();
    let t = tally_with(&env, "one.json", &[(10.0, 20.0, 4)]);
    for mode in [["--mode", "hex"], ["--mode", "cells"]] {
        env.run(&[
            "render",
            &t,
            "-o",
            "m.png",
            "--no-legend",
            "--width",
            "400",
            "--projection",
            "equirectangular",
            mode[0],
            mode[1],
            "--h3-res",
            "1",
            "--cell",
            "5",
        ])
        .ok();
        let p = decode(&env.path("m.png"));
        let l = lit(&p);
        assert!(!l.is_empty(), "{mode:?} drew nothing");
        // Every lit pixel lies within about 10 degrees of the address (20E, 10N).
        let (w, h) = (f64::from(p.width()), f64::from(p.height()));
        for (x, y) in l {
            let lon = f64::from(x) / w * 360.0 * 1.02 - 180.0 * 1.02;
            let lat = 90.0 * 1.02 - f64::from(y) / h * 180.0 * 1.02;
            assert!(
                (lon - 20.0).abs() < 10.0 && (lat - 10.0).abs() < 10.0,
                "{mode:?}: pixel at {lon},{lat}"
            );
        }
    }
}

#[test]
fn map_outputs_can_be_selected_and_renamed_and_the_summary_counts_coarse_places() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    // 1.0.0.0/24 (US, Kansas default) has accuracy radius 1000 km: coarse.
    env.write("ips.txt", "1.0.0.1\n1.0.0.2\n5.5.5.5\n");
    let db = fx.nested.to_str().unwrap();
    env.run(&[
        "map",
        "--db",
        db,
        "ips.txt",
        "-o",
        "out",
        "--width",
        "300",
        "--quiet",
        "--only",
        "map.png,summary.json",
        "--prefix",
        "run1-",
    ])
    .ok();
    let mut names: Vec<String> = std::fs::read_dir(env.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["run1-map.png", "run1-summary.json"]);
    let s = json(&env.read("out/run1-summary.json"));
    assert_eq!(s["map"]["coarse"], 2);
    assert_eq!(s["map"]["coarse_dropped"], false);
    assert_eq!(s["map"]["drawn"], 3);
    env.run(&[
        "map",
        "--db",
        db,
        "ips.txt",
        "-o",
        "out2",
        "--width",
        "300",
        "--quiet",
        "--drop-coarse",
        "--only",
        "summary.json,map.png",
    ])
    .ok();
    let s = json(&env.read("out2/summary.json"));
    assert_eq!(s["map"]["coarse"], 2);
    assert_eq!(s["map"]["coarse_dropped"], true);
    assert_eq!(s["map"]["drawn"], 1);
    // Without the picture there is no map section: it describes what was drawn.
    env.run(&[
        "map",
        "--db",
        db,
        "ips.txt",
        "-o",
        "out4",
        "--quiet",
        "--only",
        "summary.json",
    ])
    .ok();
    assert!(json(&env.read("out4/summary.json")).get("map").is_none());
    let r = env.run(&[
        "map", "--db", db, "ips.txt", "-o", "out3", "--only", "map.jpg",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("map.png"), "{}", r.stderr);
}

/// The United Nations' disclaimer, as the 2012 map carries it.
const DISCLAIMER: &str = "The boundaries and names shown and the designations used on the map do not imply any official endorsement or acceptance by the United Nations.";

#[test]
fn captions_wrap_above_the_attribution_and_the_legend_label_replaces_the_bar_label() {
    let env = TestEnv::new();
    let t = tally_with(&env, "t.json", &[(48.85, 2.35, 7), (40.7, -74.0, 3)]);
    let base = ["render", t.as_str(), "--width", "480", "--style", "light"];
    env.run(&[&base[..], &["-o", "plain.png"]].concat()).ok();
    env.run(
        &[
            &base[..],
            &[
                "-o",
                "noted.png",
                "--note",
                "Source: a test tally.",
                "--note",
                DISCLAIMER,
                "--legend-label",
                "hits per pixel",
            ],
        ]
        .concat(),
    )
    .ok();
    let (plain, noted) = (
        decode(&env.path("plain.png")),
        decode(&env.path("noted.png")),
    );
    assert_eq!(plain.width(), noted.width());
    // One line for the source, two for the disclaimer at 480 px: 3 lines of 8 px text.
    let grown = f64::from(noted.height() - plain.height());
    assert!((grown - 3.0 * 8.0 * 1.7).abs() <= 1.0, "grew by {grown} px");
    assert_matches_reference(&env.path("noted.png"), "captions-light.png");
    // The summary carries the captions and the bar's label, ready for a figure caption.
    env.run(&[
        "map",
        &t,
        "-o",
        "out",
        "--only",
        "map.png,summary.json",
        "--note",
        DISCLAIMER,
        "--legend-label",
        "hits per pixel",
    ])
    .ok();
    let s = json(&env.read("out/summary.json"));
    assert_eq!(s["map"]["captions"][0], DISCLAIMER);
    assert_eq!(s["map"]["legend"], "hits per pixel");
    env.run(&["map", &t, "-o", "bare", "--only", "map.png,summary.json"])
        .ok();
    let s = json(&env.read("bare/summary.json"));
    assert_eq!(s["map"]["legend"], "addresses per pixel");
    assert!(s["map"].get("captions").is_none());
}

#[test]
fn heat_reads_sub_pixel_cells_stay_visible_blur_is_round_and_mercator_is_cropped() {
    let env = TestEnv::new();
    let t = tally_with(&env, "one.json", &[(10.0, 20.0, 5)]);
    // 0.05-degree cells at 480 px are 0.07 px wide: drawn as one whole pixel, and said.
    let r = env
        .run(&[
            "render",
            &t,
            "-o",
            "cells.png",
            "--no-legend",
            "--width",
            "480",
            "--mode",
            "cells",
            "--cell",
            "0.05",
        ])
        .ok();
    assert!(
        r.stderr.contains("each is drawn as one pixel"),
        "{}",
        r.stderr
    );
    assert_eq!(lit(&decode(&env.path("cells.png"))).len(), 1);
    // A blurred point is a round blob: its bounding box's corners stay dark.
    let empty = tally_with(&env, "empty.json", &[]);
    let args = [
        "--no-legend",
        "--width",
        "400",
        "--blur",
        "4",
        "--projection",
        "equirectangular",
    ];
    env.run(&[&["render", t.as_str(), "-o", "blur.png"][..], &args].concat())
        .ok();
    env.run(&[&["render", empty.as_str(), "-o", "base.png"][..], &args].concat())
        .ok();
    let (blur, base) = (decode(&env.path("blur.png")), decode(&env.path("base.png")));
    let heat: Vec<(u32, u32)> = (0..blur.height())
        .flat_map(|y| (0..blur.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| blur.pixel(x, y) != base.pixel(x, y))
        .collect();
    let (x0, x1) = (
        heat.iter().map(|p| p.0).min().unwrap(),
        heat.iter().map(|p| p.0).max().unwrap(),
    );
    let (y0, y1) = (
        heat.iter().map(|p| p.1).min().unwrap(),
        heat.iter().map(|p| p.1).max().unwrap(),
    );
    assert!(
        x1 - x0 >= 8 && y1 - y0 >= 8,
        "a blob, not a dot: {x0}..{x1} x {y0}..{y1}"
    );
    for corner in [(x0, y0), (x1, y0), (x0, y1), (x1, y1)] {
        assert!(
            !heat.contains(&corner),
            "corner {corner:?} of {x0}..{x1} x {y0}..{y1} is lit: a square"
        );
    }
    assert!(heat.contains(&((x0 + x1) / 2, (y0 + y1) / 2)));
    // Mercator world maps stop at 70 degrees unless asked: a place at 75N is outside.
    let far = tally_with(&env, "far.json", &[(75.0, 20.0, 2), (10.0, 20.0, 3)]);
    let merc = [
        "--projection",
        "mercator",
        "--width",
        "400",
        "--only",
        "map.png,summary.json",
    ];
    env.run(&[&["map", far.as_str(), "-o", "cropped"][..], &merc].concat())
        .ok();
    env.run(
        &[
            &["map", far.as_str(), "-o", "full", "--full-mercator"][..],
            &merc,
        ]
        .concat(),
    )
    .ok();
    let (cropped, full) = (
        json(&env.read("cropped/summary.json")),
        json(&env.read("full/summary.json")),
    );
    assert_eq!(
        (
            cropped["map"]["outside"].as_u64(),
            cropped["map"]["drawn"].as_u64()
        ),
        (Some(2), Some(3))
    );
    assert_eq!(
        (
            full["map"]["outside"].as_u64(),
            full["map"]["drawn"].as_u64()
        ),
        (Some(0), Some(5))
    );
    assert!(cropped["map"]["height"].as_u64() < full["map"]["height"].as_u64());
}

#[test]
fn a_long_title_wraps_and_the_header_grows_to_hold_it() {
    let env = TestEnv::new();
    let t = tally_with(&env, "t.json", &[(48.85, 2.35, 7)]);
    let base = ["render", t.as_str(), "--width", "400", "--style", "light"];
    let long = "A long title that has to wrap onto more than one line at this width";
    env.run(&[&base[..], &["-o", "short.png", "--title", "Short"]].concat())
        .ok();
    env.run(&[&base[..], &["-o", "long.png", "--title", long]].concat())
        .ok();
    let (short, wrapped) = (
        decode(&env.path("short.png")),
        decode(&env.path("long.png")),
    );
    // One more line of 13 px bold text: 16 px more header.
    assert_eq!(wrapped.height(), short.height() + 16);
    // The second line is drawn (title-dark pixels where the short title's header has only
    // the lighter subtitle).
    let dark = |p: &tiny_skia::Pixmap| {
        (28..38)
            .flat_map(|y| (0..p.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| p.pixel(x, y).unwrap().demultiply().red() < 60)
            .count()
    };
    assert!(dark(&wrapped) > 50, "{}", dark(&wrapped));
    assert_eq!(dark(&short), 0);
}

/// The CJK font scripts/fetch-test-data.sh installs (Debian fonts-wqy-microhei).
fn cjk_font() -> &'static str {
    let p = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
    assert!(
        std::path::Path::new(p).exists(),
        "{p} is missing: run scripts/fetch-test-data.sh (scripts/test.sh does)"
    );
    p
}

#[test]
fn a_cjk_title_is_drawn_with_the_font_given_and_missing_glyphs_are_named() {
    let env = TestEnv::new();
    tally_of(
        &env,
        "t.json",
        &[
            ("JP", 35.7, 139.7, 900),
            ("CN", 39.9, 116.4, 600),
            ("KR", 37.6, 127.0, 300),
        ],
    );
    let title = "東アジアのIPアドレス分布 (IP addresses in East Asia)";
    let args = |out: &'static str| {
        vec![
            "render",
            "t.json",
            "-o",
            out,
            "--width",
            "480",
            "--style",
            "light",
            "--bbox=95,15,150,50",
            "--spread",
            "3",
            "--title",
            title,
            "--note",
            "出典: テスト",
        ]
    };
    // Without a font for them, the characters DejaVu lacks are named (the boxes drawn).
    let r = env.run(&args("plain.png")).ok();
    assert!(
        r.stderr.contains("no glyph for 東アジのドレス分布出典テト"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--font"), "{}", r.stderr);
    let mut with_font = args("cjk.png");
    with_font.extend(["--font", cjk_font()]);
    let r = env.run(&with_font).ok();
    assert!(!r.stderr.contains("no glyph"), "{}", r.stderr);
    // The header differs from the boxes, and only the header and footer do.
    let (plain, cjk) = (decode(&env.path("plain.png")), decode(&env.path("cjk.png")));
    assert_eq!((plain.width(), plain.height()), (cjk.width(), cjk.height()));
    let differs = |y0: u32, y1: u32| {
        (y0..y1).any(|y| (0..plain.width()).any(|x| plain.pixel(x, y) != cjk.pixel(x, y)))
    };
    assert!(differs(0, 30), "the title is drawn with other glyphs");
    assert_matches_reference(&env.path("cjk.png"), "cjk-title-light.png");
    // Not a font: refused before anything is written.
    env.write("bad.ttf", "not a font");
    let mut bad = args("x.png");
    bad.extend(["--font", "bad.ttf"]);
    let r = env.run(&bad);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("bad.ttf: not a TrueType or OpenType font"),
        "{}",
        r.stderr
    );
    assert!(!env.path("x.png").exists());
}

#[test]
fn a_thumbnail_keeps_every_word_whole_and_a_smaller_one_carries_none() {
    let env = TestEnv::new();
    env.write(
        "ips.txt",
        "8.8.8.8\n1.1.1.1\n81.2.69.160\n2001:4860::1\n133.1.1.1\n",
    );
    env.run(&[
        "aggregate",
        "--db",
        "embedded",
        "ips.txt",
        "--tally",
        "t.json",
        "--quiet",
    ])
    .ok();
    // 300 px: the subtitle keeps the parts that fit, the attribution (DB-IP's licence
    // asks for it) wraps onto more lines; nothing is cut.
    let r = env
        .run(&[
            "render",
            "t.json",
            "-o",
            "thumb.png",
            "--width",
            "300",
            "--style",
            "light",
        ])
        .ok();
    assert!(!r.stderr.contains("no glyph"), "{}", r.stderr);
    assert_matches_reference(&env.path("thumb.png"), "thumbnail-300-light.png");
    // Below 240 px no text at all: the image is the map alone, and stderr says why.
    let r = env
        .run(&[
            "render", "t.json", "-o", "tiny.png", "--width", "200", "--style", "light",
        ])
        .ok();
    assert!(r.stderr.contains("below 240 pixels"), "{}", r.stderr);
    let tiny = decode(&env.path("tiny.png"));
    let bare = env
        .run(&[
            "render",
            "t.json",
            "-o",
            "bare.png",
            "--width",
            "200",
            "--no-legend",
        ])
        .ok();
    assert!(!bare.stderr.contains("below 240"), "{}", bare.stderr);
    assert_eq!(tiny.height(), decode(&env.path("bare.png")).height());
    assert!(tiny.height() < 120, "{}", tiny.height());
}

#[test]
fn regional_maps_get_a_scale_bar_and_a_labelled_graticule() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    env.write("ips.txt", "1.0.0.1\n2.0.0.1\n5.5.5.5\n");
    let db = fx.nested.to_str().unwrap();
    let map = |dir: &str, extra: &[&str]| {
        let mut args = vec![
            "map",
            "--db",
            db,
            "ips.txt",
            "-o",
            dir,
            "--only",
            "map.png",
            "--only",
            "summary.json",
            "--width",
            "600",
        ];
        args.extend(extra);
        env.run(&args).ok();
        json(&env.read(&format!("{dir}/summary.json")))["map"].clone()
    };
    // Europe, 15°W to 35°E, 600 px wide: along 47.5°N a degree of longitude is 75 km and
    // about 11 pixels, so a sixth of the width is about 680 km; the bar is the round
    // distance below it.
    let europe = map("eu", &["--bbox=-15,35,35,60", "--graticule"]);
    let bar = europe["scale_bar"].as_str().unwrap();
    assert_eq!(bar, "500 km at 47.5°N", "{europe}");
    let none = map("eu2", &["--bbox=-15,35,35,60", "--no-scale-bar"]);
    assert!(none.get("scale_bar").is_none(), "{none}");
    let world = map("world", &["--graticule"]);
    assert!(world.get("scale_bar").is_none(), "{world}");
    // The bar and labels are drawn: the map with them differs from the one without, at
    // the frame's bottom left.
    let (a, b) = (
        decode(&env.path("eu/map.png")),
        decode(&env.path("eu2/map.png")),
    );
    let differs = (0..120).any(|x| (0..a.height()).any(|y| a.pixel(x, y) != b.pixel(x, y)));
    assert!(differs);
    // A change map of the same box carries the same bar.
    tally_of(
        &env,
        "a.json",
        &[("FR", 48.85, 2.35, 10), ("DE", 51.0, 9.0, 5)],
    );
    tally_of(
        &env,
        "b.json",
        &[("FR", 48.85, 2.35, 5), ("DE", 51.0, 9.0, 10)],
    );
    env.run(&[
        "compare",
        "a.json",
        "b.json",
        "-o",
        "cmp",
        "--bbox=-15,35,35,60",
        "--width",
        "600",
    ])
    .ok();
    let s = json(&env.read("cmp/summary.json"));
    assert_eq!(s["map"]["scale_bar"], "500 km at 47.5°N", "{s}");
    env.run(&[
        "compare",
        "a.json",
        "b.json",
        "-o",
        "cmp2",
        "--bbox=-15,35,35,60",
        "--width",
        "600",
        "--no-scale-bar",
    ])
    .ok();
    let s = json(&env.read("cmp2/summary.json"));
    assert!(s["map"].get("scale_bar").is_none(), "{s}");
}
