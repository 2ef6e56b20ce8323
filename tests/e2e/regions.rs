//! Regional maps: the projection chosen for the box and centred on it, boxes across the
//! antimeridian, a Pacific-centred world, what the frame shows, and reference images.

use crate::common::*;

/// Places of the US east coast and its neighbours (country, lat, lon, addresses).
const EAST_COAST: &[(&str, f64, f64, u64)] = &[
    ("US", 40.71, -74.01, 900),
    ("US", 39.95, -75.17, 400),
    ("US", 42.36, -71.06, 500),
    ("US", 38.91, -77.04, 450),
    ("US", 39.29, -76.61, 200),
    ("US", 40.44, -79.99, 150),
    ("US", 42.89, -78.88, 90),
    ("US", 43.16, -77.61, 70),
    ("US", 42.65, -73.75, 60),
    ("US", 41.76, -72.67, 80),
    ("US", 41.82, -71.41, 90),
    ("US", 37.54, -77.44, 110),
    ("US", 36.85, -76.29, 80),
    ("US", 43.66, -70.26, 40),
    ("US", 44.48, -73.21, 30),
    ("US", 43.05, -76.15, 50),
    ("US", 40.27, -76.88, 45),
    ("US", 38.03, -78.48, 25),
    ("CA", 45.50, -73.57, 300),
    ("CA", 43.65, -79.38, 600),
    ("CA", 45.42, -75.70, 150),
    // Outside the box's longitudes and latitudes, inside the frame's corners.
    ("US", 35.85, -81.5, 5),
    ("CA", 45.8, -82.6, 3),
    // Outside the frame.
    ("US", 41.88, -87.63, 700),
    ("US", 35.5, -74.0, 11),
];

/// New Zealand, Fiji on both sides of the antimeridian, Tonga, New Caledonia; Sydney lies
/// outside.
const NZ_FIJI: &[(&str, f64, f64, u64)] = &[
    ("NZ", -36.85, 174.76, 500),
    ("NZ", -41.29, 174.78, 250),
    ("NZ", -43.53, 172.64, 200),
    ("NZ", -37.79, 175.28, 80),
    ("NZ", -45.87, 170.50, 60),
    ("NZ", -37.69, 176.17, 50),
    ("NZ", -39.49, 176.91, 30),
    ("NZ", -41.27, 173.28, 25),
    ("NZ", -46.41, 168.35, 20),
    ("FJ", -18.14, 178.44, 60),
    ("FJ", -17.80, 177.42, 30),
    ("FJ", -16.43, 179.38, 10),
    ("FJ", -16.85, -179.97, 8),
    ("FJ", -18.20, -178.80, 5),
    ("TO", -21.14, -175.20, 12),
    ("NC", -22.27, 166.46, 40),
    ("AU", -33.87, 151.21, 800),
];

/// Cities around the Pacific and beyond, with places on both sides of 30°W (the seam of
/// a world centred on 150°E).
const WORLD: &[(&str, f64, f64, u64)] = &[
    ("JP", 35.68, 139.69, 900),
    ("KR", 37.57, 126.98, 500),
    ("CN", 39.90, 116.41, 700),
    ("CN", 31.23, 121.47, 600),
    ("SG", 1.35, 103.82, 200),
    ("AU", -33.87, 151.21, 300),
    ("NZ", -36.85, 174.76, 80),
    ("FJ", -18.14, 178.44, 10),
    ("FJ", -16.85, -179.97, 5),
    ("US", 34.05, -118.24, 800),
    ("US", 37.77, -122.42, 600),
    ("US", 47.61, -122.33, 300),
    ("US", 21.31, -157.86, 60),
    ("US", 61.22, -149.90, 20),
    ("PE", -12.05, -77.04, 90),
    ("CL", -33.45, -70.67, 80),
    ("MX", 19.43, -99.13, 250),
    ("PH", 14.60, 120.98, 150),
    ("ID", -6.21, 106.85, 200),
    ("IN", 19.08, 72.88, 400),
    ("RU", 55.76, 37.62, 300),
    ("GB", 51.51, -0.13, 500),
    ("BR", -23.55, -46.63, 300),
    ("IS", 64.15, -21.94, 15),
    ("PT", 37.74, -25.67, 8),
    ("CV", 14.93, -23.51, 5),
    ("BR", -3.85, -32.42, 3),
];

