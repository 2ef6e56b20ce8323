//! Regression tests for outputs in a shared world: streams, pipes, symlinks and concurrent
//! runs. Each test is named for what it pins.

use crate::common::{Fixtures, TestEnv};
use std::io::{Seek, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Stdio;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn descriptor_names_are_written_through_the_descriptor_never_renamed_over() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
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
            "HEADER\ncountry,count,share\nUS,1,1.000000\nFOOTER\n",
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
    assert_eq!(r.stdout, "country,count,share\nUS,1,1.000000\n");
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
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
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
    assert!(env.read("c.csv").starts_with("country,count,share\n"));
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
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
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
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
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
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
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
