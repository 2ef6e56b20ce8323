//! Regression tests for the integrity issue: no output replaces an input, nothing is written
//! outside the place named, replaced files keep their mode, and sets of files are atomic.
//! Each test is named for what it pins.

use crate::common::{TestEnv, csv_column, fixture_env, is_root, nested};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// Asserts a refusal: exit code 2, one line naming both flags, and `file` unchanged.
#[track_caller]
fn assert_refused(env: &TestEnv, args: &[&str], flags: [&str; 2], file: &str, before: &[u8]) {
    let r = env.run(args);
    assert_eq!(
        r.code, 2,
        "{args:?} should be refused; stderr: {}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    for flag in flags {
        assert!(
            r.stderr.contains(flag),
            "{args:?}: {flag} not named in {}",
            r.stderr
        );
    }
    assert_eq!(
        std::fs::read(env.path(file)).expect("file still there"),
        before,
        "{args:?} changed {file}"
    );
}

#[test]
fn an_output_that_is_an_input_is_refused_before_reading() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    let text = b"1.0.0.1\n2.0.0.1\n";
    env.write("in.txt", text);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, text).unwrap();
    let gz = gz.finish().unwrap();
    env.write("in.txt.gz", &gz);
    std::os::unix::fs::symlink("in.txt", env.path("link.txt")).unwrap();
    std::fs::hard_link(env.path("in.txt"), env.path("hard.txt")).unwrap();

    for (flag, out) in [
        ("--countries", "in.txt"),
        ("--cells", "./in.txt"),
        ("--invalid-out", "in.txt"),
        ("--summary", "link.txt"),
        ("--tally", "hard.txt"),
    ] {
        assert_refused(
            &env,
            &["aggregate", "--db", db, "in.txt", flag, out],
            [flag, "input"],
            "in.txt",
            text,
        );
    }
    // Whatever the compression, and whichever name the input is read through.
    assert_refused(
        &env,
        &["aggregate", "--db", db, "in.txt.gz", "--tally", "in.txt.gz"],
        ["--tally", "input"],
        "in.txt.gz",
        &gz,
    );
    assert_refused(
        &env,
        &[
            "aggregate",
            "--db",
            db,
            "link.txt",
            "--countries",
            "hard.txt",
        ],
        ["--countries", "input"],
        "in.txt",
        text,
    );
    // The database is an input too.
    let db_bytes = std::fs::read(&fx.nested).unwrap();
    assert_refused(
        &env,
        &["aggregate", "--db", db, "in.txt", "--summary", db],
        ["--summary", "--db"],
        "fixture-city.mmdb",
        &db_bytes,
    );
    assert_refused(
        &env,
        &["build-db", "--from", db, "-o", db],
        ["-o", "--from"],
        "fixture-city.mmdb",
        &db_bytes,
    );
    assert_refused(
        &env,
        &["sample", "--db", db, "-n", "5", "-o", db],
        ["-o", "--db"],
        "fixture-city.mmdb",
        &db_bytes,
    );

    // Tallies read by merge, render and map.
    env.run(&["aggregate", "--db", db, "in.txt", "--tally", "t.json"])
        .ok();
    let tally = std::fs::read(env.path("t.json")).unwrap();
    assert_refused(
        &env,
        &["merge", "t.json", "-o", "t.json"],
        ["-o", "TALLY"],
        "t.json",
        &tally,
    );
    assert_refused(
        &env,
        &["render", "t.json", "-o", "t.json"],
        ["-o", "TALLY"],
        "t.json",
        &tally,
    );
    std::fs::create_dir(env.path("m")).unwrap();
    std::fs::copy(env.path("t.json"), env.path("m/tally.json")).unwrap();
    assert_refused(
        &env,
        &["map", "m/tally.json", "-o", "m"],
        ["-o", "input"],
        "m/tally.json",
        &tally,
    );
    // ... which is fine when the tally is not among the outputs.
    env.run(&["map", "m/tally.json", "-o", "m", "--only", "map.png"])
        .ok();
    assert!(env.path("m/map.png").exists());
    assert_refused(
        &env,
        &["geojson", "t.json", "-o", "t.json"],
        ["-o", "input"],
        "t.json",
        &tally,
    );
}

#[test]
fn an_output_directory_where_a_file_is_is_refused_and_the_file_kept() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    let text = b"1.0.0.1\n2.0.0.1\n";
    env.write("in.txt", text);
    env.run(&[
        "aggregate",
        "--db",
        db,
        "in.txt",
        "--tally",
        "t.json",
        "--quiet",
    ])
    .ok();
    for args in [
        &["map", "--db", db, "in.txt", "-o", "in.txt"][..],
        &["compare", "t.json", "t.json", "-o", "in.txt"],
        &["export", "--db", db, "-o", "in.txt"],
    ] {
        assert_refused(&env, args, ["-o in.txt", "a file is there"], "in.txt", text);
    }
}

#[test]
fn two_outputs_that_are_the_same_file_are_refused() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n");
    env.write("old.csv", "keep\n");
    std::os::unix::fs::symlink("old.csv", env.path("old-link.csv")).unwrap();
    for (a, b) in [
        ("out.csv", "./out.csv"),
        ("old.csv", "old-link.csv"),
        ("-", "-"),
    ] {
        let r = env.run(&[
            "aggregate",
            "--db",
            db,
            "in.txt",
            "--countries",
            a,
            "--cells",
            b,
        ]);
        assert_eq!(r.code, 2, "{a} {b}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("--countries") && r.stderr.contains("--cells"),
            "{}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "nothing written: {}", r.stdout);
    }
    assert!(!env.path("out.csv").exists());
    assert_eq!(env.read("old.csv"), "keep\n");
    // A device written twice replaces nothing: allowed.
    env.run(&[
        "aggregate",
        "--db",
        db,
        "in.txt",
        "--countries",
        "/dev/null",
        "--cells",
        "/dev/null",
    ])
    .ok();
}

