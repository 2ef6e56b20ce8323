//! Shared test helpers: running the built binary in a temp directory, fixture databases
//! built with mmdb-writer, and the fetched MaxMind test data.

use ipnet::IpNet;
use mmdb_writer::{IpVersion, Value, Writer};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, UNIX_EPOCH};

/// A temporary working directory and the binary under test.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

/// What a run of the binary produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success; stderr:\n{}\nstdout:\n{}",
            self.stderr, self.stdout
        );
        self
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).expect("write test file");
        p
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ipatlas"));
        c.current_dir(self.dir.path())
            // Isolate from any database installed on the machine.
            .env_remove("IPATLAS_DB")
            .env("IPATLAS_SEARCH_PATH", self.dir.path().join("no-such-dir"))
            // Compiled tables are cached inside the test's own directory.
            .env("IPATLAS_CACHE_DIR", self.dir.path().join("cache"));
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut c = self.command();
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = c.spawn().expect("spawn ipatlas");
        if let Some(data) = stdin {
            use std::io::Write;
            let mut pipe = child.stdin.take().expect("stdin");
            let data = data.to_vec();
            std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            });
        }
        let out: Output = child.wait_with_output().expect("wait ipatlas");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

fn net(s: &str) -> IpNet {
    s.parse().expect("fixture network")
}

/// A GeoIP2-shaped record: `country.iso_code`, `registered_country.iso_code` and
/// `location.{latitude,longitude,accuracy_radius}`, each where given.
pub fn nested(
    country: Option<&str>,
    registered: Option<&str>,
    loc: Option<(f64, f64, u16)>,
) -> Value {
    let mut entries: Vec<(&str, Value)> = Vec::new();
    if let Some(c) = country {
        entries.push(("country", Value::map([("iso_code", Value::from(c))])));
    }
    if let Some(c) = registered {
        entries.push((
            "registered_country",
            Value::map([("iso_code", Value::from(c))]),
        ));
    }
    if let Some((lat, lon, r)) = loc {
        entries.push((
            "location",
            Value::map([
                ("latitude", Value::from(lat)),
                ("longitude", Value::from(lon)),
                ("accuracy_radius", Value::from(r)),
            ]),
        ));
    }
    if entries.is_empty() {
        entries.push(("continent", Value::map([("code", Value::from("EU"))])));
    }
    Value::map(entries)
}

fn flat(country: &str, lat: Option<f32>, lon: Option<f32>) -> Value {
    let coord = |v: Option<f32>| v.map_or(Value::from(""), Value::from);
    Value::map([
        ("city", Value::from("")),
        ("country_code", Value::from(country)),
        ("latitude", coord(lat)),
        ("longitude", coord(lon)),
        ("postcode", Value::from("")),
        ("state1", Value::from("")),
        ("state2", Value::from("")),
        ("timezone", Value::from("")),
    ])
}

fn write_db(path: &Path, writer: &Writer) {
    std::fs::write(path, writer.to_bytes().expect("serialize fixture")).expect("write fixture");
}

/// Build date of every fixture: 2020-01-02.
pub const FIXTURE_EPOCH: u64 = 1_577_923_200;

/// The fixture databases, with known answers listed in `NESTED_NETWORKS`.
pub struct Fixtures {
    /// GeoIP2-City-like (nested schema), IPv6 tree with IPv4 data.
    pub nested: PathBuf,
    /// ip-location-db-like (flat schema, f32 coordinates, "" for unknown), IPv4-only tree.
    pub flat_v4: PathBuf,
    /// The IPv6 half of the flat pair: an IPv6 tree with no IPv4 data.
    pub flat_v6: PathBuf,
}

/// A fixture network: (network, country, registered country, (lat, lon, radius)).
pub type FixtureNetwork = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<(f64, f64, u16)>,
);

/// The nested fixture's networks.
pub const NESTED_NETWORKS: &[FixtureNetwork] = &[
    (
        "1.0.0.0/24",
        Some("US"),
        Some("US"),
        Some((37.751, -97.822, 1000)),
    ),
    ("2.0.0.0/16", Some("DE"), Some("DE"), Some((51.0, 9.0, 100))),
    ("3.0.0.0/8", None, Some("JP"), Some((35.0, 139.0, 500))),
    ("4.0.0.0/24", None, None, None),
    (
        "5.5.5.0/24",
        Some("FR"),
        Some("FR"),
        Some((48.85, 2.35, 20)),
    ),
    ("6.0.0.0/24", Some("NO"), None, None),
    ("7.0.0.0/24", Some("AQ"), None, Some((-90.0, -180.0, 1000))),
    ("8.0.0.0/24", Some("CA"), None, Some((90.0, 180.0, 1000))),
    ("2a00::/16", Some("GB"), Some("GB"), Some((51.5, -0.1, 50))),
    ("2a01::/32", Some("TW"), Some("TW"), Some((25.0, 121.5, 20))),
];

