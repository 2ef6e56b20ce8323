//! Faults, each run against the built binary: full disks, unwritable places, signals,
//! damaged compressed input, a database changed under a run, hostile input, bad tallies.

use crate::common::*;
use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Files in the test directory whose names start with `.ipatlas-` (temporary outputs).
fn temporaries(env: &TestEnv) -> Vec<String> {
    std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ipatlas-"))
        .collect()
}

#[test]
fn a_full_disk_or_an_unwritable_place_fails_cleanly_and_keeps_earlier_outputs() {
    let env = TestEnv::new();
    env.write("ips.txt", synthetic_ips(1000));
    env.write("prev.csv", "previous\n");
    let full = env.run(&["aggregate", "ips.txt", "--countries", "/dev/full"]);
    assert_eq!(full.code, 1, "{}", full.stderr);
    assert_eq!(full.stderr.lines().count(), 1, "{}", full.stderr);
    assert!(full.stderr.contains("/dev/full"), "{}", full.stderr);
    for place in ["no-such-dir/s.json", "prev.csv/s.json"] {
        let r = env.run(&[
            "aggregate",
            "ips.txt",
            "--summary",
            place,
            "--countries",
            "prev.csv",
        ]);
        assert_eq!(r.code, 1, "{place}: {}", r.stderr);
        assert!(r.stderr.contains(place), "{}", r.stderr);
        assert_eq!(env.read("prev.csv"), "previous\n", "{place}");
    }
    // A read-only directory (root writes anywhere, so this part needs another user).
    let ro = env.path("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    let r = env.run(&["aggregate", "ips.txt", "--countries", "ro/c.csv"]);
    if is_root() {
        assert_eq!(r.code, 0, "root may write there: {}", r.stderr);
    } else {
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(!env.path("ro/c.csv").exists());
    }
    assert!(temporaries(&env).is_empty(), "{:?}", temporaries(&env));
}

/// Starts `args` (an `aggregate -` with `--invalid-out`) with a pipe for stdin, writes
/// `first` into it, and waits until the `--invalid-out` temporary file exists (the
/// databases are loaded and the run is under way).
fn start_run(env: &TestEnv, args: &[&str], first: &[u8]) -> (Child, std::process::ChildStdin) {
    let mut child = env
        .command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(first).unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while temporaries(env).is_empty() {
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, stdin)
}

#[test]
fn sigint_and_sigterm_leave_no_partial_output_and_exit_130_or_143() {
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let env = TestEnv::new();
        env.write("out.csv", "previous\n");
        let args = [
            "aggregate",
            "-",
            "--countries",
            "out.csv",
            "--invalid-out",
            "bad.csv",
            "--lookup",
            "tree",
        ];
        let (child, stdin) = start_run(&env, &args, (synthetic_ips(20_000) + "junk\n").as_bytes());
        // SAFETY: kill with a valid pid and signal number has no memory effects.
        let sent = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        assert_eq!(sent, 0);
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
        assert_eq!(env.read("out.csv"), "previous\n");
        assert!(!env.path("bad.csv").exists());
        assert!(temporaries(&env).is_empty(), "{:?}", temporaries(&env));
    }
}

#[test]
fn truncated_compressed_inputs_name_the_file_and_how_far_they_got() {
    let env = TestEnv::new();
    // Scattered addresses compress about as real dumps do (xz hands out nothing of a
    // chunk it cannot finish, and a chunk of very regular text is 2 MiB).
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
    let text: String = (0..200_000)
        .map(|_| {
            let b = next().to_le_bytes();
            format!("{}.{}.{}.{}\n", 1 + b[0] % 8, b[1], b[2], b[3])
        })
        .collect();
    env.write("whole.txt", "9.9.9.9\n8.8.8.8\n");
    for format in COMPRESSED {
        let name = &format!("cut.{format}");
        let bytes = compressed(format, text.as_bytes());
        env.write(name, &bytes[..bytes.len() * 2 / 3]);
        let r = env.run(&["aggregate", name, "whole.txt", "--summary", "s.json"]);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains(name), "{}", r.stderr);
        let how_far: u64 = r
            .stderr
            .split("after ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no line count in: {}", r.stderr));
        assert!(how_far > 10_000 && how_far < 200_000, "{how_far}");
        assert!(!env.path("s.json").exists(), "no summary from a failed run");
        // --keep-going: the lines before the damage and every later input are counted.
        let k = env
            .run(&[
                "aggregate",
                name,
                "whole.txt",
                "--keep-going",
                "--summary",
                "s.json",
            ])
            .ok();
        assert!(k.stderr.contains("--keep-going"), "{}", k.stderr);
        let s = json(&env.read("s.json"));
        assert_eq!(s["truncated_inputs"], 1);
        assert_eq!(s["lines"], how_far + 2, "{name}");
        assert_eq!(
            s["invalid"], 0,
            "the partial last line is not counted as a record"
        );
        std::fs::remove_file(env.path("s.json")).unwrap();
    }
}

