#!/usr/bin/env bash
# Rebuilds assets/subdivisions/ (committed): the US states (50 and DC) from the npm package
# us-atlas 3.0.1 (states-10m.json: the US Census Bureau's cartographic state boundaries,
# 2017 edition, 1:10m, public domain; package ISC), converted from TopoJSON by mapshaper
# 0.7.70 and written as a shapefile with ISO 3166-2 codes by scripts/subdivisions.py
# (pyshp from PyPI). Needs python3 and node.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent us-atlas@3.0.1 >/dev/null && tar xzf us-atlas-3.0.1.tgz)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet pyshp==2.3.1
npm install --silent --prefix "$work/npm" mapshaper@0.7.70 >/dev/null
"$work/npm/node_modules/.bin/mapshaper" -i "$work/package/states-10m.json" \
  -target states -o format=geojson id-field=id "$work/states.json"
mkdir -p assets/subdivisions
"$work/venv/bin/python" scripts/subdivisions.py "$work/states.json" assets/subdivisions/us-states
printf 'UTF-8' > assets/subdivisions/us-states.cpg
cp assets/basemap/world.prj assets/subdivisions/us-states.prj
ls -l assets/subdivisions
