//! `lookup` agrees with a reader no one here wrote: the Python `maxminddb` package.

use crate::common::*;
use std::collections::HashMap;

const READER: &str = r#"
import json, sys, maxminddb
db = maxminddb.open_database(sys.argv[1])
for line in open(sys.argv[2]):
    ip = line.strip()
    rec, prefix = db.get_with_prefix_len(ip)
    out = {"ip": ip, "country": None, "lat": None, "lon": None, "radius": None}
    if isinstance(rec, dict):
        c = rec.get("country")
        out["country"] = c.get("iso_code") if isinstance(c, dict) else (rec.get("country_code") or None)
        loc = rec.get("location") if isinstance(rec.get("location"), dict) else {}
        out["lat"], out["lon"] = loc.get("latitude"), loc.get("longitude")
        out["radius"] = loc.get("accuracy_radius")
    out["found"] = rec is not None
    print(json.dumps(out))
"#;

fn crosscheck(env: &TestEnv, db: &str, ips_file: &str) -> usize {
    env.write("reader.py", READER);
    let py = std::process::Command::new(python_with_maxminddb())
        .current_dir(env.dir.path())
        .arg(env.path("reader.py"))
        .arg(db)
        .arg(env.path(ips_file))
        .output()
        .expect("run python reader");
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let theirs: Vec<serde_json::Value> = String::from_utf8_lossy(&py.stdout)
        .lines()
        .map(json)
        .collect();
    let ours = env
        .run(&["lookup", "--db", db, ips_file, "--format", "jsonl"])
        .ok();
    let ours: HashMap<String, serde_json::Value> = ours
        .stdout
        .lines()
        .map(json)
        .map(|v| (v["ip"].as_str().unwrap().to_owned(), v))
        .collect();
    for t in &theirs {
        let ip = t["ip"].as_str().unwrap();
        let o = &ours[ip];
        assert_eq!(
            o["status"] == "found",
            t["found"] == true,
            "{ip}: {o} vs {t}"
        );
        assert_eq!(o["country"], t["country"], "{ip}");
        assert_eq!(o["latitude"], t["lat"], "{ip}");
        assert_eq!(o["longitude"], t["lon"], "{ip}");
        assert_eq!(o["accuracy_radius"], t["radius"], "{ip}");
    }
    theirs.len()
}

#[test]
fn lookup_agrees_with_the_python_reader_on_the_embedded_database() {
    let env = TestEnv::new();
    std::fs::write(
        env.path("dbip.mmdb"),
        include_bytes!("../../assets/dbip-country-lite.mmdb"),
    )
    .unwrap();
    // 12,000 addresses from the located space (IPv4 and IPv6) plus 3,000 spread over all of IPv4.
    let sampled = env
        .run(&[
            "sample",
            "--db",
            "dbip.mmdb",
            "-n",
            "12000",
            "--ipv6-share",
            "0.3",
            "--seed",
            "11",
        ])
        .ok();
    let mut text = sampled.stdout;
    let mut x: u32 = 0x9E37_79B9;
    for _ in 0..3000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        text.push_str(&format!("{}\n", std::net::Ipv4Addr::from(x)));
    }
    env.write("ips.txt", &text);
    assert_eq!(crosscheck(&env, "dbip.mmdb", "ips.txt"), 15_000);
}

#[test]
fn lookup_agrees_with_the_python_reader_on_a_maxmind_city_database() {
    let env = TestEnv::new();
    let city = maxmind_data("test-data/GeoIP2-City-Test.mmdb");
    let sampled = env
        .run(&[
            "sample",
            "--db",
            city.to_str().unwrap(),
            "-n",
            "10000",
            "--ipv6-share",
            "0.2",
        ])
        .ok();
    env.write("ips.txt", &sampled.stdout);
    assert_eq!(crosscheck(&env, city.to_str().unwrap(), "ips.txt"), 10_000);
}
