"""The core package (pyarrow, pandas, polars, numpy): what it gives equals what the command
line gives for the same input."""

from __future__ import annotations

import csv
import io
import ipaddress
import math
import pickle
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import pyipatlas
from pyipatlas import Database, Tally


def places(tally: Tally) -> list:
    """A tally's places and weights (what counts do not depend on how records arrived)."""
    import json

    return json.loads(tally._native.to_json())["places"]


@pytest.fixture(scope="module")
def db(city_db):
    return Database(city_db)


@pytest.fixture(scope="module")
def cli_tally(cli, city_db, lines_file, work):
    out = work / "cli-tally.json"
    cli("aggregate", "--db", city_db, lines_file, "--tally", out, "--quiet")
    return out


def test_every_input_type_counts_the_same(db, lines):
    reference = db.aggregate(pa.array(lines))
    expected = places(reference)
    assert reference.counters["found"] > 19_000
    def is_v4(text):
        try:
            return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
        except ValueError:
            return False

    v4 = [l for l in lines if is_v4(l)]
    inputs = {
        "list of str": lines,
        "large_string": pa.array(lines, pa.large_string()),
        "string_view": pa.array(lines, pa.string_view()),
        "chunked": pa.chunked_array([lines[:7000], lines[7000:]]),
        "pandas object": pd.Series(lines, dtype=object),
        "pandas string[pyarrow]": pd.Series(lines, dtype="string[pyarrow]"),
        "pandas ArrowDtype": pd.Series(lines, dtype=pd.ArrowDtype(pa.string())),
        "pandas default str": pd.Series(lines),
        "polars": pl.Series("ip", lines),
        "numpy str": np.array(lines),
        "bytes": [l.encode() for l in lines],
    }
    for name, values in inputs.items():
        got = db.aggregate(values)
        assert places(got) == expected, name
        assert got.counters == reference.counters, name
    # ipaddress objects: the valid records only.
    objects = []
    for l in lines:
        try:
            objects.append(ipaddress.ip_network(l) if "/" in l else ipaddress.ip_address(l))
        except ValueError:
            pass
    valid = [l for l in lines if l not in ("not-an-ip", "300.1.2.3")]
    assert places(db.aggregate(objects)) == places(db.aggregate(valid))
    # IPv4 as uint32 integers (numpy, pyarrow, pandas, polars) count like their text.
    ints = np.array([int(ipaddress.IPv4Address(l)) for l in v4], dtype=np.uint32)
    as_text = places(db.aggregate(v4))
    for values in (ints, pa.array(ints), pd.Series(ints), pl.Series(ints)):
        assert places(db.aggregate(values)) == as_text
    with pytest.raises(TypeError, match="uint32"):
        db.aggregate(ints.astype(np.int64))


def test_aggregate_and_save_equal_the_command_line_byte_for_byte(db, lines, cli_tally, work):
    out = work / "py-tally.json"
    db.aggregate(lines).save(out)
    assert out.read_bytes() == cli_tally.read_bytes()
    # And the command line reads what Python wrote, Python what it wrote.
    assert pyipatlas.load(cli_tally).to_bytes() == pyipatlas.load(out).to_bytes()


def test_lookup_rows_equal_the_command_line(db, cli, city_db, lines_file, lines):
    text = cli("lookup", "--db", city_db, lines_file).stdout.decode()
    expected = list(csv.DictReader(io.StringIO(text)))
    table = db.lookup(lines)
    assert table.column_names == [
        "ip", "country", "latitude", "longitude", "accuracy_radius", "network", "status", "reason",
    ]
    got = table.to_pylist()
    assert len(got) == len(expected) > len(lines)  # the prefixes have a row per network
    for ours, theirs in zip(got, expected):
        for key, value in theirs.items():
            mine = ours[key]
            if key in ("latitude", "longitude"):
                assert (mine is None and value == "") or math.isclose(mine, float(value)), (key, ours, theirs)
            elif key == "accuracy_radius":
                assert (mine is None and value == "") or mine == int(value), (ours, theirs)
            else:
                assert (mine or "") == value, (key, ours, theirs)
    # One row per value, in input order, for addresses; nulls and blanks say so.
    rows = db.lookup(pa.array(["81.2.69.160", None, "", "bogus"])).to_pylist()
    assert [(r["status"], r["reason"]) for r in rows] == [
        ("found", None), ("skipped", "null"), ("skipped", "blank"), ("invalid", "not_an_address"),
    ]
    assert rows[0]["country"] == "GB"


