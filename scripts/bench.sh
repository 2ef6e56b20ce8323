#!/usr/bin/env bash
# Side-by-side benchmark: ipatlas against the C (libmaxminddb + OpenMP) and Python
# (maxminddb C extension) peers on GeoLite2-City 2018-07, in one run, on this machine.
#   scripts/bench.sh           10M and 100M lines
#   scripts/bench.sh --quick   10M lines only
# Needs: python3, gcc, and (installed here when missing, as root) libmaxminddb-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=${1:-}
db=$(scripts/fetch-geolite2-2018.sh)
work=data/bench
mkdir -p "$work"
cargo build --release --quiet
ipatlas=target/release/ipatlas

# The peers.
if [ ! -e /usr/include/maxminddb.h ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmaxminddb-dev >/dev/null
fi
cc -O3 -fopenmp benches/peers/mmdb_c_agg.c -lmaxminddb -lm -o "$work/mmdb_c_agg"
if ! "$work/venv/bin/python" -c 'import maxminddb' 2>/dev/null; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install --quiet maxminddb==3.2.0
fi

# The dumps (deterministic: same seed, same database, same files).
sizes="10000000"
[ "$quick" = "--quick" ] || sizes="$sizes 100000000"
for n in 1000 1000000 $sizes; do
  [ -s "$work/ips-$n.txt" ] || $ipatlas sample --db "$db" -n "$n" --seed 7 -o "$work/ips-$n.txt"
done

# Compiled IPv4 tables are cached here; the first runs of each size start without one.
export IPATLAS_CACHE_DIR="$work/cache"

rows=()
measure() { # reps name lines command...: median wall seconds and peak RSS (MB) over reps runs
  local reps=$1 name=$2 lines=$3; shift 3
  local walls=() rss=0 t w r start end
  for _ in $(seq "$reps"); do
    # Wall time to the millisecond (time's %e has hundredths: too coarse for 0.1 s runs).
    start=$(date +%s%N)
    t=$( { /usr/bin/time -f "%e %M" "$@" >/dev/null 2>"$work/err"; } 2>&1; tail -1 "$work/err")
    end=$(date +%s%N)
    w=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    r=$(echo "$t" | tail -1 | cut -d' ' -f2)
    walls+=("$w"); [ "$r" -gt "$rss" ] && rss=$r
  done
  local wall; wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (reps + 1) / 2 ))p")
  rows+=("$name|$lines|$wall|$((rss / 1024))")
}
for n in $sizes; do
  f="$work/ips-$n.txt"
  cat "$f" >/dev/null # page cache
  rm -rf "$IPATLAS_CACHE_DIR" "$work"/first.*
  # First runs: three, each with an empty cache directory of its own (one run alone is
  # noisy on a VM); the first one's table then serves the warm runs.
  measure 3 "ipatlas, 2 threads, first run (builds table)" "$n" \
    bash -c 'IPATLAS_CACHE_DIR=$(mktemp -d "$0") exec "$@"' "$work/first.XXXXXX" \
    $ipatlas aggregate --db "$db" "$f" --quiet --countries /dev/null --cells /dev/null --summary /dev/null
  first=$(ls -d "$work"/first.* | head -1)
  mv "$first" "$IPATLAS_CACHE_DIR"
  rm -rf "$work"/first.*
  measure 5 "ipatlas, 2 threads" "$n" $ipatlas aggregate --db "$db" "$f" --quiet --countries "$work/ipatlas-$n.csv" --cells /dev/null --summary /dev/null
  measure 3 "ipatlas, 1 thread" "$n" $ipatlas aggregate --db "$db" "$f" --quiet --threads 1 --countries /dev/null --cells /dev/null --summary /dev/null
  measure 1 "C libmaxminddb+OpenMP, 2 threads" "$n" "$work/mmdb_c_agg" "$db" "$f" "$work/c-$n.csv"
  # The peers agree with ipatlas on every country count.
  python3 - "$work/c-$n.csv" "$work/ipatlas-$n.csv" <<'PY'
