use crate::common::*;

#[test]
fn info_describes_fixture_and_embedded_databases() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let out = env
        .run(&[
            "info",
            "--db",
            fx.nested.to_str().unwrap(),
            "--json",
            "--networks",
        ])
        .ok();
    let v = json(&out.stdout);
    assert_eq!(v["type"], "GeoIP2-City");
    assert_eq!(v["ip_version"], 6);
    assert_eq!(v["build_date"], "2020-01-02");
    assert_eq!(v["schema"], "nested");
    assert_eq!(v["ipv4_networks"], 8);
    assert_eq!(v["ipv6_networks"], 2);
    assert!(v["record_size"].as_u64().unwrap() >= 24);
    assert!(v["node_count"].as_u64().unwrap() > 0);

    let out = env
        .run(&["info", "--db", fx.flat_v4.to_str().unwrap()])
        .ok();
    assert!(out.stdout.contains("schema: flat"), "{}", out.stdout);
    assert!(out.stdout.contains("ip_version: 4"), "{}", out.stdout);

    let out = env.run(&["info"]).ok();
    assert!(out.stdout.contains("path: embedded:"), "{}", out.stdout);
    assert!(
        out.stdout.contains("IP Geolocation by DB-IP"),
        "{}",
        out.stdout
    );
}

#[test]
fn discovery_prefers_env_then_search_dirs_then_embedded() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let dir = env.path("geoip");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(&fx.flat_v4, dir.join("dbip-city-lite-2020-01.mmdb")).unwrap();
    let path_of = |cmd: &mut std::process::Command| {
        let out = cmd.args(["info", "--json"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json(&String::from_utf8_lossy(&out.stdout))["path"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let found = path_of(env.command().env("IPATLAS_SEARCH_PATH", &dir));
    assert!(found.ends_with("dbip-city-lite-2020-01.mmdb"), "{found}");
    std::fs::copy(&fx.nested, dir.join("GeoLite2-City.mmdb")).unwrap();
    let found = path_of(env.command().env("IPATLAS_SEARCH_PATH", &dir));
    assert!(
        found.ends_with("GeoLite2-City.mmdb"),
        "GeoLite2-City comes first: {found}"
    );
    let found = path_of(
        env.command()
            .env("IPATLAS_SEARCH_PATH", &dir)
            .env("IPATLAS_DB", &fx.flat_v4),
    );
    assert!(
        found.ends_with("ipdb-city-ipv4.mmdb"),
        "$IPATLAS_DB wins: {found}"
    );
    let found = path_of(&mut env.command());
    assert!(found.starts_with("embedded:"), "{found}");
}

#[test]
fn help_names_the_attribution_and_exit_codes() {
    let env = TestEnv::new();
    let out = env.run(&["--help"]).ok();
    assert!(
        out.stdout.contains("IP Geolocation by DB-IP"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Exit codes"), "{}", out.stdout);
    let r = env.run(&["aggregate", "--no-such-flag"]);
    assert_eq!(r.code, 2);
}
