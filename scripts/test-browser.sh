#!/usr/bin/env bash
# The interactive page in a real browser: headless Chromium from Debian, driven by
# Playwright, against pages the built ipatlas binary writes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-browser.sh
cargo build --locked --quiet --bin ipatlas
IPATLAS_BIN="$PWD/target/debug/ipatlas" python3 -m pytest -q -p no:cacheprovider tests/browser