/// A database whose metadata type is `type_name`, with one network.
fn database_of_type(env: &TestEnv, file: &str, type_name: &str) -> std::path::PathBuf {
    let mut w = mmdb_writer::Writer::builder(type_name).build();
    w.insert_value(
        "1.0.0.0/24".parse::<ipnet::IpNet>().unwrap(),
        nested(Some("US"), None, None),
    )
    .unwrap();
    env.write(file, w.to_bytes().unwrap())
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn export_names_taken_from_the_database_stay_inside_the_directory() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path("work/out")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let absolute = outside.path().join("abs").display().to_string();
    for (i, type_name) in ["../../x", &absolute, "a/b\nc", "..", ".hidden"]
        .iter()
        .enumerate()
    {
        let db = database_of_type(&env, &format!("db{i}.mmdb"), type_name);
        let out = env.path(&format!("work/out/{i}"));
        env.run(&[
            "export",
            "--db",
            db.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .ok();
        let files = files_under(&out);
        assert_eq!(files.len(), 3, "{type_name:?}: {files:?}");
        for f in &files {
            assert!(!f.contains('/'), "{type_name:?}: {f} is not directly in -o");
            assert!(!f.starts_with('.'), "{type_name:?}: {f} is hidden");
            assert!(
                f.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
                "{f}"
            );
        }
    }
    // Nothing landed outside -o.
    assert_eq!(
        files_under(&env.path("work"))
            .iter()
            .filter(|f| !f.starts_with("out/"))
            .count(),
        0
    );
    assert!(files_under(outside.path()).is_empty());
    assert!(!env.path("x").exists());

    // The embedded database's type has a space: it becomes '-'.
    env.run(&["export", "--db", "embedded", "-o", "emb"]).ok();
    assert_eq!(
        files_under(&env.path("emb")),
        [
            "country-ipvAll-Blocks-IPv4.csv",
            "country-ipvAll-Blocks-IPv6.csv",
            "country-ipvAll-Locations-en.csv"
        ]
    );

    // `-o -` is refused, and no directory named `-` appears.
    let r = env.run(&["export", "--db", "embedded", "-o", "-"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("-o"), "{}", r.stderr);
    assert!(!env.path("-").exists());
}

#[test]
fn replacing_an_output_keeps_its_mode_and_owner() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n");
    let out = env.write("c.csv", "old\n");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).unwrap();
    // As root, the file belongs to another user and group, which must survive.
    if is_root() {
        std::os::unix::fs::chown(&out, Some(4321), Some(4322)).unwrap();
    }
    let before = std::fs::metadata(&out).unwrap();
    // Through a symlink: the target keeps its mode, the link stays a link.
    let target = env.write("target.csv", "old\n");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("target.csv", env.path("link.csv")).unwrap();

    env.run(&[
        "aggregate",
        "--db",
        db,
        "in.txt",
        "--countries",
        "c.csv",
        "--cells",
        "link.csv",
    ])
    .ok();
    let after = std::fs::metadata(&out).unwrap();
    assert!(env.read("c.csv").starts_with("country,count"), "replaced");
    assert_eq!(after.mode() & 0o7777, 0o600);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert!(
        env.read("target.csv").starts_with("lat_min"),
        "written through the link"
    );
    assert!(
        std::fs::symlink_metadata(env.path("link.csv"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o7777, 0o640);

    // A new file is created as any new file (0666 less the umask): not 0600.
    env.run(&["aggregate", "--db", db, "in.txt", "--countries", "new.csv"])
        .ok();
    let mode = std::fs::metadata(env.path("new.csv")).unwrap().mode() & 0o777;
    assert_eq!(
        mode & 0o044,
        0o044,
        "readable by others as umask 022 allows: {mode:o}"
    );
}

/// A tally with `n` places, each at its own coordinates.
fn tally_with_places(n: usize) -> String {
    let places: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "country": "US", "lat": -60.0 + (i / 100) as f64 * 0.5,
                "lon": -170.0 + (i % 100) as f64 * 3.0, "accuracy_radius": 10,
                "ipv4": 1 + i, "ipv6": 0
            })
        })
        .collect();
    serde_json::json!({
        "format": "ipatlas-tally", "version": 1, "generator": "test",
        "databases": [], "counters": {"lines": n, "skipped": 0, "parsed": n, "excluded": 0,
            "invalid_reasons": {}, "ipv4_records": n, "ipv6_records": 0, "ipv4_prefixes": 0,
            "ipv6_prefixes": 0, "ipv4_not_found": {}, "ipv6_not_found": {}},
        "places": places
    })
    .to_string()
}