impl Fixtures {
    pub fn build(dir: &Path) -> Fixtures {
        let epoch = UNIX_EPOCH + Duration::from_secs(FIXTURE_EPOCH);
        let mut w = Writer::builder("GeoIP2-City").build_epoch(epoch).build();
        for (n, c, r, loc) in NESTED_NETWORKS {
            w.insert_value(net(n), nested(*c, *r, *loc))
                .expect("insert");
        }
        let nested_path = dir.join("fixture-city.mmdb");
        write_db(&nested_path, &w);

        let mut w = Writer::builder("ipdb-city")
            .ip_version(IpVersion::V4)
            .build_epoch(epoch)
            .build();
        w.insert_value(net("1.0.0.0/24"), flat("US", Some(37.751), Some(-97.822)))
            .expect("insert");
        w.insert_value(net("9.9.9.0/24"), flat("", None, None))
            .expect("insert");
        w.insert_value(net("11.0.0.0/16"), flat("BR", Some(-15.78), Some(-47.93)))
            .expect("insert");
        let flat_v4 = dir.join("ipdb-city-ipv4.mmdb");
        write_db(&flat_v4, &w);

        let mut w = Writer::builder("ipdb-city")
            .ip_version(IpVersion::V6)
            .ipv4_aliasing(mmdb_writer::Ipv4Aliasing::Disabled)
            .build_epoch(epoch)
            .build();
        w.insert_value(net("2a00::/16"), flat("GB", Some(51.5), Some(-0.1)))
            .expect("insert");
        let flat_v6 = dir.join("ipdb-city-ipv6.mmdb");
        write_db(&flat_v6, &w);

        Fixtures {
            nested: nested_path,
            flat_v4,
            flat_v6,
        }
    }
}

/// A file from MaxMind's test data (fetched by scripts/fetch-test-data.sh). Missing data
/// fails the test: it never skips.
pub fn maxmind_data(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".testdata/maxminddb-3.2.0/tests/data")
        .join(rel);
    assert!(
        p.exists(),
        "test data {} is missing: run scripts/fetch-test-data.sh (scripts/test.sh does)",
        p.display()
    );
    p
}

/// The Python interpreter with the `maxminddb` reader (fetched by scripts/fetch-test-data.sh).
pub fn python_with_maxminddb() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".testdata/venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/fetch-test-data.sh",
        p.display()
    );
    p
}

/// Parses CSV text into rows of fields (simple: no quoted commas in our outputs' numbers).
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    r.records()
        .map(|rec| rec.expect("csv row").iter().map(str::to_owned).collect())
        .collect()
}

/// Field `k` (0-based) of every row of a CSV text after its header line.
pub fn csv_column(text: &str, k: usize) -> Vec<String> {
    csv_rows(text)
        .into_iter()
        .skip(1)
        .map(|mut row| row.swap_remove(k))
        .collect()
}

/// A xorshift64 sequence from `seed` (each call steps, then gives the new state): fixed
/// pseudo-random numbers for test inputs.
pub fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// `n` IPv4 lines spread over the fixtures' networks (1.x to 8.x), one per line.
pub fn synthetic_ips(n: u32) -> String {
    (0..n)
        .map(|i| format!("{}.{}.{}.{}\n", 1 + i % 8, (i >> 8) & 255, i & 255, i % 7))
        .collect()
}

/// The compressed formats inputs may come in, by their usual file suffix.
pub const COMPRESSED: [&str; 4] = ["gz", "zst", "bz2", "xz"];

