"""The interactive page (`render -o view.html`) in headless Chromium: it loads from file://
offline with no console errors, each layer draws the tally's features, hover shows a known
cell's and country's count, layers switch, zoom works, "PNG" downloads the view, and a
screenshot matches tests/reference/html-page.png (IPATLAS_BLESS=1 rewrites it; look at it).
"""

import json
import math
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("IPATLAS_BIN", REPO / "target" / "debug" / "ipatlas"))
CHROMIUM = os.environ.get("IPATLAS_CHROMIUM", "/usr/bin/chromium")
REFERENCE = REPO / "tests" / "reference" / "html-page.png"
# As root, in a machine with no network: no sandbox, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--font-render-hinting=none",
]

# (country, lat, lon, count): ten places, each in its own 10-degree cell.
PLACES = [
    ("US", 40.7, -74.0, 1200),
    ("US", 37.8, -122.4, 800),
    ("FR", 48.85, 2.35, 500),
    ("DE", 52.5, 13.4, 300),
    ("DE", 48.1, 11.6, 150),
    ("JP", 35.7, 139.7, 700),
    ("BR", -23.5, -46.6, 250),
    ("ZA", -26.2, 28.0, 90),
    ("AU", -33.9, 151.2, 160),
    ("IN", 19.1, 72.9, 400),
]
TOTAL = sum(p[3] for p in PLACES)


def cli(*args, cwd):
    subprocess.run([str(BIN), *map(str, args)], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    assert BIN.exists(), f"{BIN} is missing: scripts/test-browser.sh builds it"
    work = tmp_path_factory.mktemp("page")
    zero = {k: 0 for k in ("lines", "skipped", "parsed", "ipv4_records", "ipv6_records",
                           "ipv4_prefixes", "ipv6_prefixes")}
    tally = {
        "format": "ipatlas-tally", "version": 1, "generator": "test", "databases": [],
        "counters": {**zero, "invalid_reasons": {}, "ipv4_not_found": {}, "ipv6_not_found": {}},
        "places": [
            {"country": c, "lat": lat, "lon": lon, "accuracy_radius": 20, "ipv4": n, "ipv6": 0}
            for c, lat, lon, n in PLACES
        ],
    }
    (work / "tally.json").write_text(json.dumps(tally))
    cli("render", "tally.json", "-o", "view.html", "--mode", "cells", "--cell", "10",
        "--width", "1000", "--title", "Ten places", cwd=work)
    cli("geojson", "tally.json", "--layer", "hex", "-o", "hex.geojson", "--quiet", cwd=work)
    hexes = json.loads((work / "hex.geojson").read_text())["features"]
    return work, len(hexes)


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: scripts/fetch-browser.sh installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, page_file):
    """The page, opened from file:// with the network off; fails on any console error or
    request that is not the file itself."""
    work, _ = page_file
    context = browser.new_context(viewport={"width": 1000, "height": 700}, offline=True,
                                  accept_downloads=True, device_scale_factor=1)
    pg = context.new_page()
    errors, requests = [], []
    pg.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("request", lambda r: requests.append(r.url))
    url = (work / "view.html").as_uri()
    pg.goto(url)
    pg.wait_for_function("window.ipatlas !== undefined")
    yield pg
    assert errors == [], errors
    outside = [u for u in requests if u != url and not u.startswith(("data:", "blob:"))]
    assert outside == [], outside
    context.close()


def count(pg, selector):
    return pg.eval_on_selector_all(selector, "els => els.length")


def expected_cells():
    cells = {}
    for _, lat, lon, n in PLACES:
        key = (math.floor(lon / 10) * 10, math.floor(lat / 10) * 10)
        cells[key] = cells.get(key, 0) + n
    return cells


def test_each_layer_draws_the_tallys_features(page, page_file):
    _, hexes = page_file
    cells = expected_cells()
    assert count(page, "#L-cells [data-n]") == len(cells) == 10
    assert sorted(int(n) for n in page.eval_on_selector_all(
        "#L-cells [data-n]", "els => els.map(e => e.dataset.n)")) == sorted(cells.values())
    assert count(page, "#L-hex [data-n]") == hexes
    assert count(page, "#L-points [data-n]") == len(PLACES)
    countries = {c for c, *_ in PLACES}
    assert count(page, '#land path[class^="k"]') == len(countries)
    labels = page.eval_on_selector_all("#layers label", "els => els.map(e => e.textContent.trim())")
    assert labels == ["Countries (8)", "Cells (10)", f"Hexagons ({hexes})", "Points (10)"]
    assert page.text_content("#title") == "Ten places"
    assert page.text_content("#subtitle").startswith(f"{TOTAL:,} addresses drawn")