#[test]
fn a_shapefile_set_is_replaced_whole_or_not_at_all() {
    let env = TestEnv::new();
    env.write("small.json", tally_with_places(3));
    env.write("big.json", tally_with_places(2000));
    env.run(&[
        "geojson",
        "small.json",
        "--layer",
        "places",
        "--shapefile",
        "shp",
    ])
    .ok();
    let read_set = || -> Vec<Vec<u8>> {
        ["shp", "shx", "dbf", "prj"]
            .iter()
            .map(|e| std::fs::read(env.path(&format!("shp/places.{e}"))).unwrap())
            .collect()
    };
    let old = read_set();
    // The big layer's .shp (28 bytes a point) fits under a 64 KiB file-size limit but its
    // .dbf (about 80 bytes a record) does not: the write fails part-way through the set.
    let mut c = env.command();
    c.args([
        "geojson",
        "big.json",
        "--layer",
        "places",
        "--shapefile",
        "shp",
    ]);
    // SAFETY: setrlimit and signal are async-signal-safe; nothing else runs in pre_exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut c, || {
            let lim = libc::rlimit {
                rlim_cur: 64 * 1024,
                rlim_max: 64 * 1024,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &raw const lim);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(read_set(), old, "the old set is untouched");
    let leftovers: Vec<String> = files_under(&env.path("shp"))
        .into_iter()
        .filter(|f| f.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Without the limit, the whole new set replaces the old one.
    env.run(&[
        "geojson",
        "big.json",
        "--layer",
        "places",
        "--shapefile",
        "shp",
    ])
    .ok();
    let new = read_set();
    assert!(new[0].len() > old[0].len() && new[2].len() > old[2].len());
}

/// Runs `aggregate --lookup table` with the cache in `cache/` and returns the run, the
/// countries table and the summary.
fn table_run(env: &TestEnv, db: &str) -> (crate::common::Run, String, serde_json::Value) {
    env.write("ips.txt", "1.0.0.1\n2.0.0.9\n5.5.5.5\n");
    let r = env.run(&[
        "aggregate",
        "--db",
        db,
        "ips.txt",
        "--lookup",
        "table",
        "--countries",
        "c.csv",
        "--summary",
        "s.json",
    ]);
    let r = r.ok();
    let c = env.read("c.csv");
    let s = crate::common::json(&env.read("s.json"));
    (r, c, s)
}

/// The compiled IPv4 table in the cache (the IPv6 table beside it is tested in cache.rs).
fn the_cache_file(env: &TestEnv) -> std::path::PathBuf {
    let files: Vec<_> = std::fs::read_dir(env.path("cache"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("ipv4-table-"))
        })
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

#[test]
fn the_table_cache_trusts_only_private_files_that_agree_with_the_database() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    let (first, countries, s) = table_run(&env, db);
    assert_eq!(s["ipv4_table"], "built");
    assert!(first.stderr.is_empty(), "{}", first.stderr);
    assert!(countries.contains("US,1"), "{countries}");
    let dir_mode = std::fs::metadata(env.path("cache")).unwrap().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);
    let file = the_cache_file(&env);
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
    assert_eq!(table_run(&env, db).2["ipv4_table"], "cache");

    // Writable by others: refused with one warning, used from memory, and left alone.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (r, c, s) = table_run(&env, db);
    assert_eq!(s["ipv4_table"], "built");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("writable by group or others"),
        "{}",
        r.stderr
    );
    assert_eq!(c, countries);
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o666);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();

    // Owned by another user (root can make one): refused the same way.
    if is_root() {
        std::os::unix::fs::chown(&file, Some(4321), None).unwrap();
        let (r, c, s) = table_run(&env, db);
        assert_eq!(s["ipv4_table"], "built");
        assert!(r.stderr.contains("owned by user 4321"), "{}", r.stderr);
        assert_eq!(c, countries);
        std::os::unix::fs::chown(&file, Some(0), None).unwrap();
    }

    // A symlink, even to a sound table, is not a regular file.
    let moved = env.path("moved.bin");
    std::fs::rename(&file, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &file).unwrap();
    let (r, _, s) = table_run(&env, db);
    assert_eq!(s["ipv4_table"], "built");
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    std::fs::remove_file(&file).unwrap();
    std::fs::rename(&moved, &file).unwrap();

    // US changed to KP in every record, the checksum recomputed: the spot check catches it,
    // the run answers from the database, and the file is rebuilt.
    // (Layout: a 64-byte header with the counts at 32 and 40 and the index's position at
    // 56; ranges of 8 bytes; records of 48 with the country at 13; the head's checksum
    // 16 bytes from the end.)
    let mut bytes = std::fs::read(&file).unwrap();
    let field = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let (n_ranges, n_records, index_at) = (field(32), field(40), field(56));
    let records = 64 + n_ranges * 8;
    let mut changed = 0;
    for i in 0..n_records {
        let at = records + i * 48 + 13;
        if &bytes[at..at + 2] == b"US" {
            bytes[at..at + 2].copy_from_slice(b"KP");
            changed += 1;
        }
    }
    assert!(changed > 0);
    let sum = twox_hash::XxHash3_64::oneshot(&bytes[..index_at]);
    let at = bytes.len() - 16;
    bytes[at..at + 8].copy_from_slice(&sum.to_le_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let (r, c, s) = table_run(&env, db);
    assert_eq!(s["ipv4_table"], "built");
    assert!(
        r.stderr.contains("does not agree with the database"),
        "{}",
        r.stderr
    );
    assert_eq!(c, countries, "KP never appears");
    let (r, c, s) = table_run(&env, db);
    assert_eq!(s["ipv4_table"], "cache", "rebuilt: {}", r.stderr);
    assert_eq!(c, countries);

    // A table written by another version (as after an upgrade) is replaced without a word.
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let (r, _, s) = table_run(&env, db);
    assert_eq!(s["ipv4_table"], "built");
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    assert_eq!(table_run(&env, db).2["ipv4_table"], "cache");
}