/// Singapore's districts, and Johor Bahru across the strait.
const SINGAPORE: &[(&str, f64, f64, u64)] = &[
    ("SG", 1.285, 103.851, 300),
    ("SG", 1.353, 103.945, 60),
    ("SG", 1.437, 103.786, 40),
    ("SG", 1.333, 103.742, 80),
    ("SG", 1.369, 103.849, 50),
    ("SG", 1.294, 103.786, 30),
    ("SG", 1.405, 103.902, 20),
    ("SG", 1.357, 103.988, 15),
    ("MY", 1.463, 103.761, 40),
];

/// A deterministic scatter of places around Swiss cities (a linear congruential
/// generator, summed uniforms for a bell shape): enough to fill 0.05° cells.
fn swiss_places() -> Vec<(&'static str, f64, f64, u64)> {
    let cities = [
        (47.37, 8.54, 40),
        (46.20, 6.14, 25),
        (47.56, 7.59, 15),
        (46.95, 7.45, 15),
        (46.52, 6.63, 12),
        (46.00, 8.95, 8),
        (47.42, 9.37, 6),
        (47.05, 8.31, 8),
        (47.50, 8.72, 6),
        (46.23, 7.36, 4),
        (46.85, 9.53, 3),
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = Vec::new();
    for (lat, lon, weight) in cities {
        for _ in 0..weight * 6 {
            let bell = |next: &mut dyn FnMut() -> f64| (0..4).map(|_| next()).sum::<f64>() - 2.0;
            let dlat = bell(&mut next) * 0.06;
            let dlon = bell(&mut next) * 0.09;
            let n = 1 + (next() * 20.0) as u64;
            out.push((
                "CH",
                ((lat + dlat) * 1000.0).round() / 1000.0,
                ((lon + dlon) * 1000.0).round() / 1000.0,
                n,
            ));
        }
    }
    out
}

fn render(env: &TestEnv, tally: &str, out: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "map",
        tally,
        "-o",
        out,
        "--only",
        "map.png",
        "--only",
        "summary.json",
    ];
    args.extend(extra);
    env.run(&args).ok();
    json(&env.read(&format!("{out}/summary.json")))["map"].clone()
}

#[test]
fn a_box_gets_an_equal_area_projection_centred_on_it_and_its_whole_frame_is_drawn() {
    let env = TestEnv::new();
    let t = tally_of(&env, "east.json", EAST_COAST);
    let m = render(
        &env,
        &t,
        "east",
        &["--bbox=-82,36,-66,46", "--width", "480"],
    );
    assert_eq!(
        m["projection"], "Albers equal-area conic (37.7°N, 44.3°N; 74°W)",
        "{m}"
    );
    assert_eq!(
        m["proj"],
        "+proj=aea +lat_1=37.666667 +lat_2=44.333333 +lat_0=41 +lon_0=-74 +ellps=WGS84"
    );
    assert!(
        m["subtitle"]
            .as_str()
            .unwrap()
            .ends_with("Albers equal-area conic (37.7°N, 44.3°N; 74°W) projection"),
        "{m}"
    );
    // Everything but Chicago and the place south of the frame is drawn: the two places in
    // the frame's corners (outside the box's longitudes and latitudes) too.
    let total: u64 = EAST_COAST.iter().map(|p| p.3).sum();
    assert_eq!(m["outside"], 711, "{m}");
    assert_eq!(m["drawn"].as_u64().unwrap(), total - 711);
    // --projection names another, centred on the box all the same.
    let m = render(
        &env,
        &t,
        "east-laea",
        &["--bbox=-82,36,-66,46", "--projection", "lambert-azimuthal"],
    );
    assert!(
        m["proj"]
            .as_str()
            .unwrap()
            .starts_with("+proj=laea +lat_0=41 +lon_0=-74 "),
        "{m}"
    );
    // The world keeps Equal Earth on the prime meridian, unless told.
    let m = render(&env, &t, "world", &["--width", "300"]);
    assert_eq!(m["projection"], "Equal Earth");
    assert_eq!(m["outside"], 0);
    let m = render(&env, &t, "pacific", &["--width", "300", "--lon0", "150"]);
    assert_eq!(m["projection"], "Equal Earth (150°E)");
    assert_eq!(m["proj"], "+proj=eqearth +lon_0=150 +ellps=WGS84");
}