/// `text` compressed as `format` (one of [`COMPRESSED`]) by the crates ipatlas reads it
/// with (or their encoders).
pub fn compressed(format: &str, text: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match format {
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        "zst" => {
            ruzstd::encoding::compress_to_vec(text, ruzstd::encoding::CompressionLevel::Fastest)
        }
        "bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        "xz" => {
            let options = lzma_rust2::XzOptions::with_preset(6);
            let mut e = lzma_rust2::XzWriter::new(Vec::new(), options).unwrap();
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        other => panic!("no such format: {other}"),
    }
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// Waits for `child` and returns its peak resident memory (VmHWM), in KiB.
pub fn peak_rss_kib(child: &mut std::process::Child) -> u64 {
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(kb) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
        {
            peak = peak.max(kb);
        }
        if child.try_wait().unwrap().is_some() {
            return peak;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// True when the tests run as root (some checks need another user's files, which only root
/// can make).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A fresh test directory with the fixture databases built in it.
pub fn fixture_env() -> (TestEnv, Fixtures) {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    (env, fx)
}

/// A hand-written tally with one place per (lat, lon, count).
pub fn tally_with(env: &TestEnv, name: &str, places: &[(f64, f64, u64)]) -> String {
    let places: Vec<(&str, f64, f64, u64)> = places
        .iter()
        .map(|(lat, lon, n)| ("FR", *lat, *lon, *n))
        .collect();
    tally_of(env, name, &places)
}

/// A hand-written tally with one place per (country, lat, lon, count).
pub fn tally_of(env: &TestEnv, name: &str, places: &[(&str, f64, f64, u64)]) -> String {
    let rows: Vec<String> = places
        .iter()
        .map(|(country, lat, lon, n)| format!(r#"{{"country":"{country}","lat":{lat},"lon":{lon},"accuracy_radius":10,"ipv4":{n},"ipv6":0}}"#))
        .collect();
    let text = format!(
        r#"{{"format":"ipatlas-tally","version":1,"generator":"test","databases":[],"counters":{{"lines":0,"skipped":0,"parsed":0,"invalid_reasons":{{}},"ipv4_records":0,"ipv6_records":0,"ipv4_prefixes":0,"ipv6_prefixes":0,"ipv4_not_found":{{}},"ipv6_not_found":{{}}}},"places":[{}]}}"#,
        rows.join(",")
    );
    env.write(name, text);
    name.to_owned()
}

/// Reads a PNG the binary wrote.
pub fn decode(path: &Path) -> tiny_skia::Pixmap {
    tiny_skia::Pixmap::load_png(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

/// Compares with a committed reference image: at most 0.5% of pixels may differ by more
/// than 8 per channel (anti-aliasing may differ in the last bit between CPUs). On a mismatch
/// writes expected | difference | actual next to the test output. IPATLAS_BLESS=1 rewrites
/// the reference instead.
pub fn assert_matches_reference(actual: &Path, name: &str) {
    let reference = reference_dir().join(name);
    if std::env::var_os("IPATLAS_BLESS").is_some() {
        std::fs::create_dir_all(reference_dir()).unwrap();
        std::fs::copy(actual, &reference).unwrap();
        return;
    }
    assert!(
        reference.exists(),
        "{} is missing: run with IPATLAS_BLESS=1 to create it, and look at it",
        reference.display()
    );
    let (a, e) = (decode(actual), decode(&reference));
    assert_eq!(
        (a.width(), a.height()),
        (e.width(), e.height()),
        "{name}: size"
    );
    let mut diff = tiny_skia::Pixmap::new(a.width() * 3, a.height()).unwrap();
    let mut bad = 0usize;
    for y in 0..a.height() {
        for x in 0..a.width() {
            let (pa, pe) = (
                a.pixel(x, y).unwrap().demultiply(),
                e.pixel(x, y).unwrap().demultiply(),
            );
            let d = [
                pa.red().abs_diff(pe.red()),
                pa.green().abs_diff(pe.green()),
                pa.blue().abs_diff(pe.blue()),
            ];
            let worst = *d.iter().max().unwrap();
            if worst > 8 {
                bad += 1;
            }
            let put = |p: &mut tiny_skia::Pixmap, xx: u32, c: tiny_skia::ColorU8| {
                let i = (y * p.width() + xx) as usize;
                p.pixels_mut()[i] = c.premultiply();
            };
            put(&mut diff, x, pe);
            let m = if worst > 8 {
                255
            } else {
                worst.saturating_mul(16)
            };
            put(
                &mut diff,
                a.width() + x,
                tiny_skia::ColorU8::from_rgba(m, 0, 0, 255),
            );
            put(&mut diff, 2 * a.width() + x, pa);
        }
    }
    let limit = (a.width() * a.height()) as usize / 200;
    if bad > limit {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("diff-{name}"));
        diff.save_png(&out).unwrap();
        panic!(
            "{name}: {bad} pixels differ (limit {limit}); expected | difference | actual in {}",
            out.display()
        );
    }
}
