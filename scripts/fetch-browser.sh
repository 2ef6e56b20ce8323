#!/usr/bin/env bash
# Installs what the browser tests of the interactive page need: Debian's Chromium and the
# DejaVu fonts the page names (apt), and the pinned PyPI packages of
# tests/browser/requirements.txt (Playwright, which drives the system Chromium; it never
# downloads a browser).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -r tests/browser/requirements.txt
missing=()
command -v chromium >/dev/null || missing+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_=""
  [ "$(id -u)" -ne 0 ] && sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
chromium --version 2>/dev/null >&2
