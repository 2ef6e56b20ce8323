use crate::common::*;
use std::io::Write;

fn summary_of(env: &TestEnv, args: &[&str], stdin: Option<&[u8]>) -> serde_json::Value {
    let mut all = vec!["aggregate", "--summary", "s.json", "--countries", "c.csv"];
    all.extend_from_slice(args);
    env.run_with_stdin(&all, stdin).ok();
    json(&env.read("s.json"))
}

#[test]
fn compressed_inputs_are_decompressed_by_content_not_name() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let text = "1.0.0.1\n2.0.0.1\n5.5.5.5\n";
    for format in COMPRESSED {
        let bytes = compressed(format, text.as_bytes());
        let (one, misnamed, two) = (
            format!("a.txt.{format}"),
            format!("misnamed-{format}.txt"),
            format!("two.{format}"),
        );
        env.write(&one, &bytes);
        env.write(&misnamed, &bytes);
        // Two concatenated streams are one input, as `cat a.gz b.gz` (or pbzip2, or xz
        // with several streams) makes.
        env.write(&two, [bytes.clone(), bytes.clone()].concat());
        for (file, n) in [(&one, 3), (&misnamed, 3), (&two, 6)] {
            let s = summary_of(&env, &["--db", db, file], None);
            assert_eq!(s["found"], n, "{file}");
            assert_eq!(s["lines"], n, "{file}");
        }
        // From stdin too.
        let s = summary_of(&env, &["--db", db, "-"], Some(&bytes));
        assert_eq!(s["lines"], 3, "{format} on stdin");
    }
}

/// An xz stream whose block asks for a 4 GiB dictionary (its LZMA2 property byte set to
/// 40, the header's CRC made again).
fn xz_asking_for_4_gib(text: &[u8]) -> Vec<u8> {
    let mut xz = compressed("xz", text);
    let start = 12; // after the stream header
    let size = (usize::from(xz[start]) + 1) * 4;
    let header = &mut xz[start..start + size];
    let at = header
        .windows(2)
        .position(|w| w == [0x21, 0x01])
        .expect("an LZMA2 filter with one property byte")
        + 2;
    header[at] = 40;
    let mut crc = flate2::Crc::new();
    crc.update(&header[..size - 4]);
    header[size - 4..].copy_from_slice(&crc.sum().to_le_bytes());
    xz
}

#[test]
fn an_xz_input_asking_for_more_than_1_gib_is_refused_before_any_is_taken() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let text = b"1.0.0.1\n2.0.0.1\n";
    env.write("big.xz", xz_asking_for_4_gib(text));
    let r = env.run(&["aggregate", "--db", db, "big.xz", "--countries", "c.csv"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("big.xz: xz: the stream needs more than 1024 MiB to be decompressed"),
        "{}",
        r.stderr
    );
    assert!(!env.path("c.csv").exists());
    // The same bytes with the header's own dictionary are read: only the size was wrong.
    env.write("ok.xz", compressed("xz", text));
    let s = summary_of(&env, &["--db", db, "ok.xz"], None);
    assert_eq!(s["found"], 2);
}

#[test]
fn truncated_gzip_is_an_error_naming_the_file() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let mut text = String::new();
    for i in 0..50_000 {
        text.push_str(&format!("1.0.{}.{}\n", i / 256 % 256, i % 256));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    env.write("cut.gz", &gz[..gz.len() / 2]);
    let r = env.run(&["aggregate", "--db", db, "cut.gz", "--countries", "c.csv"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("cut.gz"), "{}", r.stderr);
    assert!(!env.path("c.csv").exists(), "no output after a failed run");
}

#[test]
fn stdin_dash_and_several_files_at_once() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    env.write("a.txt", "1.0.0.1\n");
    env.write("b.txt", "2.0.0.1\r\n2.0.0.2");
    let s = summary_of(
        &env,
        &["--db", db, "a.txt", "-", "b.txt"],
        Some(b"5.5.5.5\n"),
    );
    assert_eq!(s["found"], 4);
    assert_eq!(s["lines"], 4);
}

