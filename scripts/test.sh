#!/usr/bin/env bash
# The whole test suite: fetch the test data (once), then run every test: the Rust library
# and binary, the documented examples, the Python package built as a wheel and
# installed as users install it, then the interactive page in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-test-data.sh
cargo test --locked --all-targets
# The library's documented examples run too (--all-targets leaves doc tests out).
cargo test --locked --doc
scripts/test-python.sh
scripts/test-browser.sh
