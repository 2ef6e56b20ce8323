#!/usr/bin/env bash
# Regenerates docs/gallery/ from GeoLite2-City 2018-07 (fetched by fetch-geolite2-2018.sh),
# and a screenshot of the interactive page (headless Chromium, by scripts/screenshot-page.py).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-geolite2-2018.sh >/dev/null
cargo build --release --quiet
ipatlas=target/release/ipatlas
db=data/GeoLite2-City.mmdb
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
$ipatlas map --db $db --whole-db -o "$work/whole" --width 1200 --quiet \
  --title "The IPv4 address space, July 2018"
cp "$work/whole/map.png" docs/gallery/whole-ipv4-2018.png
# The same map for print: a PDF 180 mm wide at 300 dpi (its points an embedded image at that
# resolution, its countries paths and its text text, fonts embedded).
$ipatlas render "$work/whole/tally.json" -o docs/gallery/whole-ipv4-2018.pdf --quiet \
  --size 180mm --dpi 300 --title "The IPv4 address space, July 2018"
$ipatlas sample --db $db -n 1000000 --seed 7 -o "$work/sample.txt"
$ipatlas map --db $db "$work/sample.txt" -o "$work/europe" --quiet \
  --bbox -12,34,35,62 --mode cells --cell 0.25 --style light --drop-coarse --width 1000 \
  --title "1M sampled addresses in Europe, 0.25° cells"
cp "$work/europe/map.png" docs/gallery/europe-cells-light.png
# The interactive page of the same million addresses (1-degree cells, H3 resolution 3),
# screenshotted in headless Chromium with its hexagon layer shown.
$ipatlas map --db $db "$work/sample.txt" -o "$work/page" --only map.html,summary.json --quiet \
  --title "1M sampled addresses, July 2018"
scripts/fetch-browser.sh >/dev/null
python3 scripts/screenshot-page.py "$work/page/map.html" docs/gallery/page-hex.png hex 1200x760
python3 - "$work/page/summary.json" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["html"]
print("map.html:", h["bytes"], "bytes;", ", ".join(f"{l['id']} {l['features']}" for l in h["layers"]))
PY
# Then versus now: GeoLite2-City 2018 against the embedded DB-IP country database, by share.
$ipatlas aggregate --db embedded --whole-db --tally "$work/now.json" --quiet
$ipatlas compare "$work/whole/tally.json" "$work/now.json" -o "$work/compare" --quiet \
  --scale cbrt --width 1200 --title "Shares of the IPv4 address space by country, 2018 → 2026"
cp "$work/compare/map.png" docs/gallery/compare-2018-2026.png
$ipatlas render "$work/whole/tally.json" -o docs/gallery/per-capita-robinson.png \
  --mode choropleth --per-capita --projection robinson --style light --width 1000 \
  --title "IPv4 addresses per million people, July 2018"
# A regional map: the whole-db tally's IPv4 space by US state (the embedded US states).
$ipatlas render "$work/whole/tally.json" -o docs/gallery/us-states-2018.png \
  --mode choropleth --level subdivision --bbox=-125,24,-66,50 --style light \
  --colormap ylorrd --scale log --width 1000 --graticule \
  --title "IPv4 addresses per US state, July 2018"
# The same million addresses on a world centred on the Pacific (Equal Earth at 150°E).
$ipatlas map --db $db "$work/sample.txt" -o "$work/pacific" --only map.png --quiet \
  --projection equal-earth:150 --style light --colormap ylorrd --width 1200 --graticule \
  --title "1M sampled addresses, July 2018, centred on the Pacific"
cp "$work/pacific/map.png" docs/gallery/pacific-points-light.png
ls -l docs/gallery
