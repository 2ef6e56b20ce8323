#!/usr/bin/env bash
# pyipatlas on Spark and Dask and in-process lookups, against per-row Python maxminddb, in
# one run (benches/python/bench_python.py): 10M addresses of GeoLite2-City 2018 in Parquet.
#   scripts/bench-python.sh [N]     (N addresses, default 10000000)
# Builds and installs the wheel (release) and the Python dependencies first.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
db=$(scripts/fetch-geolite2-2018.sh)
scripts/fetch-python-deps.sh
python3 -m pip install --quiet --disable-pip-version-check maxminddb==3.2.0
python3 -m maturin build --release --locked --quiet -m python/Cargo.toml --out target/wheels
python3 -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/pyipatlas-*.whl
cargo build --release --quiet
work=data/bench
mkdir -p "$work"
[ -s "$work/ips-$n.txt" ] || target/release/ipatlas sample --db "$db" -n "$n" --seed 7 -o "$work/ips-$n.txt"
[ -s "$work/ips-$n.parquet" ] || python3 - "$work/ips-$n.txt" "$work/ips-$n.parquet" <<'PY'
import sys, pyarrow as pa, pyarrow.csv as csv, pyarrow.parquet as pq
t = csv.read_csv(sys.argv[1], read_options=csv.ReadOptions(column_names=["ip"]),
                 convert_options=csv.ConvertOptions(column_types={"ip": pa.string()}))
pq.write_table(t, sys.argv[2], row_group_size=1_000_000)
PY
nproc
python3 benches/python/bench_python.py "$PWD/$db" "$work/ips-$n.parquet"
