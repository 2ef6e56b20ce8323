"""The README's Python, Spark and Dask blocks run as written, and give what they say."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import REPO, sample_lines

import pyipatlas


def blocks() -> list:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def places(path):
    data = json.loads(path.read_text())
    return data["places"], data["counters"]


def test_the_readme_python_blocks_run_as_written(cli, city_db, work, tmp_path):
    found = blocks()
    assert len(found) == 3, "the Python section has a quick start, a Spark and a Dask block"
    shutil.copy(city_db, tmp_path / "GeoLite2-City.mmdb")
    ips = sample_lines(cli, city_db, work, 20_000, 5)
    (tmp_path / "ips.txt").write_text("\n".join(ips) + "\n")
    pq.write_table(pa.table({"ip": ips}), tmp_path / "ips.parquet")
    for code in found:
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, f"{code}\n--- stderr:\n{done.stderr[-3000:]}"
    # The quick start's outputs are what the command line makes of the same file.
    cli("aggregate", "--db", "GeoLite2-City.mmdb", "ips.txt", "--tally", "cli.json", "--quiet", cwd=tmp_path)
    assert (tmp_path / "ips.tally.json").read_bytes() == (tmp_path / "cli.json").read_bytes()
    cli("render", "cli.json", "-o", "cli.png", "--mode", "cells", "--cell", "2", "--style", "light", cwd=tmp_path)
    assert (tmp_path / "map.png").read_bytes() == (tmp_path / "cli.png").read_bytes()
    cli("render", "cli.json", "-o", "cli.pdf", "--size", "180mm", "--dpi", "300", cwd=tmp_path)
    assert (tmp_path / "map.pdf").read_bytes() == (tmp_path / "cli.pdf").read_bytes()
    # Spark's tally counts the same (its database path is the executors' copy).
    assert places(tmp_path / "spark.tally.json") == places(tmp_path / "cli.json")
    assert pyipatlas.load(tmp_path / "spark.tally.json").counters["found"] == len(ips)
