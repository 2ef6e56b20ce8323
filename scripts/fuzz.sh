#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) for SECONDS each (default 60) with libFuzzer,
# from seed corpora made of the test fixtures and MaxMind's test and bad-data databases
# (fetched by scripts/fetch-test-data.sh). Prints, per target, executions and coverage at
# the end; exits non-zero if any target crashed (the input is in fuzz/artifacts/<target>/;
# make it a regression test). Works on stable Rust: coverage instrumentation without a
# sanitizer (the code under test is safe Rust), with debug assertions (overflow checks) on.
#   scripts/fuzz.sh 600        plateau runs (see README, Reliability)
#   scripts/fuzz.sh 10         what CI runs
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/fetch-test-data.sh >/dev/null
if ! command -v cargo-fuzz >/dev/null; then
  cargo install --quiet --locked cargo-fuzz --version 0.13.2
fi
cargo fuzz build --sanitizer none -O >/dev/null 2>&1 || cargo fuzz build --sanitizer none -O
ipatlas_bin=target/debug/ipatlas   # only makes seed tallies; `cargo test` built it
[ -x "$ipatlas_bin" ] || cargo build --quiet

corpus=fuzz/corpus
seeds() { # target: fills fuzz/corpus/<target> from the fixtures (once)
  local t=$1 d="$corpus/$1"
  mkdir -p "$d"
  [ -n "$(ls -A "$d")" ] && return
  local data=.testdata/maxminddb-3.2.0/tests/data
  case $t in
    lines)
      printf '1.2.3.4\n10.0.0.0/8\n2001:db8::1\n# c\n\xef\xbb\xbf5.6.7.8\r\nbogus\n' > "$d/a"
      printf 'time,ip\n1,"8.8.8.8"\n2,::1\n' > "$d/b"
      printf '192.0.2.1 - - [10/Oct/2000] "GET / HTTP/1.0" 200 2326 from 2001:db8::7\n' > "$d/c"
      head -c 4000 fixtures/csv/ip-location-db/dbip-city-ipv4.csv > "$d/d"
      # Dotted quads at the fast path's edges: octets 255/256, leading zeros, line ends.
      printf '255.255.255.255\n1.2.3.256\n01.2.3.4\n1.2.3.4\r\n1.2.3.4\r\r\n1.2.3.4 \n0.0.0.0\n' > "$d/e"
      # IPv6 at its fast path's edges: compressions, nine groups, five digits, tails.
      printf '::\n1::\n::1\r\n1:2:3:4:5:6:7:8\n1:2:3:4:5:6:7:8:9\n12345::\n1:2:3:4:5:6:7::\n:::\n1::2::3\nfe80::1%%eth0\n::ffff:1.2.3.4\n2001:db8::/32\n1::2 \n1::2\r\r\n::' > "$d/f" ;;
    csv_db)
      { printf '\x00'; cat fixtures/csv/legacy/GeoLiteCity-Blocks.csv; printf '\xff'; cat fixtures/csv/legacy/GeoLiteCity-Location.csv; } > "$d/legacy"
      { printf '\x01'; cat fixtures/csv/geolite2-city/GeoLite2-City-Blocks-IPv4.csv; printf '\xff'; cat fixtures/csv/geolite2-city/GeoLite2-City-Locations-en.csv; } > "$d/geolite2"
      { printf '\x02'; cat fixtures/csv/ip-location-db/dbip-city-ipv4.csv; printf '\xff'; cat fixtures/csv/ip-location-db/dbip-city-ipv6.csv; } > "$d/iplocdb" ;;
    tally)
      printf '1.0.0.1\n8.8.8.8\n2001:db8::1\n' > /tmp/ipatlas-fuzz-ips.txt
      "$ipatlas_bin" aggregate --db embedded /tmp/ipatlas-fuzz-ips.txt --tally "$d/embedded.json" --quiet
      "$ipatlas_bin" aggregate --db "$data/test-data/GeoIP2-City-Test.mmdb" /tmp/ipatlas-fuzz-ips.txt --tally "$d/city.json" --quiet
      # A coarse tally (country and coordinates kept), its places still naming cities.
      sed 's/^{/{"detail":"coarse",/' "$d/city.json" > "$d/coarse.json" ;;
    mmdb)
      for f in "$data"/test-data/MaxMind-DB-test-*.mmdb "$data"/test-data/GeoIP2-City-Test.mmdb "$data"/test-data/GeoLite2-Country-Test.mmdb; do
        cp "$f" "$d/"
      done
      find "$data/bad-data" -name '*.mmdb' -size -64k -exec cp {} "$d/" \; ;;
    outputs)
      head -c 4096 /dev/urandom > "$d/random" ;;
    inputs)
      # The same lines plain and compressed (Python's own gzip, bzip2 and xz writers), and
      # two bzip2 streams back to back.
      python3 - "$d" <<'PY'
import bz2, gzip, lzma, sys
d = sys.argv[1]
text = b"1.2.3.4\n2001:db8::1\r\n# c\n\xef\xbb\xbf5.6.7.8\nbogus\n" * 20
for name, data in [("plain", text), ("gz", gzip.compress(text)), ("bz2", bz2.compress(text)),
                   ("bz2x2", bz2.compress(text) * 2), ("xz", lzma.compress(text)),
                   ("xz-sha256", lzma.compress(text, check=lzma.CHECK_SHA256))]:
    open(f"{d}/{name}", "wb").write(data)
PY
      ;;
  esac
}

status=0
printf '| %-8s | %8s | %12s | %10s | %8s |\n' target seconds executions "exec/s" coverage
printf '|%s|%s|%s|%s|%s|\n' ---------- ---------- -------------- ------------ ----------
for t in lines csv_db tally mmdb outputs inputs; do
  seeds "$t"
  log=fuzz/$t.log
  set +e
  cargo fuzz run --sanitizer none -O "$t" "$corpus/$t" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  printf '| %-8s | %8s | %12s | %10s | %8s |\n' "$t" "$seconds" "$runs" "$speed" "$cov"
  if [ "$rc" -ne 0 ]; then
    echo "fuzz target $t FAILED (exit $rc); see $log and fuzz/artifacts/$t/" >&2
    tail -30 "$log" >&2
    status=1
  fi
done
exit $status
