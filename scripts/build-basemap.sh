#!/usr/bin/env bash
# Rebuilds assets/basemap/ (committed) from Natural Earth 1:10m admin-0 countries v5.1.1
# ("deu" edition, public domain), in ../shared/data/naturalearth/ or at $NE_10M (path of the
# .shp without extension). Needs python3 (pyshp from PyPI) and node (mapshaper from npm).
#   world.*  : simplified for whole-world maps (a few hundred KB)
#   detail.* : finer, for --bbox maps of a region
set -euo pipefail
cd "$(dirname "$0")/.."
src=${NE_10M:-../shared/data/naturalearth/ne_10m_admin_0_countries_deu/ne_10m_admin_0_countries_deu}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet pyshp==2.3.1
npm install --silent --prefix "$work/npm" mapshaper@0.7.70 >/dev/null
"$work/venv/bin/python" scripts/basemap.py "$src" "$work/split"
ms="$work/npm/node_modules/.bin/mapshaper"
mkdir -p assets/basemap
# Topology-aware simplification keeps shared borders shared (no slivers or gaps between
# neighbours); keep-shapes keeps every small island.
"$ms" -i "$work/split.shp" encoding=utf8 -simplify 4% keep-shapes -o assets/basemap/world.shp
"$ms" -i "$work/split.shp" encoding=utf8 -simplify 15% keep-shapes -o assets/basemap/detail.shp
cp "$src.prj" assets/basemap/world.prj
cp "$src.prj" assets/basemap/detail.prj
ls -l assets/basemap
