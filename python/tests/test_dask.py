"""pyipatlas.dask on a LocalCluster of two worker processes: 100,000 rows counted and looked
up equal the command line's."""

from __future__ import annotations

import json

import dask.bag as db_bag
import dask.dataframe as dd
import pandas as pd
import pytest
from dask.distributed import Client, LocalCluster

import pyipatlas
from pyipatlas import dask as ipdask
from conftest import sample_lines


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def rows(cli, city_db, work):
    return sample_lines(cli, city_db, work, 100_000, 11) + ["bogus", "2001:480::/32"]


def places(t):
    return json.loads(t._native.to_json())["places"]


def test_tally_equals_the_command_line(client, rows, cli, city_db, work):
    path = work / "dask-rows.txt"
    path.write_text("\n".join(rows) + "\n")
    cli("aggregate", "--db", city_db, path, "--tally", work / "dask-cli.json", "--quiet")
    expected = pyipatlas.load(work / "dask-cli.json")
    frame = dd.from_pandas(pd.DataFrame({"ip": rows}), npartitions=12)
    got = ipdask.tally(frame["ip"], city_db, split_every=4)
    assert places(got) == places(expected)
    assert got.counters == expected.counters
    # The workers did the counting (each opened the database itself).
    assert len(client.scheduler_info()["workers"]) == 2
    bag = db_bag.from_sequence(rows, npartitions=5)
    assert places(ipdask.tally(bag, city_db)) == places(expected)
    # A Database pickles to the workers and back.
    db = pyipatlas.Database(city_db)
    assert client.submit(lambda d: d.checksum, db).result() == db.checksum


def test_lookup_equals_the_in_process_lookup(client, rows, city_db):
    head = rows[:4998] + rows[-2:]  # ends with an invalid record and a prefix
    frame = dd.from_pandas(pd.DataFrame({"ip": head, "n": range(len(head))}), npartitions=4)
    got = ipdask.lookup(frame, "ip", city_db).compute().reset_index(drop=True)
    local = pyipatlas.Database(city_db).lookup(head).to_pandas()
    assert list(got.columns) == ["ip", "n"] + ["lookup_ip"] + list(local.columns[1:])
    assert got["status"].tolist() == local["status"].tolist()
    assert got["country"].fillna("").tolist() == local["country"].fillna("").tolist()
    # The input's columns stay with their rows (the prefix repeats its row per network).
    assert got["n"].is_monotonic_increasing and got["n"].iloc[-1] == len(head) - 1
    assert len(got) > len(head) and (got["n"] == len(head) - 1).sum() == len(got) - len(head) + 1