#[test]
fn csv_column_by_name_and_by_number() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    env.write(
        "log.csv",
        "time,client ip,bytes\n1,1.0.0.1,5\n2,\"2.0.0.9\",6\n3,,7\n4\n",
    );
    let s = summary_of(
        &env,
        &["--db", db, "log.csv", "--column", "client ip"],
        None,
    );
    assert_eq!(s["found"], 2);
    assert_eq!(s["skipped"], 1);
    assert_eq!(s["invalid_reasons"]["not_an_address"], 1);
    assert_eq!(s["invalid_reasons"]["missing_column"], 1);
    let s = summary_of(&env, &["--db", db, "log.csv", "--column", "2"], None);
    assert_eq!(s["found"], 2);
    assert_eq!(
        s["skipped"], 1,
        "a first line that is not an address is a header"
    );
    env.write("log.tsv", "1.0.0.1\tx\n2.0.0.1\ty\n");
    let s = summary_of(
        &env,
        &["--db", db, "log.tsv", "--column", "1", "--delimiter", "tab"],
        None,
    );
    assert_eq!(s["found"], 2);
    assert_eq!(s["skipped"], 0);
    let r = env.run(&["aggregate", "--db", db, "log.csv", "--column", "nope"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no column named \"nope\""),
        "{}",
        r.stderr
    );
}

#[test]
fn extract_mode_reads_web_server_logs() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    env.write(
        "access.log",
        "1.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326\n\
         2a00::1 - - [10/Oct/2000:13:55:37 -0700] \"GET /x HTTP/1.0\" 404 0 \"via 5.5.5.5\"\n\
         a line with no address\n",
    );
    let s = summary_of(&env, &["--db", db, "access.log", "--extract"], None);
    assert_eq!(s["parsed"], 3);
    assert_eq!(s["found"], 3);
    assert_eq!(s["invalid_reasons"]["no_address"], 1);
}

#[test]
fn invalid_records_are_counted_written_out_or_fatal_under_strict() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let mut data = b"1.0.0.1\nnot-an-ip\n300.1.2.3\n1.2.3\n::ffff:zz\n1.0.0.0/33\n".to_vec();
    data.extend_from_slice(b"\xff\xfe\n\x00\x01\n");
    env.write("junk.txt", &data);
    let s = summary_of(
        &env,
        &["--db", db, "junk.txt", "--invalid-out", "bad.csv"],
        None,
    );
    assert_eq!(s["invalid"], 7);
    assert_eq!(s["invalid_reasons"]["not_an_address"], 2);
    assert_eq!(s["invalid_reasons"]["bad_ipv4"], 2);
    assert_eq!(s["invalid_reasons"]["bad_ipv6"], 1);
    assert_eq!(s["invalid_reasons"]["bad_prefix"], 1);
    assert_eq!(s["invalid_reasons"]["not_utf8"], 1);
    let bad = csv_rows(&env.read("bad.csv"));
    assert_eq!(bad[0], vec!["input", "line", "reason", "text"]);
    assert_eq!(bad[1], vec!["junk.txt", "2", "not_an_address", "not-an-ip"]);
    assert_eq!(bad[7][1], "8");
    assert_eq!(bad.len(), 8);

    let r = env.run(&[
        "aggregate",
        "--db",
        db,
        "junk.txt",
        "--strict",
        "--countries",
        "strict.csv",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("junk.txt:2: invalid record (not_an_address)"),
        "{}",
        r.stderr
    );
    assert!(!env.path("strict.csv").exists());
}

#[test]
fn huge_lines_one_after_another_are_each_counted() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    // Each line longer than two chunks, so that each is skipped while it is read.
    let mut data = b"1.0.0.1\n".to_vec();
    for _ in 0..3 {
        data.extend(std::iter::repeat_n(b'9', 10 << 20));
        data.push(b'\n');
    }
    data.extend_from_slice(b"2.0.0.1\n");
    env.write("huge3.txt", &data);
    let s = summary_of(
        &env,
        &["--db", db, "huge3.txt", "--invalid-out", "bad.csv"],
        None,
    );
    assert_eq!(s["lines"], 5);
    assert_eq!(s["invalid_reasons"]["line_too_long"], 3);
    assert_eq!(s["found"], 2);
    let lines: Vec<String> = csv_column(&env.read("bad.csv"), 1);
    assert_eq!(lines, ["2", "3", "4"]);
}

