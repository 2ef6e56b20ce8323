"""Screenshots an ipatlas page in headless Chromium (Debian's, driven by Playwright):
screenshot-page.py PAGE.html OUT.png [LAYER] [WIDTHxHEIGHT]. Used by scripts/gallery.sh."""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main():
    page_path, out = Path(sys.argv[1]).resolve(), sys.argv[2]
    layer = sys.argv[3] if len(sys.argv) > 3 else None
    w, h = map(int, (sys.argv[4] if len(sys.argv) > 4 else "1200x760").split("x"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": w, "height": h}, offline=True)
        page.goto(page_path.as_uri())
        page.wait_for_function("window.ipatlas !== undefined")
        if layer:
            page.evaluate("id => ipatlas.show(id)", layer)
        page.screenshot(path=out)
        browser.close()


if __name__ == "__main__":
    main()