#[test]
fn a_database_truncated_or_replaced_during_a_run_changes_nothing() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = env.path("db.mmdb");
    std::fs::copy(&fx.nested, &db).unwrap();
    let expected = env
        .run_with_stdin(
            &[
                "aggregate",
                "--db",
                db.to_str().unwrap(),
                "-",
                "--lookup",
                "tree",
            ],
            Some((synthetic_ips(40_000) + &synthetic_ips(40_000)).as_bytes()),
        )
        .ok()
        .stdout;
    let args = [
        "aggregate",
        "--db",
        db.to_str().unwrap(),
        "-",
        "--invalid-out",
        "bad.csv",
    ];
    let (child, mut stdin) = start_run(&env, &args, synthetic_ips(40_000).as_bytes());
    // Truncated in place, then overwritten with another database, mid-run.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(100)
        .unwrap();
    std::fs::copy(&fx.flat_v4, &db).unwrap();
    stdin.write_all(synthetic_ips(40_000).as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
}

/// Peak resident memory of a child, in KiB, read from /proc while it runs.
#[test]
fn hostile_input_is_counted_by_reason_with_bounded_memory() {
    let env = TestEnv::new();
    let mut data: Vec<u8> = b"\xEF\xBB\xBF1.0.0.1\n".to_vec();
    for i in 0..50_000u32 {
        if i % 10 == 0 {
            // 10% junk of every kind.
            data.extend_from_slice(match i % 50 {
                0 => b"1.2.3.4\x00\n".as_slice(),
                10 => b"\xff\xfe\xfd\n",
                20 => b"999.1.1.1\n",
                30 => b"not an address\n",
                _ => b"2001:db8::zz\n",
            });
        } else {
            data.extend_from_slice(format!("1.0.{}.{}\n", i % 200, i % 250).as_bytes());
        }
    }
    // A 100 MB line without a newline, at the very end.
    data.extend(std::iter::repeat_n(b'7', 100 << 20));
    env.write("hostile.txt", &data);
    drop(data);
    let mut child = env
        .command()
        .args([
            "aggregate",
            "hostile.txt",
            "--summary",
            "s.json",
            "--lookup",
            "tree",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let peak = peak_rss_kib(&mut child);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(peak > 1024, "the peak was measured: {peak} KiB");
    assert!(peak < 120 * 1024, "peak RSS {peak} KiB for a 100 MB line");
    let s = json(&env.read("s.json"));
    assert_eq!(s["lines"], 50_002);
    assert_eq!(s["parsed"], 45_001);
    let r = &s["invalid_reasons"];
    assert_eq!(r["line_too_long"], 1, "{s}");
    assert_eq!(r["not_utf8"], 1000, "{s}");
    assert_eq!(s["invalid"], 5001, "{s}");
}

#[test]
fn render_refuses_truncated_and_newer_tallies_with_one_line() {
    let env = TestEnv::new();
    env.write("ips.txt", synthetic_ips(100));
    env.run(&["aggregate", "ips.txt", "--tally", "t.json"]).ok();
    let text = env.read("t.json");
    env.write("cut.json", &text[..text.len() / 2]);
    env.write("newer.json", text.replace("\"version\":2", "\"version\":5"));
    for (file, needle) in [("cut.json", "cut.json"), ("newer.json", "version 5")] {
        let r = env.run(&["render", file, "-o", "m.png"]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains(needle), "{}", r.stderr);
        assert!(!env.path("m.png").exists());
        let g = env.run(&["geojson", file, "-o", "g.geojson"]);
        assert_eq!(g.code, 2, "{}", g.stderr);
    }
}
