#!/usr/bin/env bash
# The Python package: install its build and test dependencies, build the abi3 wheel once
# (release, in the workspace's target/ so a warm cache is reused), install it, and run its
# tests (core, Dask, Spark) against the ipatlas binary the Rust suite built.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-python-deps.sh
rm -rf target/wheels
python3 -m maturin build --release --locked --quiet -m python/Cargo.toml --out target/wheels
python3 -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/pyipatlas-*.whl
cargo build --locked --quiet --bin ipatlas
IPATLAS_BIN="$PWD/target/debug/ipatlas" python3 -m pytest -q -p no:cacheprovider python/tests