/// Runs `args` and waits at most 20 s; a run still going then is a hang.
fn run_bounded(env: &TestEnv, args: &[&str]) -> (Option<i32>, String) {
    let mut child = env
        .command()
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status.code(), err);
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            return (None, "hung".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn databases_and_cache_files_must_be_regular_files() {
    let (env, fx) = fixture_env();
    env.write("ips.txt", "1.0.0.1\n");
    let fifo = env.path("fifo.mmdb");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path and nothing else.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for db in ["/dev/zero", fifo.to_str().unwrap()] {
        let (code, err) = run_bounded(&env, &["aggregate", "--db", db, "ips.txt"]);
        assert_eq!(code, Some(2), "--db {db}: {err}");
        assert!(err.contains("not a regular file"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // A cache file that is a symlink to /dev/zero, or a FIFO, is refused, not read.
    let db = fx.nested.to_str().unwrap();
    table_run(&env, db);
    let file = the_cache_file(&env);
    for target in ["/dev/zero", fifo.to_str().unwrap()] {
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(target, &file).unwrap();
        let (code, err) = run_bounded(
            &env,
            &["aggregate", "--db", db, "ips.txt", "--lookup", "table"],
        );
        assert_eq!(code, Some(0), "cache -> {target}: {err}");
        assert!(err.contains("not a regular file"), "{err}");
    }
}

#[test]
fn a_tally_is_recognised_by_parsing_whatever_its_key_order_or_a_bom() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n2.0.0.1\n2.0.0.2\n");
    env.run(&["aggregate", "--db", db, "in.txt", "--tally", "t.json"])
        .ok();
    let value = crate::common::json(&env.read("t.json"));
    // A BTreeMap sorts the keys: "counters" comes before "format".
    let sorted: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_value(value).unwrap();
    let sorted = serde_json::to_string_pretty(&sorted).unwrap();
    assert!(sorted.find("\"counters\"") < sorted.find("\"format\""));
    env.write("sorted.json", &sorted);
    env.write(
        "bom.json",
        [b"\xEF\xBB\xBF".as_slice(), env.read("t.json").as_bytes()].concat(),
    );
    let expected = env
        .run(&["geojson", "t.json", "--layer", "places"])
        .ok()
        .stdout;
    for name in ["sorted.json", "bom.json"] {
        let r = env
            .run(&["geojson", name, "--layer", "places", "--cell", "1"])
            .ok();
        assert_eq!(r.stdout, expected, "{name}");
        env.run(&[
            "map",
            name,
            "-o",
            &format!("m-{name}"),
            "--only",
            "summary.json",
        ])
        .ok();
        let s = crate::common::json(&env.read(&format!("m-{name}/summary.json")));
        assert_eq!(s["found"], 3, "{name}: {s}");
        assert_eq!(s["invalid"], 0, "{name}: {s}");
        env.run(&["render", name, "-o", "x.png"]).ok();
        env.run(&["merge", name, "-o", "merged.json"]).ok();
    }
    // JSON that is not a tally is read as an address list: a JSON-lines log, say.
    env.write("log.json", "{\"ts\": 1, \"ip\": \"1.0.0.1\"}\n");
    let r = env
        .run(&[
            "geojson",
            "--db",
            db,
            "log.json",
            "--extract",
            "--layer",
            "places",
        ])
        .ok();
    assert!(r.stdout.contains("\"count\":1"), "{}", r.stdout);
}

/// `found + not_found` of a summary, per family, as exact integers.
/// Found plus not found: IPv4 prefixes in addresses, IPv6 prefixes in /64 subnets (the
/// summary's `subnets_64`, never added to the IPv6 addresses).
fn family_total(s: &serde_json::Value, family: &str) -> u128 {
    let f = if family == "ipv6" {
        assert_eq!(s["by_family"]["ipv6"]["found"], 0, "{s}");
        assert_eq!(s["by_family"]["ipv6"]["not_found"], 0, "{s}");
        &s["subnets_64"]
    } else {
        &s["by_family"][family]
    };
    let n = |v: &serde_json::Value| -> u128 {
        v.as_u64().map(u128::from).unwrap_or_else(|| {
            // Beyond u64: read the exact digits.
            v.to_string().parse().expect("an integer")
        })
    };
    n(&f["found"]) + n(&f["not_found"])
}

/// An IPv6 database that splits one /64 into four networks and has a /48 beside it.
fn split_slash64_database(env: &TestEnv) -> std::path::PathBuf {
    let mut w = mmdb_writer::Writer::builder("GeoIP2-City").build();
    for (net, cc) in [
        ("2001:db8:0:1::/66", "US"),
        ("2001:db8:0:1:4000::/66", "DE"),
        ("2001:db8:0:1:8000::/65", "FR"),
        ("2001:db8:1::/48", "JP"),
        ("1.0.0.0/24", "AU"),
    ] {
        w.insert_value(
            net.parse::<ipnet::IpNet>().unwrap(),
            nested(Some(cc), None, None),
        )
        .unwrap();
    }
    env.write("split.mmdb", w.to_bytes().unwrap())
}

#[test]
fn a_slash64_counts_once_whatever_the_database_splits_it_into() {
    let env = TestEnv::new();
    let db = split_slash64_database(&env);
    let db = db.to_str().unwrap();
    let run = |line: &str| {
        env.write("p.txt", format!("{line}\n"));
        let r = env
            .run(&[
                "aggregate",
                "--db",
                db,
                "p.txt",
                "--summary",
                "-",
                "--countries",
                "c.csv",
            ])
            .ok();
        (crate::common::json(&r.stdout), env.read("c.csv"))
    };
    // The /64 is answered by the record holding its first address: US, once.
    let (s, c) = run("2001:db8:0:1::/64");
    assert_eq!(s["subnets_64"]["found"], 1, "{s}");
    assert_eq!(family_total(&s, "ipv6"), 1);
    assert_eq!(c, "country,count,share,unit\nUS,1,1.000000,/64 subnets\n");
    // A /48 is 65,536 /64s, however its networks are cut.
    for prefix in ["2001:db8::/48", "2001:db8:1::/48"] {
        let (s, _) = run(prefix);
        assert_eq!(family_total(&s, "ipv6"), 65_536, "{prefix}: {s}");
    }
    let (s, c) = run("2001:db8::/48");
    assert_eq!(s["subnets_64"]["found"], 1, "{s}");
    assert!(c.contains("US,1\n") || c.contains("US,1,"), "{c}");
    // A prefix smaller than a /64 counts as one, answered at its first address.
    let (s, c) = run("2001:db8:0:1:4000::/66");
    assert_eq!(family_total(&s, "ipv6"), 1);
    assert!(c.contains("DE,1,"), "{c}");
}

#[test]
fn every_prefix_weighs_exactly_its_size_including_aliased_space() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    for (prefix, family, size) in [
        ("2002::/16", "ipv6", 1u128 << 48),
        ("2001::/32", "ipv6", 1 << 32),
        ("::/96", "ipv6", 1),
        ("::1.2.3.0/120", "ipv6", 1),
        ("2a00::/16", "ipv6", 1 << 48),
        ("::/0", "ipv6", 1 << 64),
        ("::/1", "ipv6", 1 << 63),
        ("0.0.0.0/0", "ipv4", 1 << 32),
        ("1.0.0.0/8", "ipv4", 1 << 24),
    ] {
        env.write("p.txt", format!("{prefix}\n"));
        let r = env
            .run(&[
                "aggregate",
                "--db",
                db,
                "p.txt",
                "--summary",
                "s.json",
                "--tally",
                "t.json",
            ])
            .ok();
        let s = crate::common::json(&env.read("s.json"));
        assert_eq!(
            family_total(&s, family),
            size,
            "{prefix}: {}\n{s}",
            r.stderr
        );
        // The tally carries the exact integer, and reads back to the same summary.
        let text = env.read("t.json");
        env.run(&["merge", "t.json", "-o", "m.json"]).ok();
        assert_eq!(env.read("m.json"), text, "{prefix}");
    }
    // 6to4 space is answered by the IPv4 data, as single addresses there are:
    // 2002:0100::/24 is 1.0.0.0/8, whose 1.0.0.0/24 is US in the fixture.
    env.write("p.txt", "2002:100::/24\n2002:100:1::1\n");
    let r = env
        .run(&["aggregate", "--db", db, "p.txt", "--countries", "-"])
        .ok();
    assert!(r.stdout.contains("US,"), "{}", r.stdout);
    // The whole-database map does not count that mirror of IPv4 again as IPv6.
    let r = env
        .run(&[
            "aggregate",
            "--db",
            db,
            "--whole-db",
            "--family",
            "ipv6",
            "--summary",
            "-",
        ])
        .ok();
    let s = crate::common::json(&r.stdout);
    assert_eq!(family_total(&s, "ipv6"), 1 << 64, "{s}");
    assert!(
        s["subnets_64"]["not_found_reasons"]["ipv4_alias"]
            .as_u64()
            .unwrap()
            > 0,
        "{s}"
    );
}

#[test]
fn merged_counters_never_wrap() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n");
    env.run(&["aggregate", "--db", db, "in.txt", "--tally", "t.json"])
        .ok();
    let text = env.read("t.json");
    let huge = text.replace("\"lines\":1,", &format!("\"lines\":{},", u64::MAX));
    assert_ne!(huge, text);
    env.write("huge.json", &huge);
    let r = env.run(&["merge", "huge.json", "t.json", "-o", "m.json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("lines"), "{}", r.stderr);
    assert!(!env.path("m.json").exists());
    // A place weight past 2^128 cannot even be read; one at 2^127 twice overflows.
    let big = text.replace("\"ipv4\":1,", &format!("\"ipv4\":{},", 1u128 << 127));
    assert_ne!(big, text);
    env.write("big.json", &big);
    let r = env.run(&["merge", "big.json", "big.json", "-o", "m.json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("place weight"), "{}", r.stderr);
    // Below the limit, the exact sum comes out, in the tally and in every GeoJSON layer
    // (the `outputs` fuzz target found the GeoJSON writer panicking past 2^64).
    env.run(&["merge", "big.json", "t.json", "-o", "m.json"])
        .ok();
    for layer in ["places", "cells", "countries", "hex"] {
        let g = env.run(&["geojson", "m.json", "--layer", layer]).ok();
        assert!(
            g.stdout
                .contains(&format!("\"count\":{}", (1u128 << 127) + 1)),
            "{layer}: {}",
            &g.stdout[..g.stdout.len().min(500)]
        );
    }
    env.run(&["render", "m.json", "-o", "m.png"]).ok();
    assert!(
        env.read("m.json")
            .contains(&format!("\"ipv4\":{},", (1u128 << 127) + 1)),
        "{}",
        env.read("m.json")
    );
}

#[test]
fn coordinates_round_trip_exactly_through_a_tally() {
    let env = TestEnv::new();
    let mut w = mmdb_writer::Writer::builder("GeoIP2-City").build();
    let lat = 48.356_700_000_000_004_f64;
    let lon = -97.822_000_000_000_01_f64;
    w.insert_value(
        "1.0.0.0/24".parse::<ipnet::IpNet>().unwrap(),
        mmdb_writer::Value::map([(
            "location",
            mmdb_writer::Value::map([
                ("latitude", mmdb_writer::Value::from(lat)),
                ("longitude", mmdb_writer::Value::from(lon)),
            ]),
        )]),
    )
    .unwrap();
    let db = env.write("f.mmdb", w.to_bytes().unwrap());
    let db = db.to_str().unwrap();
    env.write("a.txt", "1.0.0.1\n1.0.0.2\n");
    env.write("b.txt", "1.0.0.3\n");
    env.write("all.txt", "1.0.0.1\n1.0.0.2\n1.0.0.3\n");
    for (input, tally) in [
        ("a.txt", "a.json"),
        ("b.txt", "b.json"),
        ("all.txt", "all.json"),
    ] {
        env.run(&["aggregate", "--db", db, input, "--tally", tally])
            .ok();
    }
    assert!(
        env.read("all.json").contains(&format!("{lat}")),
        "{}",
        env.read("all.json")
    );
    env.run(&["merge", "all.json", "-o", "same.json"]).ok();
    assert_eq!(env.read("same.json"), env.read("all.json"));
    env.run(&["merge", "a.json", "b.json", "-o", "shards.json"])
        .ok();
    assert_eq!(env.read("shards.json"), env.read("all.json"));
}

#[test]
fn degenerate_and_narrow_bboxes_are_refused_not_a_panic() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n5.5.5.5\n");
    env.run(&["aggregate", "--db", db, "in.txt", "--tally", "t.json"])
        .ok();
    for bbox in ["0,0,1e-9,10", "0,0,1e-9,1e-9", "0,0,0.001,80", "5,5,5,6"] {
        let r = env.run(&["render", "t.json", "-o", "x.png", "--bbox", bbox]);
        assert_eq!(r.code, 2, "--bbox {bbox}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains("--bbox"), "{}", r.stderr);
        assert!(!env.path("x.png").exists());
    }
    // A small but sensible box still draws.
    env.run(&[
        "render",
        "t.json",
        "-o",
        "x.png",
        "--bbox",
        "2,48,3,49",
        "--width",
        "300",
    ])
    .ok();
    assert!(env.path("x.png").exists());
}

#[test]
fn addresses_with_ports_are_found_in_logs_and_read_as_lines() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write(
        "log.txt",
        "Accepted publickey for root from 1.0.0.9:51234 ssh2\n\
         upstream addr:2.0.0.1 status=200\n\
         tcp ESTAB 0 0 [2a00::5]:443 5.5.5.5:80\n\
         no address here: 12:30:45\n",
    );
    let r = env
        .run(&[
            "aggregate",
            "--db",
            db,
            "log.txt",
            "--extract",
            "--summary",
            "-",
        ])
        .ok();
    let s = crate::common::json(&r.stdout);
    assert_eq!(s["parsed"], 4, "{s}");
    assert_eq!(s["invalid_reasons"]["no_address"], 1, "{s}");
    assert_eq!(s["found"], 4, "{s}");
    // One per line, as `ss` and server logs print them.
    env.write(
        "lines.txt",
        "1.0.0.9:51234\n[2a00::5]:443\n[2a00::6]\n5.5.5.5:99999999\n\
         fe80::1%eth0\n[fe80::2%wlp3s0]:22\n",
    );
    let r = env
        .run(&["aggregate", "--db", db, "lines.txt", "--summary", "-"])
        .ok();
    let s = crate::common::json(&r.stdout);
    assert_eq!(s["parsed"], 5, "{s}");
    assert_eq!(s["invalid"], 1, "{s}");
    assert_eq!(s["found"], 3, "{s}");
    // Link-local addresses with their zone (as `ss` prints them): addresses, not found.
    assert_eq!(s["not_found_reasons"]["reserved"], 2, "{s}");
}

/// A zstd skippable frame carrying `payload` (pzstd writes one before each frame).
fn skippable(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x50, 0x2a, 0x4d, 0x18];
    v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

#[test]
fn compressed_input_is_recognised_from_enough_bytes_and_skippable_frames() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    let zst = |text: &str| {
        ruzstd::encoding::compress_to_vec(
            text.as_bytes(),
            ruzstd::encoding::CompressionLevel::Fastest,
        )
    };
    let expected = "country,count,share,unit\nUS,2,0.666667,addresses\nDE,1,0.333333,addresses\n";
    // As pzstd writes it: a skippable frame first, and another between two frames.
    let mut pz = skippable(&[0u8; 4]);
    pz.extend(zst("1.0.0.1\n2.0.0.1\n"));
    pz.extend(skippable(b"between frames"));
    pz.extend(zst("1.0.0.2\n"));
    env.write("p.zst", &pz);
    let r = env.run(&["aggregate", "--db", db, "p.zst"]).ok();
    assert_eq!(r.stdout, expected);
    // Through a pipe whose first reads are a byte or two long: still recognised.
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut e, b"1.0.0.1\n2.0.0.1\n1.0.0.2\n").unwrap();
        e.finish().unwrap()
    };
    for bytes in [gz, pz] {
        let mut child = env
            .command()
            .args(["aggregate", "--db", db, "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            for b in &bytes[..3] {
                stdin.write_all(&[*b]).unwrap();
                stdin.flush().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            stdin.write_all(&bytes[3..]).unwrap();
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            expected,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_closed_stderr_never_changes_the_exit_code() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n");
    env.write("gap.txt", "1.0.0.1\n4.0.0.1\n");
    let cases: [(&[&str], i32); 5] = [
        (&["aggregate", "--db", db, "missing.txt"], 1),
        (&["aggregate", "--db", "missing.mmdb", "in.txt"], 2),
        (&["aggregate", "--db", db, "in.txt", "--bogus-flag"], 2),
        (
            &[
                "aggregate",
                "--db",
                db,
                "in.txt",
                "--strict",
                "--countries",
                "/dev/null",
            ],
            0,
        ),
        (
            &["map", "--db", db, "gap.txt", "-o", "m", "--only", "map.png"],
            0,
        ),
    ];
    for round in 0..4 {
        for (args, code) in &cases {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            let status = env
                .command()
                .args(*args)
                .stdout(std::process::Stdio::null())
                .stderr(writer)
                .status()
                .unwrap();
            assert_eq!(status.code(), Some(*code), "round {round}: {args:?}");
        }
    }
}

#[test]
fn metadata_and_file_names_are_printed_without_terminal_escapes() {
    let env = TestEnv::new();
    let db = database_of_type(
        &env,
        "evil.mmdb",
        "City\u{1b}[2J\u{1b}]0;pwned\u{7}\nFake: line",
    );
    let r = env.run(&["info", "--db", db.to_str().unwrap()]).ok();
    assert!(
        !r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{7}'),
        "{:?}",
        r.stdout
    );
    assert!(r.stdout.contains("\\u{1b}[2J"), "{}", r.stdout);
    assert!(
        !r.stdout.lines().any(|l| l.starts_with("Fake:")),
        "{}",
        r.stdout
    );
    // JSON escapes them itself.
    let j = env
        .run(&["info", "--db", db.to_str().unwrap(), "--json"])
        .ok();
    assert!(
        crate::common::json(&j.stdout)["type"]
            .as_str()
            .unwrap()
            .contains('\u{1b}')
    );
    // A file name with an escape in an error message.
    let r = env.run(&[
        "aggregate",
        "--db",
        db.to_str().unwrap(),
        "no\u{1b}[31mfile\n.txt",
    ]);
    assert_eq!(r.code, 1);
    assert!(!r.stderr.contains('\u{1b}'), "{:?}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{:?}", r.stderr);
}

#[test]
fn duplicate_location_ids_are_bad_rows_and_the_first_range_in_the_file_stands() {
    let env = TestEnv::new();
    std::fs::create_dir(env.path("legacy")).unwrap();
    env.write(
        "legacy/GeoLiteCity-Location.csv",
        "Copyright (c) 2012 MaxMind LLC.  All Rights Reserved.\n\
         locId,country,region,city,postalCode,latitude,longitude,metroCode,areaCode\n\
         17,\"AU\",\"\",\"\",\"\",-27.0000,133.0000,,\n\
         18,\"JP\",\"\",\"\",\"\",36.0000,138.0000,,\n\
         17,\"FR\",\"\",\"\",\"\",46.0000,2.0000,,\n",
    );
    // Line 3 (1.0.0.128/25) comes before line 4 (1.0.0.0/24) in the file but after it in
    // address order: the first in the file stands.
    env.write(
        "legacy/GeoLiteCity-Blocks.csv",
        "Copyright (c) 2012 MaxMind LLC.  All Rights Reserved.\n\
         startIpNum,endIpNum,locId\n\
         \"16777344\",\"16777471\",\"18\"\n\
         \"16777216\",\"16777471\",\"17\"\n\
         \"16777472\",\"16777599\",\"17\"\n",
    );
    env.write("in.txt", "1.0.0.1\n1.0.0.200\n1.0.1.5\n");
    let r = env
        .run(&["aggregate", "--db", "legacy", "in.txt", "--countries", "-"])
        .ok();
    assert!(r.stderr.contains("2 rows skipped"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("GeoLiteCity-Location.csv:5: duplicate_location_id"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("GeoLiteCity-Blocks.csv:4: overlapping_range: 1.0.0.0-1.0.0.255"),
        "{}",
        r.stderr
    );
    // 17 stays AU (the first definition); 1.0.0.200 is JP (the first range in the file);
    // 1.0.0.1 lies only in the dropped range.
    assert_eq!(
        r.stdout,
        "country,count,share,unit\nAU,1,0.500000,addresses\nJP,1,0.500000,addresses\n"
    );
    let strict = env.run(&["aggregate", "--db", "legacy", "in.txt", "--strict"]);
    assert_eq!(strict.code, 3, "{}", strict.stderr);

    // GeoLite2 geoname ids the same way.
    std::fs::create_dir(env.path("g2")).unwrap();
    env.write(
        "g2/GeoLite2-City-Locations-en.csv",
        "geoname_id,locale_code,continent_code,continent_name,country_iso_code,country_name,subdivision_1_iso_code,subdivision_1_name,subdivision_2_iso_code,subdivision_2_name,city_name,metro_code,time_zone,is_in_european_union\n\
         1,en,EU,Europe,DE,Germany,,,,,,,Europe/Berlin,1\n\
         1,en,EU,Europe,FR,France,,,,,,,Europe/Paris,1\n",
    );
    env.write(
        "g2/GeoLite2-City-Blocks-IPv4.csv",
        "network,geoname_id,registered_country_geoname_id,represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider,postal_code,latitude,longitude,accuracy_radius\n\
         1.0.0.0/24,1,,,0,0,,52.5,13.4,20\n",
    );
    let r = env
        .run(&["aggregate", "--db", "g2", "in.txt", "--countries", "-"])
        .ok();
    assert!(
        r.stderr
            .contains("GeoLite2-City-Locations-en.csv:3: duplicate_location_id"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("DE,2,"), "{}", r.stdout);
}

#[test]
fn build_db_keeps_the_parts_of_a_row_outside_aliased_space() {
    let env = TestEnv::new();
    std::fs::create_dir(env.path("db")).unwrap();
    env.write("db/dbip-country-ipv4.csv", "1.0.0.0,1.0.0.255,AU\n");
    // 2000::/3 as one row: it covers 2002::/16 (6to4, aliased to the IPv4 data).
    env.write(
        "db/dbip-country-ipv6.csv",
        "2000::,3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,US\n",
    );
    let r = env.run(&["build-db", "--from", "db", "-o", "db.mmdb"]).ok();
    assert!(
        r.stderr
            .contains("dbip-country-ipv6.csv:1: aliased_network: 2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("2 IPv6 ranges"), "{}", r.stderr);
    let r = env
        .run(&[
            "lookup",
            "--db",
            "db.mmdb",
            "2001:db8::1",
            "3fff::1",
            "2003::1",
            "2002:100::1",
        ])
        .ok();
    assert_eq!(
        csv_column(&r.stdout, 1),
        ["US", "US", "US", "AU"],
        "{}",
        r.stdout
    );
    // --strict refuses the cut row alike in build-db and in --db.
    let b = env.run(&["build-db", "--from", "db", "-o", "strict.mmdb", "--strict"]);
    assert_eq!(b.code, 3, "{}", b.stderr);
    assert!(!env.path("strict.mmdb").exists());
    let d = env.run(&["lookup", "--db", "db", "--strict", "2001:db8::1"]);
    assert_eq!(d.code, 3, "{}", d.stderr);
}

#[test]
fn a_huge_field_or_a_zip_bomb_keeps_memory_bounded() {
    use std::io::Write;
    let env = TestEnv::new();
    env.write("in.txt", "1.0.0.1\n1.0.1.1\n");
    // A 200 MB field in a plain CSV database: a bad row, never held whole.
    std::fs::create_dir(env.path("long")).unwrap();
    {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(env.path("long/dbip-city-ipv4.csv")).unwrap(),
        );
        f.write_all(b"1.0.0.0,1.0.0.255,AU,Queensland,,").unwrap();
        let block = vec![b'A'; 1 << 20];
        for _ in 0..200 {
            f.write_all(&block).unwrap();
        }
        f.write_all(b",,-27.4,153.0,\n1.0.1.0,1.0.1.255,JP,Tokyo,,Tokyo,,35.6,139.7,\n")
            .unwrap();
    }
    let mut child = env
        .command()
        .args([
            "aggregate",
            "--db",
            "long",
            "in.txt",
            "--countries",
            "c.csv",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let peak = crate::common::peak_rss_kib(&mut child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("dbip-city-ipv4.csv:1: field_too_long"),
        "{stderr}"
    );
    assert_eq!(
        env.read("c.csv"),
        "country,count,share,unit\nJP,1,1.000000,addresses\n"
    );
    assert!(peak < 150 * 1024, "peak RSS {peak} KiB for a 200 MB field");

    // A 500 MB field deflated into a zip of about 0.5 MB: refused as a bomb, quickly.
    let py = std::process::Command::new("python3")
        .current_dir(env.dir.path())
        .args([
            "-c",
            "import zipfile\n\
             with zipfile.ZipFile('bomb.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n\
             \x20   z.writestr('dbip-city-ipv4.csv', b'1.0.0.0,1.0.0.255,AU,' + b'A' * 500_000_000 + b'\\n')\n",
        ])
        .status()
        .unwrap();
    assert!(py.success());
    assert!(std::fs::metadata(env.path("bomb.zip")).unwrap().len() < 2 << 20);
    let mut child = env
        .command()
        .args(["aggregate", "--db", "bomb.zip", "in.txt"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let peak = crate::common::peak_rss_kib(&mut child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("zip bomb"), "{stderr}");
    assert!(peak < 150 * 1024, "peak RSS {peak} KiB for a zip bomb");
}

#[test]
fn whole_db_and_the_prefix_walk_classify_gaps_alike() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    let whole = env
        .run(&["aggregate", "--db", db, "--whole-db", "--summary", "-"])
        .ok();
    let whole = crate::common::json(&whole.stdout);
    env.write("all.txt", "0.0.0.0/0\n192.0.0.0/22\n");
    let walk = env
        .run(&[
            "aggregate",
            "--db",
            db,
            "all.txt",
            "--summary",
            "-",
            "--lookup",
            "tree",
        ])
        .ok();
    let walk = crate::common::json(&walk.stdout);
    let reasons = |s: &serde_json::Value| s["by_family"]["ipv4"]["not_found_reasons"].clone();
    // The walk read 0.0.0.0/0 plus 192.0.0.0/22: 512 more reserved, 512 more no_record.
    let (w, k) = (reasons(&whole), reasons(&walk));
    assert_eq!(
        k["reserved"].as_u64().unwrap() - w["reserved"].as_u64().unwrap(),
        512,
        "{w} {k}"
    );
    assert_eq!(
        k["no_record"].as_u64().unwrap() - w["no_record"].as_u64().unwrap(),
        512,
        "{w} {k}"
    );
    // 192.0.1.0/24 is not reserved space (192.0.0.0/24 and 192.0.2.0/24 are).
    env.write("one.txt", "192.0.1.0/24\n");
    let one = env
        .run(&["aggregate", "--db", db, "one.txt", "--summary", "-"])
        .ok();
    assert_eq!(
        crate::common::json(&one.stdout)["not_found_reasons"]["no_record"],
        256
    );
}

#[test]
fn a_corrupt_record_gives_the_same_answer_and_error_on_every_lookup_path() {
    let env = TestEnv::new();
    let mut w = mmdb_writer::Writer::builder("GeoIP2-City").build();
    for (net, cc) in [("1.0.0.0/24", "US"), ("2.0.0.0/16", "DE")] {
        w.insert_value(
            net.parse::<ipnet::IpNet>().unwrap(),
            nested(Some(cc), None, None),
        )
        .unwrap();
    }
    let mut bytes = w.to_bytes().unwrap();
    // The string "DE" (control byte 0x42) becomes an invalid extended type.
    let at = bytes
        .windows(3)
        .position(|x| x == b"\x42DE")
        .expect("DE in the data section");
    bytes[at] = 0x02;
    let db = env.write("corrupt.mmdb", &bytes);
    let db = db.to_str().unwrap();
    env.write("good.txt", "1.0.0.1\n1.0.0.2\n");
    env.write("bad.txt", "1.0.0.1\n2.0.0.1\n");
    for lookup in ["tree", "table", "auto"] {
        let r = env
            .run(&[
                "aggregate",
                "--db",
                db,
                "good.txt",
                "--lookup",
                lookup,
                "--no-cache",
            ])
            .ok();
        assert_eq!(
            r.stdout, "country,count,share,unit\nUS,2,1.000000,addresses\n",
            "{lookup}"
        );
        let r = env.run(&[
            "aggregate",
            "--db",
            db,
            "bad.txt",
            "--lookup",
            lookup,
            "--no-cache",
        ]);
        assert_eq!(r.code, 2, "{lookup}: {}", r.stderr);
        assert!(
            r.stderr.contains("cannot decode a record"),
            "{lookup}: {}",
            r.stderr
        );
    }
}
