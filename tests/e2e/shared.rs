//! Regression tests for outputs in a shared world: streams, pipes, symlinks and concurrent
//! runs. Each test is named for what it pins.

use crate::common::{TestEnv, fixture_env, is_root};
use std::io::{Seek, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Stdio;

#[test]
fn descriptor_names_are_written_through_the_descriptor_never_renamed_over() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n");
    // `--summary /dev/stderr 2>> app.log`: appended, earlier lines and mode kept.
    let log = env.write("app.log", "earlier line\n");
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o640)).unwrap();
    let append = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let status = env
        .command()
        .args([
            "aggregate",
            "--db",
            db,
            "in.txt",
            "--summary",
            "/dev/stderr",
            "--countries",
            "/dev/null",
        ])
        .stderr(append)
        .status()
        .unwrap();
    assert!(status.success());
    let text = env.read("app.log");
    assert!(text.starts_with("earlier line\n{"), "{text}");
    assert!(text.contains("\"lines\": 1"), "{text}");
    assert_eq!(std::fs::metadata(&log).unwrap().mode() & 0o777, 0o640);

    // `{ echo HEADER; ipatlas ... --countries /dev/stdout; echo FOOTER; } > report.txt`,
    // and the same through /dev/fd/1 and /proc/self/fd/1.
    for name in ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"] {
        let mut report = std::fs::File::create(env.path("report.txt")).unwrap();
        report.write_all(b"HEADER\n").unwrap();
        let status = env
            .command()
            .args(["aggregate", "--db", db, "in.txt", "--countries", name])
            .stdout(report.try_clone().unwrap())
            .status()
            .unwrap();
        assert!(status.success(), "{name}");
        report.seek(std::io::SeekFrom::End(0)).unwrap();
        report.write_all(b"FOOTER\n").unwrap();
        assert_eq!(
            env.read("report.txt"),
            "HEADER\ncountry,count,share,unit\nUS,1,1.000000,addresses\nFOOTER\n",
            "{name}"
        );
    }
    // A symlink to a descriptor name is the descriptor too.
    std::os::unix::fs::symlink("/dev/stdout", env.path("to-stdout")).unwrap();
    let r = env
        .run(&[
            "aggregate",
            "--db",
            db,
            "in.txt",
            "--countries",
            "to-stdout",
        ])
        .ok();
    assert_eq!(
        r.stdout,
        "country,count,share,unit\nUS,1,1.000000,addresses\n"
    );
    assert!(
        std::fs::symlink_metadata(env.path("to-stdout"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// Runs `args` with stdout a pipe whose reader is already gone.
fn with_closed_stdout(env: &TestEnv, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = env
        .command()
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_on_one_output_still_writes_every_other_output() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", crate::common::synthetic_ips(5000));
    let (code, err) = with_closed_stdout(
        &env,
        &[
            "aggregate",
            "--db",
            db,
            "in.txt",
            "--cells",
            "-",
            "--countries",
            "c.csv",
            "--tally",
            "t.json",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(env.read("c.csv").starts_with("country,count,share,unit\n"));
    assert!(env.read("t.json").contains("ipatlas-tally"));
    let (code, err) = with_closed_stdout(
        &env,
        &[
            "geojson",
            "--db",
            db,
            "in.txt",
            "-o",
            "-",
            "--shapefile",
            "shp",
            "--layer",
            "places",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    for ext in ["shp", "shx", "dbf", "prj"] {
        assert!(env.path(&format!("shp/places.{ext}")).exists(), "{ext}");
    }
    // Any other failure still writes nothing and exits 1.
    let r = env.run(&[
        "aggregate",
        "--db",
        db,
        "in.txt",
        "--cells",
        "/dev/full",
        "--countries",
        "d.csv",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!env.path("d.csv").exists());
}

#[test]
fn two_runs_writing_the_same_outputs_never_leave_a_mix() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    // Two inputs with different answers (and line counts), so every file says which run it is.
    env.write("a.txt", "1.0.0.1\n".repeat(3000));
    env.write("b.txt", "2.0.0.1\n".repeat(2000));
    for round in 0..20 {
        let spawn = |input: &str| {
            env.command()
                .args([
                    "aggregate",
                    "--db",
                    db,
                    input,
                    "--countries",
                    "out/c.csv",
                    "--tally",
                    "out/t.json",
                    "--summary",
                    "out/s.json",
                    "--cells",
                    "out/cells.csv",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        std::fs::create_dir_all(env.path("out")).unwrap();
        let (mut a, mut b) = (spawn("a.txt"), spawn("b.txt"));
        assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
        let lines = crate::common::json(&env.read("out/s.json"))["lines"]
            .as_u64()
            .unwrap();
        let tally = crate::common::json(&env.read("out/t.json"));
        assert_eq!(
            tally["counters"]["lines"].as_u64(),
            Some(lines),
            "round {round}"
        );
        let country = if lines == 3000 { "US" } else { "DE" };
        assert!(
            env.read("out/c.csv")
                .contains(&format!("{country},{lines},")),
            "round {round}: {} for {lines} lines",
            env.read("out/c.csv")
        );
    }
    // map -o DIR runs, the same way.
    for round in 0..4 {
        let spawn = |input: &str| {
            env.command()
                .args(["map", "--db", db, input, "-o", "m", "--width", "200"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let (mut a, mut b) = (spawn("a.txt"), spawn("b.txt"));
        assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
        let lines = crate::common::json(&env.read("m/summary.json"))["lines"].as_u64();
        let tally = crate::common::json(&env.read("m/tally.json"));
        assert_eq!(
            tally["counters"]["lines"].as_u64(),
            lines,
            "map round {round}"
        );
    }
}

#[test]
fn output_symlinks_are_resolved_once_and_never_followed_where_the_kernel_would_not() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("victim.txt", "precious\n");
    env.write("out.csv", "old\n");
    // A regular out.csv replaced by a symlink while the run works: refused, nothing written.
    let mut child = env
        .command()
        .args(["aggregate", "--db", db, "-", "--countries", "out.csv"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // More than a pipe holds: once this is written, the run is reading its input, so its
    // outputs were resolved.
    stdin
        .write_all("1.0.0.1\n".repeat(40_000).as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    std::fs::remove_file(env.path("out.csv")).unwrap();
    std::os::unix::fs::symlink("victim.txt", env.path("out.csv")).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("resolves differently"), "{stderr}");
    assert_eq!(env.read("victim.txt"), "precious\n");

    // A dangling symlink is followed like a live one: its target is created.
    std::os::unix::fs::symlink("made.csv", env.path("dangling.csv")).unwrap();
    env.write("in.txt", "1.0.0.1\n");
    env.run(&[
        "aggregate",
        "--db",
        db,
        "in.txt",
        "--countries",
        "dangling.csv",
    ])
    .ok();
    assert!(env.read("made.csv").starts_with("country,count"));
    assert!(
        std::fs::symlink_metadata(env.path("dangling.csv"))
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // protected_symlinks: a link planted by another user in a sticky world-writable
    // directory is not followed (as root, which could otherwise replace any file).
    if is_root() {
        let shared = env.path("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let secret = env.write("secret", "root only\n");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = shared.join("report.csv");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(4321), Some(4321)).unwrap();
        let r = env.run(&[
            "aggregate",
            "--db",
            db,
            "in.txt",
            "--countries",
            "shared/report.csv",
        ]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("sticky"), "{}", r.stderr);
        assert_eq!(env.read("secret"), "root only\n");
        assert_eq!(std::fs::metadata(&secret).unwrap().mode() & 0o777, 0o600);
    }
}

/// Runs the binary through `sh -c "SETUP; exec ipatlas ARGS"` (a closed descriptor, a limit).
fn via_shell(env: &TestEnv, setup: &str, args: &[&str]) -> crate::common::Run {
    let script = format!("{setup}; exec \"$0\" \"$@\"");
    let out = std::process::Command::new("sh")
        .current_dir(env.dir.path())
        .env_remove("IPATLAS_DB")
        .env("IPATLAS_SEARCH_PATH", env.path("no-such-dir"))
        .env("IPATLAS_CACHE_DIR", env.path("cache"))
        .arg("-c")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_ipatlas"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    crate::common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_closed_stdout_and_too_few_descriptors_are_io_errors() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n");
    for args in [
        vec!["aggregate", "--db", db, "in.txt"],
        vec!["lookup", "--db", db, "1.0.0.1"],
        vec!["geojson", "--db", db, "in.txt"],
    ] {
        let r = via_shell(&env, "exec >&-", &args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("stdout is closed"), "{}", r.stderr);
    }
    // Files still work with stdout closed; /dev/null as stdout is not "closed".
    via_shell(
        &env,
        "exec >&-",
        &["aggregate", "--db", db, "in.txt", "--countries", "c.csv"],
    )
    .ok();
    assert!(env.read("c.csv").contains("US,1,"));
    via_shell(
        &env,
        "exec >/dev/null",
        &["aggregate", "--db", db, "in.txt"],
    )
    .ok();
    // Out of descriptors while opening the database: an I/O error, not a bad database.
    let r = via_shell(&env, "ulimit -n 5", &["aggregate", "--db", db, "in.txt"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("Too many open files"), "{}", r.stderr);
}

#[test]
fn arguments_are_checked_before_any_work_and_messages_quote_what_was_typed() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n");
    for (flag, value) in [("--cell", "-inf"), ("--cell", "1e-300"), ("--blur", "-1")] {
        let cmd = if flag == "--blur" { "map" } else { "aggregate" };
        let mut args = vec![cmd, "--db", db, "in.txt", flag, value];
        if cmd == "map" {
            args.extend(["-o", "m"]);
        }
        let r = env.run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        // Quoted as typed: --cell is checked by the argument parser, which names the flag.
        let quoted = if flag == "--cell" {
            format!("invalid value '{value}' for '--cell <DEG>'")
        } else {
            format!("got {value}")
        };
        assert!(r.stderr.contains(&quoted), "{}", r.stderr);
        assert!(r.stderr.len() < 200, "{}", r.stderr);
        assert!(r.stderr.starts_with("ipatlas: error:"), "{}", r.stderr);
    }
    // clap's own errors carry the same prefix.
    let r = env.run(&["aggregate", "--bogus"]);
    assert!(
        r.stderr
            .starts_with("ipatlas: error: unexpected argument '--bogus'"),
        "{}",
        r.stderr
    );
    // --only and --prefix are refused before the input is read: stdin is never closed here.
    for bad in [["--only", "nope.png"], ["--prefix", "a/b"]] {
        let mut child = env
            .command()
            .args(["map", "--db", db, "-", "-o", "m"])
            .args(bad)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{bad:?} waited for input"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn pseudo_country_codes_mean_no_country_in_mmdb_and_csv_alike() {
    let env = TestEnv::new();
    let mut w = mmdb_writer::Writer::builder("ipdb-country")
        .ip_version(mmdb_writer::IpVersion::V4)
        .build();
    let codes = ["ZZ", "EU", "XX", "A1", "A2", "O1", "AP", "US"];
    for (i, cc) in codes.iter().enumerate() {
        w.insert_value(
            format!("{}.0.0.0/8", i + 1)
                .parse::<ipnet::IpNet>()
                .unwrap(),
            mmdb_writer::Value::map([("country_code", mmdb_writer::Value::from(*cc))]),
        )
        .unwrap();
    }
    let db = env.write("flat.mmdb", w.to_bytes().unwrap());
    let ips: String = (1..=codes.len()).map(|i| format!("{i}.1.2.3\n")).collect();
    env.write("in.txt", &ips);
    let summary = |db: &str| {
        let r = env
            .run(&[
                "aggregate",
                "--db",
                db,
                "in.txt",
                "--summary",
                "-",
                "--countries",
                "c.csv",
            ])
            .ok();
        (crate::common::json(&r.stdout), env.read("c.csv"))
    };
    let (s, c) = summary(db.to_str().unwrap());
    // 8 found, one with a real country: its share is of all 8.
    assert_eq!(c, "country,count,share,unit\nUS,1,0.125000,addresses\n");
    assert_eq!(s["found"], 8);
    assert_eq!(s["with_country"], 1);
    // The summary counts them by code.
    let pseudo = serde_json::json!({"A1": 1, "A2": 1, "AP": 1, "EU": 1, "O1": 1, "XX": 1, "ZZ": 1});
    assert_eq!(s["pseudo_countries"], pseudo, "{s}");
    // export then build-db: the same answers, and the codes kept as the source wrote them.
    env.run(&["export", "--db", db.to_str().unwrap(), "-o", "csv"])
        .ok();
    let exported = std::fs::read_dir(env.path("csv"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(exported.contains(",EU,"), "{exported}");
    env.run(&["build-db", "--from", "csv", "-o", "back.mmdb", "--quiet"])
        .ok();
    let (s2, c2) = summary("back.mmdb");
    assert_eq!(c2, c);
    assert_eq!(s2["with_country"], s["with_country"]);
    assert_eq!(s2["pseudo_countries"], pseudo, "{s2}");
    // The same rows as a CSV database, and a tally of them, count the same way.
    let (s3, c3) = summary("csv");
    assert_eq!((c3, &s3["pseudo_countries"]), (c.clone(), &pseudo));
    env.run(&["aggregate", "--db", "csv", "in.txt", "--tally", "t.json"])
        .ok();
    let r = env
        .run(&[
            "aggregate",
            "t.json",
            "--summary",
            "-",
            "--countries",
            "c4.csv",
        ])
        .ok();
    let _ = r;
    let m = env
        .run(&["map", "t.json", "-o", "m", "--only", "summary.json"])
        .ok();
    let _ = m;
    let s4 = crate::common::json(&env.read("m/summary.json"));
    assert_eq!(s4["pseudo_countries"], pseudo, "{s4}");
}

#[test]
fn build_db_keeps_wide_accuracy_radii_and_city_names_as_written() {
    let env = TestEnv::new();
    std::fs::create_dir(env.path("g2")).unwrap();
    env.write(
        "g2/GeoLite2-City-Locations-en.csv",
        "geoname_id,locale_code,continent_code,continent_name,country_iso_code,country_name,subdivision_1_iso_code,subdivision_1_name,subdivision_2_iso_code,subdivision_2_name,city_name,metro_code,time_zone,is_in_european_union\n\
         1,en,NA,\"North America\",US,\"United States\",,,,,\"Springfield\r\n\",,,0\n",
    );
    env.write(
        "g2/GeoLite2-City-Blocks-IPv4.csv",
        "network,geoname_id,registered_country_geoname_id,represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider,postal_code,latitude,longitude,accuracy_radius\n\
         1.0.0.0/24,1,,,0,0,,39.8,-89.6,70000\n\
         2.0.0.0/24,1,,,0,0,,39.8,-89.6,4000000000\n\
         3.0.0.0/24,1,,,0,0,,39.8,-89.6,-5\n",
    );
    let r = env.run(&["build-db", "--from", "g2", "-o", "g2.mmdb"]).ok();
    assert!(
        r.stderr
            .contains("GeoLite2-City-Blocks-IPv4.csv:4: bad_accuracy_radius"),
        "{}",
        r.stderr
    );
    let r = env
        .run(&["lookup", "--db", "g2.mmdb", "1.0.0.1", "2.0.0.1", "3.0.0.1"])
        .ok();
    assert_eq!(
        crate::common::csv_column(&r.stdout, 4),
        ["70000", "4000000000", ""],
        "{}",
        r.stdout
    );
    env.run(&["export", "--db", "g2.mmdb", "-o", "back"]).ok();
    let locations = env.read("back/GeoLite2-City-Locations-en.csv");
    assert!(locations.contains("\"Springfield\r\n\""), "{locations:?}");
}

#[test]
fn threads_beyond_the_cores_are_capped_and_said_so() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", crate::common::synthetic_ips(20_000));
    let cores = std::thread::available_parallelism().unwrap().get();
    let started = std::time::Instant::now();
    let r = env
        .run(&[
            "aggregate",
            "--db",
            db,
            "in.txt",
            "--threads",
            "10000",
            "--summary",
            "-",
        ])
        .ok();
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(
        r.stderr
            .contains(&format!("--threads 10000 capped at {cores}")),
        "{}",
        r.stderr
    );
    assert_eq!(crate::common::json(&r.stdout)["threads"], cores);
}

#[test]
fn shapefile_counts_past_2_to_the_53_are_flagged() {
    let (env, fx) = fixture_env();
    let db = fx.nested.to_str().unwrap();
    env.write("in.txt", "1.0.0.1\n");
    env.run(&["aggregate", "--db", db, "in.txt", "--tally", "t.json"])
        .ok();
    let big = env
        .read("t.json")
        .replace("\"ipv4\":1,", &format!("\"ipv4\":{},", (1u64 << 60) + 1));
    env.write("big.json", big);
    let r = env
        .run(&[
            "geojson",
            "big.json",
            "--layer",
            "places",
            "-o",
            "p.geojson",
            "--shapefile",
            "shp",
        ])
        .ok();
    assert!(r.stderr.contains("above 2^53 are rounded"), "{}", r.stderr);
    assert!(
        env.read("p.geojson")
            .contains(&format!("\"count\":{}", (1u64 << 60) + 1))
    );
    let r = env
        .run(&[
            "geojson",
            "t.json",
            "--layer",
            "places",
            "--shapefile",
            "shp2",
        ])
        .ok();
    assert!(!r.stderr.contains("2^53"), "{}", r.stderr);
}

#[test]
fn file_names_that_are_not_utf8_work_everywhere_and_show_marked() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let (env, fx) = crate::common::fixture_env();
    let name = |bytes: &[u8]| OsStr::from_bytes(bytes).to_os_string();
    let input = name(b"ips-\xff.txt");
    std::fs::write(env.dir.path().join(&input), "1.0.0.1\nnot an address\n").unwrap();
    let db = name(b"city-\xfe.mmdb");
    std::fs::copy(&fx.nested, env.dir.path().join(&db)).unwrap();
    let (countries, invalid, dir) = (
        name(b"c-\xfd.csv"),
        name(b"bad-\xfc.csv"),
        name(b"map-\xfb"),
    );
    let run = |args: &[&OsStr]| {
        let out = env.command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let os = |s: &'static str| OsStr::new(s);
    run(&[
        os("aggregate"),
        os("--db"),
        &db,
        &input,
        os("--countries"),
        &countries,
        os("--invalid-out"),
        &invalid,
        os("--summary"),
        os("s.json"),
    ]);
    let table = std::fs::read_to_string(env.dir.path().join(&countries)).unwrap();
    assert!(table.contains("US,1,"), "{table}");
    // Names that are not UTF-8 are shown with U+FFFD where the bytes were.
    let bad = std::fs::read_to_string(env.dir.path().join(&invalid)).unwrap();
    assert!(bad.contains("ips-\u{fffd}.txt,2,not_an_address"), "{bad}");
    let s = crate::common::json(&env.read("s.json"));
    // JSON records the name the same marked way.
    assert_eq!(s["database"]["path"], "city-\u{fffd}.mmdb");
    run(&[
        os("map"),
        &db,
        &input,
        os("-o"),
        &dir,
        os("--only"),
        os("tally.json,map.png"),
    ]);
    let tally = env.dir.path().join(&dir).join("tally.json");
    assert!(tally.exists());
    run(&[
        os("render"),
        tally.as_os_str(),
        os("-o"),
        &name(b"r-\xfa.png"),
        os("--width"),
        os("200"),
    ]);
    assert!(env.dir.path().join(name(b"r-\xfa.png")).exists());
}