def test_hover_shows_a_cells_count_and_share(page):
    cell = page.locator('#L-cells path[data-b="-80,40"]')
    box = cell.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tip = page.locator("#tip")
    tip.wait_for(state="visible")
    share = 1200 / TOTAL * 100
    assert tip.text_content() == (
        f"Cell 40°N to 50°N, 80°W to 70°W: 1,200 addresses ({share:.1f}% of drawn)")
    page.mouse.move(2, 2)
    assert tip.is_hidden()
    # A tap (a click without a drag) shows it too.
    page.evaluate("document.getElementById('tip').hidden = true")
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert tip.is_visible() and tip.text_content().endswith("1,200 addresses (26.4% of drawn)")


def test_layers_switch_and_countries_show_their_counts(page):
    assert page.get_attribute("#map", "class") == "show-cells"
    assert page.is_visible("#L-cells") and not page.is_visible("#L-hex")
    page.click("#layers label:has-text('Hexagons')")
    assert page.get_attribute("#map", "class") == "show-hex"
    assert page.is_visible("#L-hex") and not page.is_visible("#L-cells")
    assert page.text_content("#bar-label") == "addresses per H3 cell (resolution 3)"
    page.click("#layers label:has-text('Countries')")
    assert page.get_attribute("#map", "class") == "show-countries"
    assert not page.is_visible("#L-hex")
    assert page.text_content("#bar-label") == "addresses per country"
    assert page.is_visible("#nodata")
    # The colour of a counted country is the choropleth's, not the land's.
    fill = page.eval_on_selector('#land path[data-k="DE"]', "e => getComputedStyle(e).fill")
    land = page.eval_on_selector('#land path[data-k="NO"]', "e => getComputedStyle(e).fill")
    assert fill != land
    text = page.evaluate("ipatlas.describe(document.querySelector('#land path[data-k=\"DE\"]'))")
    assert text == f"Germany (DE): 450 addresses ({450 / TOTAL * 100:.1f}% of drawn)"
    text = page.evaluate("ipatlas.describe(document.querySelector('#land path[data-k=\"NO\"]'))")
    assert text == "Norway (NO): no data"
    ticks = page.eval_on_selector_all("#ticks span", "els => els.map(e => e.textContent)")
    # Round counts (1, 2, 5 x 10^k) between the smallest (90) and the largest (2,000).
    assert len(ticks) >= 3 and set(ticks) <= {"100", "200", "500", "1k", "2k"}, ticks


def test_zoom_and_pan_change_the_view(page):
    w = page.evaluate("ipatlas.view().w")
    page.click("#tools [data-zoom=in]")
    assert page.evaluate("ipatlas.view().w") == pytest.approx(w / 1.5)
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    before = page.evaluate("ipatlas.view()")
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 100, cy, steps=5)
    page.mouse.up()
    after = page.evaluate("ipatlas.view()")
    assert after["x"] > before["x"] and after["y"] == pytest.approx(before["y"])
    page.mouse.wheel(0, -200)
    page.wait_for_function(f"ipatlas.view().w < {before['w'] - 1}")
    page.click("#tools [data-zoom=reset]")
    assert page.evaluate("ipatlas.view()") == {"x": 0, "y": 0, "w": w, "h": pytest.approx(
        page.evaluate("ipatlas.data.height"))}


def test_the_view_downloads_as_png(page, tmp_path):
    with page.expect_download() as d:
        page.click("#download")
    path = tmp_path / "view.png"
    d.value.save_as(path)
    image = Image.open(path)
    width, height = page.evaluate("[ipatlas.data.width, ipatlas.data.height]")
    assert image.size == (2 * width, 2 * height)
    # Not blank: the land, the ocean and the cells' colours are all there.
    assert len(image.convert("RGB").getcolors(1 << 20)) > 20


def test_the_page_matches_its_reference_screenshot(page, tmp_path):
    shot = tmp_path / "page.png"
    page.screenshot(path=shot)
    if os.environ.get("IPATLAS_BLESS"):
        REFERENCE.write_bytes(shot.read_bytes())
        return
    assert REFERENCE.exists(), f"{REFERENCE} is missing: run with IPATLAS_BLESS=1 and look at it"
    got, want = Image.open(shot).convert("RGB"), Image.open(REFERENCE).convert("RGB")
    assert got.size == want.size
    diff = ImageChops.difference(got, want).convert("L")
    bad = sum(diff.histogram()[25:])
    limit = got.size[0] * got.size[1] // 100
    if bad > limit:
        out = REPO / "target" / "html-page-diff.png"
        side = Image.new("RGB", (got.size[0] * 3, got.size[1]))
        side.paste(want, (0, 0))
        side.paste(diff.convert("RGB"), (got.size[0], 0))
        side.paste(got, (2 * got.size[0], 0))
        side.save(out)
        pytest.fail(f"{bad} pixels differ (limit {limit}): expected | difference | actual in {out}")
