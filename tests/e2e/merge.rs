use crate::common::*;

#[test]
fn tallies_of_shards_merge_to_the_tally_of_the_whole() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let a = "1.0.0.1\n2.0.0.1\nbad\n2a00::1\n";
    let b = "1.0.0.2\n5.5.5.5\n10.0.0.1\n3.0.0.1\n";
    env.write("a.txt", a);
    env.write("b.txt", b);
    env.write("all.txt", format!("{a}{b}"));
    env.run(&["aggregate", "--db", db, "a.txt", "--tally", "a.json"])
        .ok();
    env.run(&["aggregate", "--db", db, "b.txt", "--tally", "b.json"])
        .ok();
    env.run(&["aggregate", "--db", db, "all.txt", "--tally", "all.json"])
        .ok();
    env.run(&["merge", "a.json", "b.json", "-o", "merged.json"])
        .ok();
    let (m, all) = (json(&env.read("merged.json")), json(&env.read("all.json")));
    assert_eq!(m["places"], all["places"]);
    assert_eq!(m["counters"], all["counters"]);
    assert_eq!(m["databases"][0]["type"], "GeoIP2-City");
    assert_eq!(m["format"], "ipatlas-tally");
    assert_eq!(m["version"], 2);
}

#[test]
fn merge_refuses_other_databases_newer_versions_and_broken_files() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    env.write("ips.txt", "1.0.0.1\n");
    env.run(&[
        "aggregate",
        "--db",
        fx.nested.to_str().unwrap(),
        "ips.txt",
        "--tally",
        "a.json",
    ])
    .ok();
    env.run(&[
        "aggregate",
        "--db",
        fx.flat_v4.to_str().unwrap(),
        "ips.txt",
        "--tally",
        "b.json",
    ])
    .ok();
    let r = env.run(&["merge", "a.json", "b.json", "-o", "m.json"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--allow-mixed-databases"), "{}", r.stderr);
    assert!(!env.path("m.json").exists());
    env.run(&[
        "merge",
        "a.json",
        "b.json",
        "-o",
        "m.json",
        "--allow-mixed-databases",
    ])
    .ok();

    let text = env.read("a.json");
    env.write("newer.json", text.replace("\"version\":2", "\"version\":5"));
    let r = env.run(&["merge", "a.json", "newer.json", "-o", "m2.json"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("version 5"), "{}", r.stderr);
    env.write("cut.json", &text[..text.len() / 2]);
    let r = env.run(&["merge", "cut.json", "-o", "m3.json"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cut.json"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);
}