/// EPSG:3035 (Lambert azimuthal equal-area centred on 52°N 10°E) puts 50°N 5°E at
/// 358,200.55 m west and 210,281.15 m south of the centre (EPSG Guidance Note 7-2): on a
/// map of a box centred there, the two places' pixels lie in that ratio.
#[test]
fn places_land_where_the_regional_projection_puts_them() {
    let env = TestEnv::new();
    let t = tally_with(&env, "two.json", &[(52.0, 10.0, 1), (50.0, 5.0, 1)]);
    env.run(&[
        "render",
        &t,
        "-o",
        "eu.png",
        "--bbox=0,44,20,60",
        "--projection",
        "lambert-azimuthal",
        "--no-legend",
        "--spread",
        "0",
        "--width",
        "1000",
    ])
    .ok();
    let p = decode(&env.path("eu.png"));
    let lit: Vec<(f64, f64)> = (0..p.height())
        .flat_map(|y| (0..p.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let c = p.pixel(x, y).unwrap().demultiply();
            c.red() > 200 && c.green() > 200 && c.blue() > 100
        })
        .map(|(x, y)| (f64::from(x) + 0.5, f64::from(y) + 0.5))
        .collect();
    assert_eq!(lit.len(), 2, "{lit:?}");
    let (centre, other) = if lit[0].0 > lit[1].0 {
        (lit[0], lit[1])
    } else {
        (lit[1], lit[0])
    };
    let (dx, dy) = (other.0 - centre.0, other.1 - centre.1);
    assert!(dx < -100.0 && dy > 50.0, "{dx} {dy}");
    let want = -358_200.55 / 210_281.15;
    assert!((dx / dy - want).abs() < 0.03, "{} against {want}", dx / dy);
}

#[test]
fn a_box_across_the_antimeridian_draws_both_sides() {
    let env = TestEnv::new();
    let t = tally_of(&env, "nz.json", NZ_FIJI);
    let m = render(
        &env,
        &t,
        "nz",
        &["--bbox=165,-48,-175,-15", "--width", "480", "--graticule"],
    );
    assert_eq!(
        m["projection"], "Lambert azimuthal equal-area (31.5°S, 175°E)",
        "{m}"
    );
    // Only Sydney is outside; Fiji east of 180° and Tonga are drawn.
    assert_eq!(m["outside"], 800, "{m}");
    let total: u64 = NZ_FIJI.iter().map(|p| p.3).sum();
    assert_eq!(m["drawn"].as_u64().unwrap(), total - 800);
    assert_matches_reference(&env.path("nz/map.png"), "region-nz-fiji-dark.png");
    // The interactive page and a change map take the same box.
    env.run(&["render", &t, "-o", "nz.html", "--bbox=165,-48,-175,-15"])
        .ok();
    let page = env.read("nz.html");
    assert!(page.contains("<svg"));
    // Fiji is cut along the antimeridian by Natural Earth: the page fills it without an
    // outline and strokes its borders alone, so no line runs down 180°; New Zealand is whole.
    let path_of = |code: &str| {
        let at = page.find(&format!(r#"data-k="{code}""#)).unwrap();
        let start = page[..at].rfind("<path").unwrap();
        page[start..at].to_owned()
    };
    assert!(path_of("FJ").contains("data-cut"));
    assert!(!path_of("NZ").contains("data-cut"));
    assert!(page.contains(r#"<path id="cut-borders" d="M"#));
    env.run(&[
        "compare",
        &t,
        &t,
        "-o",
        "cmp",
        "--bbox=165,-48,-175,-15",
        "--width",
        "300",
    ])
    .ok();
    let s = json(&env.read("cmp/summary.json"));
    assert_eq!(
        s["map"]["projection"], "Lambert azimuthal equal-area (31.5°S, 175°E)",
        "{s}"
    );
}

#[test]
fn regional_maps_match_their_reference_images() {
    let env = TestEnv::new();
    let t = tally_of(&env, "east.json", EAST_COAST);
    render(
        &env,
        &t,
        "east",
        &[
            "--bbox=-82,36,-66,46",
            "--width",
            "480",
            "--spread",
            "3",
            "--graticule",
        ],
    );
    assert_matches_reference(&env.path("east/map.png"), "region-us-east-points-dark.png");
    render(
        &env,
        &t,
        "blur",
        &[
            "--bbox=-82,36,-66,46",
            "--width",
            "480",
            "--blur",
            "4",
            "--style",
            "light",
        ],
    );
    assert_matches_reference(&env.path("blur/map.png"), "region-us-east-blur-light.png");
    let w = tally_of(&env, "world.json", WORLD);
    let m = render(
        &env,
        &w,
        "pacific",
        &[
            "--projection",
            "equal-earth:150",
            "--width",
            "480",
            "--spread",
            "2",
            "--graticule",
        ],
    );
    assert_eq!(m["outside"], 0, "{m}");
    assert_matches_reference(&env.path("pacific/map.png"), "world-pacific-dark.png");
    let places = swiss_places();
    let ch = tally_of(&env, "ch.json", &places);
    let m = render(
        &env,
        &ch,
        "ch",
        &[
            "--bbox=5.9,45.8,10.5,47.85",
            "--mode",
            "cells",
            "--cell",
            "0.05",
            "--style",
            "light",
            "--width",
            "480",
            "--graticule",
        ],
    );
    assert!(m.get("subpixel_cells").is_none(), "{m}");
    assert_matches_reference(
        &env.path("ch/map.png"),
        "region-switzerland-cells-light.png",
    );
    // A city: the coast at Natural Earth 1:10m's full resolution.
    let sg = tally_of(&env, "sg.json", SINGAPORE);
    let m = render(
        &env,
        &sg,
        "sg",
        &[
            "--bbox=103.6,1.2,104.1,1.48",
            "--width",
            "480",
            "--spread",
            "2",
            "--style",
            "light",
        ],
    );
    assert_eq!(m["outside"], 0, "{m}");
    assert_eq!(m["scale_bar"], "5 km at 1.3°N", "{m}");
    assert_matches_reference(&env.path("sg/map.png"), "region-singapore-points-light.png");
}

/// The pixels-per-metre a PNG's `pHYs` chunk gives, if any.
fn png_resolution(path: &std::path::Path) -> Option<(u32, u32)> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).ok()?));
    let reader = decoder.read_info().ok()?;
    let dims = reader.info().pixel_dims?;
    (dims.unit == png::Unit::Meter).then_some((dims.xppu, dims.yppu))
}