import csv, sys
c = {r["country"]: int(r["count"]) for r in csv.DictReader(open(sys.argv[1]))}
i = {r["country"]: int(r["count"]) for r in csv.DictReader(open(sys.argv[2]))}
assert c == i, f"C and ipatlas disagree on {len(set(c.items()) ^ set(i.items()))} country counts"
print(f"agreement: C and ipatlas give the same counts for all {len(c)} countries", file=sys.stderr)
PY
done
# IPv6: only IPv6 addresses, and half and half (tables cached; see README).
for share in 1 0.5; do
  f6="$work/ips-v6share$share-2000000.txt"
  [ -s "$f6" ] || $ipatlas sample --db "$db" -n 2000000 --seed 7 --ipv6-share "$share" -o "$f6"
  cat "$f6" >/dev/null
  # Warm, as the IPv4 runs: one run first builds and caches the IPv6 table.
  $ipatlas aggregate --db "$db" "$f6" --lookup table --quiet --countries /dev/null --cells /dev/null --summary /dev/null
  measure 5 "ipatlas, 2 threads, IPv6 share $share" 2000000 $ipatlas aggregate --db "$db" "$f6" --quiet --countries "$work/ipatlas-v6-$share.csv" --cells /dev/null --summary /dev/null
  measure 3 "C libmaxminddb+OpenMP, 2 threads, IPv6 share $share" 2000000 "$work/mmdb_c_agg" "$db" "$f6" "$work/c-v6-$share.csv"
  python3 - "$work/c-v6-$share.csv" "$work/ipatlas-v6-$share.csv" <<'PY'
import csv, sys
c = {r["country"]: int(r["count"]) for r in csv.DictReader(open(sys.argv[1]))}
i = {r["country"]: int(r["count"]) for r in csv.DictReader(open(sys.argv[2]))}
assert c == i, f"C and ipatlas disagree on {len(set(c.items()) ^ set(i.items()))} country counts"
PY
done
f1m="$work/ips-1000000.txt"
measure 1 "Python maxminddb (1M lines)" 1000000 "$work/venv/bin/python" benches/peers/py_maxminddb_agg.py "$db" "$f1m"
$ipatlas aggregate --db "$db" "$f1m" --quiet --summary "$work/s1m.json"
"$work/venv/bin/python" benches/peers/py_maxminddb_agg.py "$db" "$f1m" > "$work/py-1m.txt"
python3 - "$work/py-1m.txt" "$work/s1m.json" <<'PY'
import json, sys
first = open(sys.argv[1]).readline().split()
py = dict(kv.split("=") for kv in first)
s = json.load(open(sys.argv[2]))
ours = {"resolved": s["found"] - s["without_location"], "countries": s["countries"]}
assert int(py["resolved"]) == ours["resolved"] and int(py["countries"]) == ours["countries"], (py, ours)
print(f"agreement: Python and ipatlas: {ours['resolved']} located, {ours['countries']} countries of 1M", file=sys.stderr)
PY
measure 3 "ipatlas lookup, rows to CSV" 10000000 $ipatlas lookup --db "$db" "$work/ips-10000000.txt"
measure 9 "ipatlas, 1,000 lines (process start to exit)" 1000 $ipatlas aggregate --db "$db" "$work/ips-1000.txt" --quiet --summary /dev/null
measure 5 "ipatlas --whole-db (3.07M IPv4 networks)" 0 $ipatlas aggregate --db "$db" --whole-db --quiet --summary /dev/null
measure 3 "ipatlas --whole-db, no table cache" 0 $ipatlas aggregate --db "$db" --whole-db --quiet --no-cache --summary /dev/null

