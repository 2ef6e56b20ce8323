//! `--threads 1` and `--threads 2` give the same outputs, byte for byte, for every command.

use crate::common::*;
use std::collections::BTreeMap;

/// Runs `args` with `threads` threads (`--threads` where the command has it, and
/// `RAYON_NUM_THREADS` for all) and returns every file it wrote under `out/`, plus stdout.
fn outputs(
    env: &TestEnv,
    threads: &str,
    args: &[&str],
    with_flag: bool,
) -> BTreeMap<String, Vec<u8>> {
    let out = env.path("out");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir(&out).unwrap();
    let mut all: Vec<&str> = args.to_vec();
    if with_flag {
        all.extend(["--threads", threads]);
    }
    let run = env
        .command()
        .env("RAYON_NUM_THREADS", threads)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(&all)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut files = BTreeMap::new();
    files.insert("stdout".to_owned(), run.stdout);
    let mut stack = vec![out.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.strip_prefix(&out).unwrap().display().to_string();
            let mut bytes = std::fs::read(&p).unwrap();
            if name.ends_with("summary.json") || name == "s.json" {
                // The only fields that may differ: how long it took, and whether the compiled
                // table was built or read from the cache (the first of the two runs fills the
                // cache the second reads), with the decoding that saves. The threads figure
                // must be the one asked for.
                let mut v = json(&String::from_utf8(bytes).unwrap());
                let o = v.as_object_mut().unwrap();
                let used = o.remove("threads").and_then(|t| t.as_u64());
                assert!(
                    used == Some(threads.parse().unwrap()) || used == Some(0),
                    "{name}: threads {used:?}, asked for {threads}"
                );
                for volatile in ["elapsed_s", "ipv4_table", "decoded_records"] {
                    o.remove(volatile);
                }
                bytes = serde_json::to_vec(&v).unwrap();
            }
            files.insert(name, bytes);
        }
    }
    files
}

#[test]
fn one_and_two_threads_give_identical_outputs_for_every_command() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    // Over 4 MiB, so the input is cut into several chunks that the threads share.
    let mut text = String::new();
    for part in 0..420 {
        text.push_str(&synthetic_ips(1000));
        text.push_str(&format!("2a00::{part:x}\n3.0.0.0/30\nbogus\n2a01::/40\n"));
    }
    env.write("ips.txt", &text);
    env.run(&["aggregate", "--db", db, "ips.txt", "--tally", "a.json"])
        .ok();
    env.run(&[
        "aggregate",
        "--db",
        "embedded",
        "ips.txt",
        "--tally",
        "b.json",
    ])
    .ok();
    let csv =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/csv/geolite2-city");
    let csv = csv.to_str().unwrap();
    let commands: Vec<(Vec<&str>, bool)> = vec![
        (
            vec![
                "aggregate",
                "--db",
                db,
                "ips.txt",
                "--countries",
                "out/c.csv",
                "--cells",
                "out/cells.csv",
                "--tally",
                "out/t.json",
                "--summary",
                "out/s.json",
                "--invalid-out",
                "out/bad.csv",
            ],
            true,
        ),
        (
            vec![
                "aggregate",
                "--db",
                db,
                "--whole-db",
                "--family",
                "all",
                "--tally",
                "out/t.json",
            ],
            true,
        ),
        (
            vec!["lookup", "--db", db, "ips.txt", "--format", "jsonl"],
            true,
        ),
        (vec!["lookup", "--db", db, "ips.txt"], true),
        (vec!["map", "--db", db, "ips.txt", "-o", "out/map"], true),
        (
            vec![
                "map",
                "--db",
                "embedded",
                "--whole-db",
                "-o",
                "out/map",
                "--only",
                "map.png,summary.json",
            ],
            true,
        ),
        (
            vec!["render", "a.json", "-o", "out/r.png", "--mode", "hex"],
            false,
        ),
        (
            vec![
                "geojson",
                "a.json",
                "--layer",
                "places",
                "-o",
                "out/p.geojson",
            ],
            false,
        ),
        (
            vec![
                "geojson",
                "--db",
                db,
                "ips.txt",
                "--layer",
                "hex",
                "-o",
                "out/h.geojson",
            ],
            true,
        ),
        (vec!["merge", "a.json", "a.json", "-o", "out/m.json"], false),
        (
            vec![
                "sample",
                "--db",
                db,
                "-n",
                "20000",
                "--seed",
                "3",
                "-o",
                "out/s.txt",
            ],
            false,
        ),
        (
            vec!["build-db", "--from", csv, "-o", "out/b.mmdb", "--quiet"],
            false,
        ),
        (vec!["export", "--db", db, "-o", "out/x"], false),
        (vec!["info", "--db", db], false),
    ];
    for (args, flag) in commands {
        let one = outputs(&env, "1", &args, flag);
        let two = outputs(&env, "2", &args, flag);
        assert!(
            one.len() > 1 || !one["stdout"].is_empty(),
            "{args:?} wrote nothing"
        );
        assert_eq!(
            one.keys().collect::<Vec<_>>(),
            two.keys().collect::<Vec<_>>(),
            "{args:?}"
        );
        for (name, bytes) in &one {
            assert!(
                two[name] == *bytes,
                "{args:?}: {name} differs between 1 and 2 threads"
            );
        }
    }
}
