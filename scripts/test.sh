#!/usr/bin/env bash
# The whole test suite: fetch the test data (once), then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-test-data.sh
cargo test --locked --all-targets
# The library's documented examples run too (--all-targets leaves doc tests out).
cargo test --locked --doc
