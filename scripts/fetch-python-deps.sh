#!/usr/bin/env bash
# Installs what the Python package's build and tests need: the pinned PyPI packages of
# python/requirements-test.txt (maturin, pyarrow, pandas, polars, geopandas, Dask, PySpark)
# and a Java runtime for Spark (Debian's openjdk-17-jre-headless, when java is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -r python/requirements-test.txt
if ! command -v java >/dev/null; then
  sudo_=""
  [ "$(id -u)" -ne 0 ] && sudo_="sudo"
  $sudo_ apt-get update -qq
  $sudo_ apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
java -version 2>&1 | head -1 >&2
