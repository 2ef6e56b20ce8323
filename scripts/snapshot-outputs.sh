#!/usr/bin/env bash
# Writes a set of outputs of one ipatlas binary into a folder, to compare two builds byte for
# byte around a refactoring (the summary's elapsed_s differs between runs; compare with
#   diff -r -I '"elapsed_s"' -I "$PWD/OUT" A B).
#   scripts/snapshot-outputs.sh BINARY OUT [DB]      (DB: data/GeoLite2-City.mmdb)
set -uo pipefail
B=$(realpath "$1"); O=$(realpath -m "$2"); DB=$(realpath "${3:-data/GeoLite2-City.mmdb}")
rm -rf "$O"; mkdir -p "$O"
export IPATLAS_CACHE_DIR=$O/.cache SOURCE_DATE_EPOCH=1700000000
$B sample --db "$DB" -n 200000 --seed 7 -o "$O/in.txt"
printf '2001:db8::1\n2a00:1450::/48\n2600::1\n8.8.8.8\nbogus\n10.0.0.0/8\n1.2.3.4\n::ffff:1.2.3.4\n' >> "$O/in.txt"
$B aggregate --db "$DB" "$O/in.txt" --countries "$O/c.csv" --cells "$O/cells.csv" --summary "$O/s.json" \
  --tally "$O/t.json" --invalid-out "$O/inv.txt" --quiet 2>"$O/agg.err"; echo "rc=$?" >> "$O/agg.err"
$B aggregate "$O/in.txt" --countries "$O/ce.csv" --quiet 2>"$O/agge.err"
$B lookup --db "$DB" "$O/in.txt" > "$O/l.csv" 2>"$O/l.err"
head -3000 "$O/in.txt" | $B lookup --db "$DB" - --format jsonl > "$O/l.jsonl" 2>>"$O/l.err"
$B lookup --db "$DB" 2002::/16 ::ffff:0:0/120 2001::/32 1.0.0.0/20 bogus 10.1.1.1 --format jsonl > "$O/l2.jsonl" 2>&1
$B map --db "$DB" "$O/in.txt" -o "$O/map" --quiet 2>"$O/map.err"
$B map --db "$DB" "$O/in.txt" -o "$O/mapc" --mode cells --cell 2 --bbox -12,34,35,62 --style light --quiet 2>"$O/mapc.err"
$B map --db "$DB" "$O/in.txt" -o "$O/maph" --mode hex --quiet 2>"$O/maph.err"
$B map --db "$DB" "$O/in.txt" -o "$O/mapb" --mode cells --blur 2 --quiet 2>>"$O/maph.err"
$B render "$O/t.json" -o "$O/r.png" --mode choropleth --per-capita --projection robinson 2>"$O/r.err"
$B render "$O/t.json" -o "$O/r2.png" --mode points --projection mercator 2>>"$O/r.err"
for l in cells places countries hex; do $B geojson "$O/t.json" --layer "$l" -o "$O/g-$l.geojson" 2>>"$O/g.err"; done
$B geojson "$O/t.json" --layer countries -o "$O/shp.shp" 2>>"$O/g.err"
$B merge "$O/t.json" "$O/t.json" -o "$O/m.json" 2>"$O/m.err"
$B aggregate --db "$DB" --whole-db --countries "$O/w.csv" --quiet 2>"$O/w.err"
$B lookup 8.8.8.8 2a00:1450:4001::1 --db "$DB" > "$O/l3.txt" 2>&1
$B info --db "$DB" --networks > "$O/info.txt" 2>&1
rm -rf "$O/.cache"