# --extract on a 1 GB web-server log (scripts/make-log.py: access, proxy, sshd, JSON and
# address-free lines, 20% of the addresses IPv6), against ripgrep pulling IPv4 addresses
# out with a regex into `ipatlas aggregate -`.
if ! command -v rg >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ripgrep >/dev/null
fi
log="$work/log-1024mb.txt"
[ -s "$log" ] || python3 scripts/make-log.py "$log" 1024
cat "$log" >/dev/null
v4='\b(?:\d{1,3}\.){3}\d{1,3}\b'
xrows=()
xmeasure() { # name command: median of 3 wall seconds
  local walls=()
  for _ in 1 2 3; do
    /usr/bin/time -f "%e" -o "$work/xtime" bash -c "$2" >/dev/null 2>/dev/null
    walls+=("$(tail -1 "$work/xtime")")
  done
  xrows+=("$1;$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 2p)")
}
xmeasure "ipatlas aggregate --extract" "$ipatlas aggregate --db '$db' --extract '$log' --quiet --countries /dev/null --summary '$work/extract.json'"
xmeasure "rg -o IPv4 regex, piped into ipatlas aggregate -" "rg -o '$v4' '$log' | $ipatlas aggregate --db '$db' - --quiet --countries /dev/null"
xmeasure "rg -o IPv4 regex alone" "rg -o '$v4' '$log'"
# Both find the same IPv4 addresses.
found_rg=$(rg -o "$v4" "$log" | wc -l)
python3 - "$work/extract.json" "$found_rg" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
ours = s["ipv4"]
assert ours == int(sys.argv[2]), (ours, sys.argv[2])
print(f"agreement: ipatlas --extract and rg find the same {ours} IPv4 addresses", file=sys.stderr)
PY

# One table; ratios are against ipatlas on the same file in this run.
echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); GeoLite2-City 2018-07-03; dumps from ipatlas sample --seed 7"
printf '| %-46s | %12s | %8s | %12s | %8s | %s |\n' "run" "lines" "wall s" "lines/s" "RSS MB" "ipatlas is"
printf '|%s|%s|%s|%s|%s|%s|\n' "------------------------------------------------" "--------------" "----------" "--------------" "----------" "----------"
declare -A ours
declare -A ours6
for r in "${rows[@]}"; do
  IFS='|' read -r name lines wall rss <<<"$r"
  [ "$name" = "ipatlas, 2 threads" ] && ours[$lines]=$wall
  case "$name" in "ipatlas, 2 threads, IPv6 share "*) ours6[${name##* }]=$wall;; esac
done
ours1m=$(python3 -c "import json; print(json.load(open('$work/s1m.json'))['elapsed_s'])")
for r in "${rows[@]}"; do
  IFS='|' read -r name lines wall rss <<<"$r"
  rate="-"; ratio="-"
  if [ "$lines" -gt 0 ]; then rate=$(python3 -c "print(f'{$lines/max($wall,0.001)/1e6:.2f}M')"); fi
  case "$name" in
    "C "*"IPv6 share "*) ratio=$(python3 -c "print(f'{$wall/${ours6[${name##* }]}:.1f}x faster')");;
    "C "*) ratio=$(python3 -c "print(f'{$wall/${ours[$lines]}:.1f}x faster')");;
    "Python"*) ratio=$(python3 -c "print(f'{($wall/$lines)/(${ours[10000000]}/10000000):.0f}x faster (per line, vs 10M run)')");;
  esac
  printf '| %-46s | %12s | %8s | %12s | %8s | %s |\n' "$name" "$lines" "$wall" "$rate" "$rss" "$ratio"
done
echo
mb=$(( $(stat -c %s "$log") / 1048576 ))
printf '| %-46s | %8s | %8s | %s |\n' "--extract, ${mb} MB log" "wall s" "MB/s" "ipatlas is"
printf '|%s|%s|%s|%s|\n' "------------------------------------------------" "----------" "----------" "----------"
xours=""
for r in "${xrows[@]}"; do
  IFS=';' read -r name wall <<<"$r"
  [ "$name" = "ipatlas aggregate --extract" ] && xours=$wall
done
for r in "${xrows[@]}"; do
  IFS=';' read -r name wall <<<"$r"
  ratio="-"
  case "$name" in rg*) ratio=$(python3 -c "print(f'{$wall/$xours:.1f}x faster')");; esac
  printf '| %-46s | %8s | %8s | %s |\n' "$name" "$wall" "$(python3 -c "print(f'{$mb/max($wall,0.001):.0f}')")" "$ratio"
done