#[test]
fn a_print_size_sets_the_width_and_the_file_says_its_resolution() {
    let env = TestEnv::new();
    let t = tally_of(&env, "east.json", EAST_COAST);
    // 180 mm at 300 dpi is 2126 pixels; 300 dpi is 11811 pixels per metre.
    env.run(&["render", &t, "-o", "wide.png", "--size", "180mm"])
        .ok();
    let p = decode(&env.path("wide.png"));
    assert_eq!(p.width(), 2126);
    assert_eq!(png_resolution(&env.path("wide.png")), Some((11811, 11811)));
    // 3.5 inches at 600 dpi: 2100 pixels; the summary gives the printed size.
    let m = render(&env, &t, "narrow", &["--size", "3.5in", "--dpi", "600"]);
    let p = decode(&env.path("narrow/map.png"));
    assert_eq!(p.width(), 2100);
    let mm = |px: u32| {
        let v = format!("{:.1}", f64::from(px) / 600.0 * 25.4);
        v.trim_end_matches(".0").to_owned()
    };
    assert_eq!(
        m["print_size"],
        format!("88.9 x {} mm at 600 dpi", mm(p.height())),
        "{m}"
    );
    // Without a size or resolution the file says none, and the summary gives no size.
    let m = render(&env, &t, "plain", &["--width", "300"]);
    assert!(m.get("print_size").is_none(), "{m}");
    assert_eq!(png_resolution(&env.path("plain/map.png")), None);
    // A resolution alone keeps the width and is said in the file; a JPEG says it too
    // (its JFIF header: units 1 = dots per inch, then the two densities).
    env.run(&[
        "render", &t, "-o", "dpi.png", "--width", "300", "--dpi", "150",
    ])
    .ok();
    assert_eq!(decode(&env.path("dpi.png")).width(), 300);
    assert_eq!(png_resolution(&env.path("dpi.png")), Some((5906, 5906)));
    env.run(&[
        "render",
        &t,
        "-o",
        "print.jpg",
        "--size",
        "50mm",
        "--dpi",
        "150",
    ])
    .ok();
    let jpg = std::fs::read(env.path("print.jpg")).unwrap();
    let at = jpg.windows(5).position(|w| w == b"JFIF\0").unwrap();
    assert_eq!(jpg[at + 7], 1, "units: dots per inch");
    assert_eq!(&jpg[at + 8..at + 12], &[0, 150, 0, 150]);
}
