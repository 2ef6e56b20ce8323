use crate::common::*;

#[test]
fn samples_are_deterministic_and_located() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let a = env
        .run(&["sample", "--db", db, "-n", "20000", "--seed", "3"])
        .ok()
        .stdout;
    let b = env
        .run(&["sample", "--db", db, "-n", "20000", "--seed", "3"])
        .ok()
        .stdout;
    let c = env
        .run(&["sample", "--db", db, "-n", "20000", "--seed", "4"])
        .ok()
        .stdout;
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.lines().count(), 20000);
    env.write("s.txt", &a);
    env.run(&[
        "aggregate",
        "--db",
        db,
        "s.txt",
        "--summary",
        "s.json",
        "--countries",
        "c.csv",
    ])
    .ok();
    let s = json(&env.read("s.json"));
    assert_eq!(
        s["found"], 20000,
        "every sampled address is in located space"
    );
    assert_eq!(s["without_location"], 0);
    // Weighted by size: of the 16,844,032 located addresses, 3.0.0.0/8 (coordinates, no
    // country) holds 16,777,216 and DE's /16 65,536 (about 78 of 20,000 draws).
    let with_country = s["with_country"].as_u64().unwrap();
    assert!((40..=130).contains(&with_country), "{with_country}");
    assert!(s["with_coords"].as_u64().unwrap() >= 19_990);
    let rows = csv_rows(&env.read("c.csv"));
    assert_eq!(
        rows[1][0], "DE",
        "DE (a /16) is the largest country: {rows:?}"
    );
}

#[test]
fn ipv6_share_and_output_file() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    env.run(&[
        "sample",
        "--db",
        db,
        "-n",
        "1000",
        "--ipv6-share",
        "1",
        "-o",
        "v6.txt",
    ])
    .ok();
    let text = env.read("v6.txt");
    assert_eq!(text.lines().count(), 1000);
    assert!(
        text.lines()
            .all(|l| l.starts_with("2a00:") || l.starts_with("2a01:")),
        "{}",
        &text[..200]
    );
    let r = env.run(&[
        "sample",
        "--db",
        fx.flat_v4.to_str().unwrap(),
        "-n",
        "10",
        "--ipv6-share",
        "0.5",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("IPv6"), "{}", r.stderr);
}
