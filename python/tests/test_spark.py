"""pyipatlas.spark on one local[2] SparkSession: 100,000 rows from a text file and from a
Parquet file, counted and looked up, equal the command line's."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

import pyipatlas
from pyipatlas import spark as ipspark
from conftest import sample_lines


@pytest.fixture(scope="module")
def spark():
    session = (
        SparkSession.builder.master("local[2]")
        .appName("pyipatlas-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def rows(cli, city_db, work):
    return sample_lines(cli, city_db, work, 100_000, 13) + ["bogus", "2001:480::/32", ""]


@pytest.fixture(scope="module")
def files(rows, cli, city_db, work):
    text = work / "spark-rows.txt"
    text.write_text("\n".join(rows) + "\n")
    parquet = work / "spark-rows.parquet"
    pq.write_table(pa.table({"ip": rows, "n": list(range(len(rows)))}), parquet, row_group_size=20_000)
    cli("aggregate", "--db", city_db, text, "--tally", work / "spark-cli.json", "--quiet")
    lookup = cli("lookup", "--db", city_db, text).stdout.decode()
    return text, parquet, pyipatlas.load(work / "spark-cli.json"), lookup


def places(t):
    return json.loads(t._native.to_json())["places"]


def test_tally_from_text_and_parquet_equals_the_command_line(spark, files, city_db):
    text, parquet, expected, _ = files
    from_text = ipspark.tally(spark.read.text(str(text)), "value", city_db)
    assert places(from_text) == places(expected)
    assert from_text.counters == expected.counters
    from_parquet = ipspark.tally(spark.read.parquet(str(parquet)), "ip", city_db)
    assert places(from_parquet) == places(expected)
    assert from_parquet.counters["found"] == expected.counters["found"]
    # Many partitions merge in a tree on the executors instead of on the driver: the same.
    ipspark.DRIVER_MERGE = 0
    try:
        from_tree = ipspark.tally(spark.read.parquet(str(parquet)).repartition(5), "ip", city_db)
    finally:
        ipspark.DRIVER_MERGE = 64
    assert places(from_tree) == places(from_parquet)
    # The embedded database needs no file at all.
    assert ipspark.tally(spark.read.parquet(str(parquet)), "ip").counters["found"] > 90_000


def test_lookup_equals_the_command_line(spark, files, city_db):
    _, parquet, _, lookup_csv = files
    df = spark.read.parquet(str(parquet)).repartition(3, "n")
    got = ipspark.lookup(df, "ip", city_db).orderBy("n").collect()
    expected = list(csv.DictReader(io.StringIO(lookup_csv)))
    assert set(got[0].asDict()) == {"ip", "n", "lookup_ip", "country", "latitude", "longitude",
                                    "accuracy_radius", "network", "status", "reason"}
    # The command line has no row for the blank line; Spark keeps every input row.
    rows = [r for r in got if r["status"] != "skipped"]
    key = ("ip", "country", "network", "status", "reason", "accuracy_radius")
    ours = Counter(
        tuple("" if r[k] is None else str(r[k]) for k in ("lookup_ip",) + key[1:]) for r in rows
    )
    theirs = Counter(tuple(r[k] for k in key) for r in expected)
    assert ours == theirs
    # Each row keeps its input row's other columns.
    assert all(r["ip"] == (r["lookup_ip"] or "") or "/" in r["ip"] or r["status"] == "invalid" for r in rows)
    skipped = [r for r in got if r["status"] == "skipped"]
    assert [(r["ip"], r["reason"]) for r in skipped] == [("", "blank")]
