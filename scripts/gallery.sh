#!/usr/bin/env bash
# Regenerates docs/gallery/ from GeoLite2-City 2018-07 (fetched by fetch-geolite2-2018.sh).
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
$ipatlas sample --db $db -n 1000000 --seed 7 -o "$work/sample.txt"
$ipatlas map --db $db "$work/sample.txt" -o "$work/europe" --quiet \
  --bbox -12,34,35,62 --mode cells --cell 0.25 --style light --drop-coarse --width 1000 \
  --title "1M sampled addresses in Europe, 0.25° cells"
cp "$work/europe/map.png" docs/gallery/europe-cells-light.png
$ipatlas render "$work/whole/tally.json" -o docs/gallery/per-capita-robinson.png \
  --mode choropleth --per-capita --projection robinson --style light --width 1000 \
  --title "IPv4 addresses per million people, July 2018"
ls -l docs/gallery