#[test]
fn a_huge_line_without_newline_is_counted_not_held() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let mut data = b"1.0.0.1\n".to_vec();
    data.extend(std::iter::repeat_n(b'9', 20 << 20));
    data.extend_from_slice(b"\n\xEF\xBB\xBF2.0.0.1\n");
    env.write("huge.txt", &data);
    let s = summary_of(&env, &["--db", db, "huge.txt"], None);
    assert_eq!(s["invalid_reasons"]["line_too_long"], 1);
    assert_eq!(s["lines"], 3);
    // A BOM is only stripped at the start of a file; mid-file it makes the line invalid.
    assert_eq!(s["found"], 1);
    env.write("bom.txt", b"\xEF\xBB\xBF1.0.0.1\n");
    let s = summary_of(&env, &["--db", db, "bom.txt"], None);
    assert_eq!(s["found"], 1);
    assert_eq!(s["invalid"], 0);
}

#[test]
fn unreadable_inputs_are_errors_with_exit_code_1() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let r = env.run(&[
        "aggregate",
        "--db",
        db,
        "missing.txt",
        "--countries",
        "c.csv",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("missing.txt"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    std::fs::create_dir(env.path("adir")).unwrap();
    let r = env.run(&["aggregate", "--db", db, "adir"]);
    assert_eq!(r.code, 1);
    // An xz header with nothing valid after it: damage, named with the format.
    env.write("x.xz", b"\xfd7zXZ\x00rest");
    let r = env.run(&["aggregate", "--db", db, "x.xz"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("x.xz: xz: "), "{}", r.stderr);
    assert!(r.stderr.contains("after 0 complete lines"), "{}", r.stderr);
}

#[test]
fn outputs_are_atomic_and_a_failed_run_keeps_the_previous_file() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    env.write("c.csv", "previous\n");
    env.write("ips.txt", "1.0.0.1\nbad\n");
    let r = env.run(&[
        "aggregate",
        "--db",
        db,
        "ips.txt",
        "--strict",
        "--countries",
        "c.csv",
    ]);
    assert_eq!(r.code, 3);
    assert_eq!(env.read("c.csv"), "previous\n");
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let r = env.run(&[
        "aggregate",
        "--db",
        db,
        "ips.txt",
        "--countries",
        "/no/such/dir/c.csv",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("/no/such/dir/c.csv"), "{}", r.stderr);
}

#[test]
fn a_closed_stdout_pipe_is_not_an_error() {
    let env = TestEnv::new();
    let mut text = String::new();
    for i in 0..200_000u32 {
        text.push_str(&format!(
            "{}.{}.{}.1\n",
            1 + i % 200,
            (i >> 8) & 255,
            i & 255
        ));
    }
    env.write("many.txt", &text);
    let mut child = env
        .command()
        .args(["lookup", "many.txt"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Read;
        let mut first = [0u8; 100];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
    }
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Regression: the atomic rename once replaced `/dev/null` (run as root) with a regular file.
/// Special files are written in place; a symlink keeps pointing at its (replaced) target.
#[test]
fn outputs_to_fifos_devices_and_symlinks_write_through() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    env.write("ips.txt", "1.0.0.1\n");
    let fifo = env.path("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    env.run(&[
        "aggregate",
        "--db",
        db,
        "ips.txt",
        "--countries",
        fifo.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(
        reader.join().unwrap(),
        "country,count,share,unit\nUS,1,1.000000,addresses\n"
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "the FIFO must survive"
    );

    let out = env
        .run(&[
            "aggregate",
            "--db",
            db,
            "ips.txt",
            "--countries",
            "/dev/stdout",
            "--summary",
            "/dev/null",
        ])
        .ok();
    assert_eq!(
        out.stdout,
        "country,count,share,unit\nUS,1,1.000000,addresses\n"
    );
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );

    std::fs::create_dir(env.path("real")).unwrap();
    env.write("real/c.csv", "old\n");
    std::os::unix::fs::symlink(env.path("real/c.csv"), env.path("link.csv")).unwrap();
    env.run(&[
        "aggregate",
        "--db",
        db,
        "ips.txt",
        "--countries",
        "link.csv",
    ])
    .ok();
    assert!(
        std::fs::symlink_metadata(env.path("link.csv"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        env.read("real/c.csv"),
        "country,count,share,unit\nUS,1,1.000000,addresses\n"
    );
}