def test_shards_merged_in_python_equal_one_run_and_ipatlas_merge(db, lines, cli, city_db, work):
    one = db.aggregate(lines)
    shards = [db.aggregate(lines[i::3]) for i in range(3)]
    for merged in (Tally.merge_all(shards), shards[0] + shards[1] + shards[2], sum(shards)):
        assert places(merged) == places(one)
        assert merged.counters == one.counters
    paths = []
    for i, s in enumerate(shards):
        paths.append(work / f"shard{i}.json")
        s.save(paths[-1])
    cli("merge", *paths, "-o", work / "merged.json")
    assert (work / "merged.json").read_bytes() == Tally.merge_all(shards)._native.to_json()
    # Tallies of other data are refused, as by ipatlas merge.
    other = Database("embedded").aggregate(["81.2.69.160"])
    with pytest.raises(ValueError, match="made with database"):
        one + other
    assert Tally.merge_all([one, other], allow_mixed_databases=True).counters["lines"] == len(lines) + 1


def test_bytes_and_pickles_round_trip(db, lines, city_db, work):
    t = db.aggregate(lines)
    data = t.to_bytes()
    assert len(data) < len(t._native.to_json())  # the ratio on real tallies: README
    assert Tally.from_bytes(data).to_bytes() == data
    assert pickle.loads(pickle.dumps(t)).to_bytes() == data
    with pytest.raises(ValueError):
        Tally.from_bytes(data[: len(data) // 2])
    again = pickle.loads(pickle.dumps(db))
    assert again.checksum == db.checksum
    assert places(again.aggregate(lines)) == places(t)
    # A database that changed on disk since it was pickled is refused on the other side.
    copy = work / "copy.mmdb"
    shutil.copy(city_db, copy)
    pickled = pickle.dumps(Database(copy))
    shutil.copy(city_db.replace("GeoIP2-City-Test", "GeoLite2-City-Test"), copy)
    code = (
        "import pickle, sys, pyipatlas\n"
        "try:\n pickle.loads(sys.stdin.buffer.read())\n"
        "except pyipatlas.IpatlasError as e:\n print('refused:', e); sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], input=pickled, capture_output=True)
    assert done.returncode == 3, done.stderr
    assert b"is not the one that was pickled" in done.stdout


def test_tables_geojson_and_maps_equal_the_command_line(db, lines, cli, cli_tally, work):
    t = db.aggregate(lines)
    cli("aggregate", "--db", t.databases[0]["path"], work / "lines.txt", "--countries",
        work / "countries.csv", "--cells", work / "cells.csv", "--cell", "2", "--quiet")
    pd.testing.assert_frame_equal(t.countries(), pyipatlas._read_csv((work / "countries.csv").read_bytes()))
    pd.testing.assert_frame_equal(t.cells(2), pyipatlas._read_csv((work / "cells.csv").read_bytes()))
    for layer, extra in (("cells", ["--cell", "2"]), ("hex", ["--h3-res", "2"]), ("places", []), ("countries", [])):
        out = work / f"{layer}.geojson"
        cli("geojson", cli_tally, "--layer", layer, *extra, "-o", out)
        options = {"cell": 2} if layer == "cells" else {"h3_res": 2} if layer == "hex" else {}
        assert t.to_geojson(layer, **options) == out.read_text(), layer
    hexes = t.hex(2)
    assert list(hexes.columns) == ["h3", "resolution", "lat", "lon", "count", "share", "unit"]
    assert hexes["count"].sum() == t.located()["with_coords"]
    for options, flags in (
        ({}, []),
        ({"mode": "cells", "cell": 5, "style": "light", "width": 700}, ["--mode", "cells", "--cell", "5", "--style", "light", "--width", "700"]),
        ({"mode": "choropleth", "projection": "robinson", "width": 500, "title": "Test"}, ["--mode", "choropleth", "--projection", "robinson", "--width", "500", "--title", "Test"]),
        ({"mode": "hex", "h3_res": 1, "bbox": (-10, 35, 30, 60), "width": 400}, ["--mode", "hex", "--h3-res", "1", "--bbox", "-10,35,30,60", "--width", "400"]),
        ({"width": 500, "notes": ["Source: a test.", "A second, longer line of caption that wraps at this width of five hundred pixels."], "legend_label": "hits"},
         ["--width", "500", "--note", "Source: a test.", "--note", "A second, longer line of caption that wraps at this width of five hundred pixels.", "--legend-label", "hits"]),
        ({"projection": "equal-earth:150", "width": 400}, ["--projection", "equal-earth:150", "--width", "400"]),
        ({"bbox": (170, -50, -170, -30), "lon0": 180, "width": 300}, ["--bbox=170,-50,-170,-30", "--lon0", "180", "--width", "300"]),
        ({"size": "50mm", "dpi": 150}, ["--size", "50mm", "--dpi", "150"]),
    ):
        out = work / "cli.png"
        cli("render", cli_tally, "-o", out, *flags)
        png = t.render(work / "py.png", **options)
        assert png == out.read_bytes(), options
        assert (work / "py.png").read_bytes() == png
    report = t.map_report(mode="choropleth", width=300)
    assert report["unit"] == "addresses" and report["drawn"] > 0
    report = t.map_report(bbox=(-82, 36, -66, 46), width=300)
    assert report["projection"].startswith("Albers equal-area conic") and report["proj"].startswith("+proj=aea")
    with pytest.raises(ValueError, match="projection"):
        t.render(projection="gnomonic")
    # The interactive page: the command line's bytes, its report, and a notebook frame.
    for options, flags in (
        ({}, []),
        ({"mode": "hex", "h3_res": 2, "style": "light", "title": "<Page>"}, ["--mode", "hex", "--h3-res", "2", "--style", "light", "--title", "<Page>"]),
    ):
        out = work / "cli.html"
        cli("render", cli_tally, "-o", out, *flags)
        page = t.to_html(work / "py.html", **options)
        assert page == out.read_text(encoding="utf-8"), options
        assert (work / "py.html").read_text(encoding="utf-8") == page
    # Vector maps: the command line's bytes.
    for name, flags, options in (
        ("cli.svg", ["--width", "400", "--title", "A & B"], {"width": 400, "title": "A & B"}),
        ("cli.pdf", ["--size", "80mm", "--dpi", "150", "--mode", "cells"], {"size": "80mm", "dpi": 150, "mode": "cells"}),
    ):
        out = work / name
        cli("render", cli_tally, "-o", out, *flags)
        if name.endswith(".svg"):
            svg = t.to_svg(work / "py.svg", **options)
            assert svg == out.read_text(encoding="utf-8") and "A &amp; B</text>" in svg
            assert (work / "py.svg").read_text(encoding="utf-8") == svg
        else:
            pdf = t.to_pdf(work / "py.pdf", **options)
            assert pdf == out.read_bytes() and pdf.startswith(b"%PDF-")
            assert (work / "py.pdf").read_bytes() == pdf
    report = t.page_report(mode="cells", html_max_mb=0.3)
    assert report["shown"] in ("cells", "countries") and report["bytes"] <= 300_000
    assert [layer["id"] for layer in report["layers"]] == ["countries", "cells", "hex", "points"]
    shown = t.explore(mode="cells")
    assert shown.html.startswith("<!DOCTYPE html>")
    frame = shown._repr_html_()
    assert frame.startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;') and "<script" not in frame
    with pytest.raises(ValueError, match="html_max_mb"):
        t.to_html(html_max_mb=0)
    with pytest.raises(ValueError, match="blur"):
        t.render(blur=1000)
    with pytest.raises(ValueError, match="mode must be one of"):
        t.render(mode="heat")


def test_compare_equals_the_command_line(db, lines, cli, work):
    """Then versus now: two halves of the sample, compared as `ipatlas compare` does."""
    first, second = lines[: len(lines) // 3], lines[len(lines) // 3 :]
    a, b = db.aggregate(first), db.aggregate(second)
    a.save(work / "cmp-a.json")
    b.save(work / "cmp-b.json")
    for measure in ("shares", "counts"):
        out = work / f"cmp-{measure}"
        cli("compare", work / "cmp-a.json", work / "cmp-b.json", "-o", out, "--compare", measure,
            "--cell", "5", "--only", "countries.csv,cells.csv", "--quiet")
        got = a.compare(b, measure=measure)
        pd.testing.assert_frame_equal(got, pyipatlas._read_csv((out / "countries.csv").read_bytes()))
        cells = a.compare(b, measure=measure, cell=5)
        pd.testing.assert_frame_equal(cells, pyipatlas._read_csv((out / "cells.csv").read_bytes()))
    got = a.compare(b)
    assert list(got.columns) == ["country", "count_a", "count_b", "share_a", "share_b", "change", "ratio", "unit"]
    assert got["count_a"].sum() + got["count_b"].sum() == got["count_a"].sum() + b.countries().query("unit == 'addresses'")["count"].sum()
    assert list(got["change"]) == sorted(got["change"], reverse=True)
    with pytest.raises(ValueError, match="measure must be one of"):
        a.compare(b, measure="ratio")
    with pytest.raises(TypeError):
        a.compare("b.json")


def test_counters_info_and_display(db, lines):
    t = db.aggregate(lines)
    c = t.counters
    assert c["lines"] == len(lines)
    assert c["invalid_reasons"] == {"not_an_address": 1, "bad_ipv4": 1}
    assert c["subnets_64"]["found"] > 0  # the IPv6 prefix counts /64 subnets
    info = db.info
    assert info["type"] == "GeoIP2-City" and info["ip_version"] == 6
    assert info["schema"] == "nested" and "build_date" in info
    html = t._repr_html_()
    assert "addresses located" in html and "<img src='data:image/png;base64," in html
    assert "GeoIP2-City" in html
    embedded = Database().info
    assert "db-ip.com" in embedded["attribution"]
    assert embedded["attribution"] in Database().aggregate(["8.8.8.8"])._repr_html_()
    assert f"{len(lines):,} lines" in html


def test_a_weighted_tally_says_so_in_its_card(cli, city_db, work):
    feed = work / "weighted.tsv"
    feed.write_text("81.2.69.160\t3\n2.125.160.216\t4\n")
    out = work / "weighted.json"
    cli("aggregate", "--db", city_db, feed, "--column", "1", "--weight-column", "2",
        "--delimiter", "tab", "--tally", out, "--quiet")
    t = pyipatlas.load(out)
    assert "7 weighted addresses located" in repr(t)
    card = t._repr_html_()
    assert "7 weighted addresses located" in card
    assert "<td>GB</td><td style='text-align:right'>7</td>" in card


def test_empty_input_gives_an_empty_valid_tally(db):
    for empty in ([], pa.array([], pa.string()), pd.Series([], dtype=object)):
        t = db.aggregate(empty)
        assert t.counters["lines"] == 0 and t.countries().empty
        assert db.lookup(empty).num_rows == 0
        assert Tally.from_bytes(t.to_bytes()).counters == t.counters
    assert b"\x89PNG" == db.aggregate([]).render(width=200)[:4]


def test_errors_are_python_exceptions(db, work):
    with pytest.raises(pyipatlas.IpatlasError):
        Database(work / "no-such.mmdb")
    with pytest.raises(ValueError, match="family"):
        db.aggregate(["1.2.3.4"], family="ipv5")
    with pytest.raises(TypeError):
        db.aggregate(pa.array([1.5, 2.5]))
    with pytest.raises(ValueError):
        pyipatlas.load(work / "lines.txt")


def test_the_gil_is_released_while_counting(db, cli, city_db, work):
    from conftest import sample_lines

    big = pa.array(sample_lines(cli, city_db, work, 400_000, 3) * 5)
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(1)
            time.sleep(0.0005)

    thread = threading.Thread(target=count)
    thread.start()
    time.sleep(0.05)
    before = len(ticks)
    start = time.perf_counter()
    db.aggregate(big)
    db.lookup(big[:200_000])
    elapsed = time.perf_counter() - start
    during = len(ticks) - before
    done.set()
    thread.join()
    # With the GIL held for the whole call, the other thread could not tick at all.
    assert elapsed > 0.05 and during > 10, (elapsed, during)


def test_geopandas_layers_are_wgs84_and_count_everything(db, lines):
    t = db.aggregate(lines)
    cells = t.to_geopandas("cells", cell=2)
    assert cells.crs.to_epsg() == 4326
    assert len(cells) == len(t.cells(2)[lambda f: f["unit"] == "addresses"])
    assert cells["count"].sum() == t.located()["with_coords"]
    assert set(cells.geometry.geom_type) == {"Polygon"}
    countries = t.to_geopandas("countries")
    assert countries.set_index("iso_a2").loc["GB", "count"] > 0


def test_subdivisions_cities_and_networks_equal_the_command_line(city_db, cli, lines, lines_file, work):
    asn = city_db.replace("GeoIP2-City-Test", "GeoLite2-ASN-Test")
    db = Database(city_db, asn_db=asn)
    t = db.aggregate(lines)
    outs = {name: work / f"{name}.csv" for name in ("subdivisions", "cities", "asns", "country-asns")}
    cli("aggregate", "--db", city_db, "--asn-db", asn, lines_file, "--quiet",
        *[arg for name, path in outs.items() for arg in (f"--{name}", path)])
    for frame, name in ((t.subdivisions(), "subdivisions"), (t.cities(), "cities"),
                        (t.asns(), "asns"), (t.asns(by_country=True), "country-asns")):
        expected = pyipatlas._read_csv(outs[name].read_bytes())
        assert len(expected) > 0, name
        pd.testing.assert_frame_equal(frame, expected)
    top = t.cities(top=2)
    per_unit = top.groupby("unit").size()
    assert per_unit.max() == 2 and (per_unit <= 2).all() and len(top) < len(t.cities())
    # Lookups gain the ASN columns, equal to the command line's.
    rows = db.lookup(lines[:50]).to_pandas()
    done = cli("lookup", "--db", city_db, "--asn-db", asn, *lines[:50])
    expected = pd.read_csv(io.BytesIO(done.stdout), keep_default_na=False, na_values=[""])
    assert list(rows.columns[-2:]) == ["asn", "as_organization"]
    assert rows["asn"].fillna(0).astype(int).tolist() == expected["asn"].fillna(0).astype(int).tolist()
    assert "asn" not in Database(city_db).lookup(lines[:5]).column_names
    # The ASN database travels with a pickled Database.
    again = pickle.loads(pickle.dumps(db))
    pd.testing.assert_frame_equal(again.aggregate(lines).asns(), t.asns())
    # A choropleth of subdivisions: the command line's pixels.
    saved = work / "details-tally.json"
    t.save(saved)
    out = work / "states-cli.png"
    cli("render", saved, "-o", out, "--mode", "choropleth", "--level", "subdivision", "--width", "400")
    assert t.render(mode="choropleth", level="subdivision", width=400) == out.read_bytes()
    assert '"iso_3166_2":"US-WA"' in t.to_geojson("subdivisions")
