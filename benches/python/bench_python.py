"""pyipatlas against what people do instead, in one run on this machine (GeoLite2-City 2018).

  Spark local[2], N addresses in Parquet:
    pyipatlas.spark.tally                        the engine in-process, per partition
    mapInPandas + maxminddb per row + groupBy    the usual UDF pipeline
    read the column, do nothing                  Spark's own floor
  Dask LocalCluster (2 workers): pyipatlas.dask.tally vs maxminddb per row in map_partitions
  db.lookup on 1M addresses in a pyarrow array vs maxminddb per row
Ours: the best of three runs; the per-row peers: one run (they take minutes).

Use: python3 bench_python.py DB.mmdb IPS.parquet [--lookup-n 1000000]
Prints a JSON line per measurement and the ratios."""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import pyarrow as pa
import pyarrow.parquet as pq


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def report(name, seconds, **extra):
    print(json.dumps({"name": name, "seconds": round(seconds, 3), **extra}), flush=True)
    return seconds


def per_row_counts(db_path, ips):
    """The per-row loop: country and 1-degree cell of each address, with maxminddb."""
    import maxminddb

    reader = maxminddb.open_database(db_path, maxminddb.MODE_MMAP_EXT)
    out = {}
    for ip in ips:
        try:
            r = reader.get(ip)
        except ValueError:
            continue
        if not r:
            continue
        c = (r.get("country") or {}).get("iso_code")
        loc = r.get("location") or {}
        cell = None
        if "latitude" in loc:
            cell = (math.floor(loc["latitude"] + 90), math.floor(loc["longitude"] + 180))
        out[(c, cell)] = out.get((c, cell), 0) + 1
    return out


def spark_bench(db_path, parquet, reps):
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from pyipatlas import spark as ipspark

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    df = spark.read.parquet(parquet)
    n = df.count()

    def floor():
        def consume(batches):
            rows = 0
            for b in batches:
                rows += b.num_rows
            yield pa.RecordBatch.from_arrays([pa.array([rows], pa.int64())], ["n"])

        return sum(r["n"] for r in df.select("ip").mapInArrow(consume, "n long").collect())

    def ours():
        return ipspark.tally(df, "ip", db_path).counters["found"]

    def udf():
        import pandas as pd

        path = db_path

        def resolve(frames):
            import maxminddb

            reader = maxminddb.open_database(path, maxminddb.MODE_MMAP_EXT)
            for frame in frames:
                countries, lats, lons = [], [], []
                for ip in frame["ip"]:
                    r = reader.get(ip)
                    c = lat = lon = None
                    if r:
                        c = (r.get("country") or {}).get("iso_code")
                        loc = r.get("location") or {}
                        lat, lon = loc.get("latitude"), loc.get("longitude")
                    countries.append(c)
                    lats.append(lat)
                    lons.append(lon)
                yield pd.DataFrame({"country": countries, "lat": lats, "lon": lons})

        resolved = df.select("ip").mapInPandas(resolve, "country string, lat double, lon double")
        cells = resolved.groupBy(
            "country", F.floor(F.col("lat") + 90).alias("row"), F.floor(F.col("lon") + 180).alias("col")
        ).count()
        return cells.agg(F.sum("count")).collect()[0][0]

    results = {}
    ours()  # ships the database and warms the executors' Python workers
    for name, fn in (("spark floor (read the column)", floor), ("pyipatlas.spark.tally", ours), ("spark mapInPandas + maxminddb + groupBy", udf)):
        best = min(timed(fn)[0] for _ in range(reps if "maxminddb" not in name else 1))
        results[name] = report(name, best, rows=n)
    spark.stop()
    return results


def dask_bench(db_path, parquet):
    import dask.dataframe as dd
    from dask.distributed import Client

    from pyipatlas import dask as ipdask

    with Client(n_workers=2, threads_per_worker=1, dashboard_address=None) as client:
        ddf = dd.read_parquet(parquet).repartition(npartitions=16).persist()
        n = len(ddf)
        ipdask.tally(ddf["ip"], db_path)  # warm the workers
        results = {}
        best = min(timed(lambda: ipdask.tally(ddf["ip"], db_path))[0] for _ in range(3))
        results["pyipatlas.dask.tally"] = report("pyipatlas.dask.tally", best, rows=n)

        def per_row():
            parts = ddf["ip"].map_partitions(lambda s: pd_len(per_row_counts(db_path, s)), meta=("n", "int64"))
            return parts.sum().compute()

        results["dask maxminddb per row"] = report("dask maxminddb per row", timed(per_row)[0], rows=n)
        client.close()
    return results


def pd_len(counts):
    import pandas as pd

    return pd.Series([sum(counts.values())])


def lookup_bench(db_path, parquet, n):
    import maxminddb

    import pyipatlas

    ips = pq.read_table(parquet, columns=["ip"]).column("ip").slice(0, n).combine_chunks()
    db = pyipatlas.Database(db_path)
    db.lookup(ips.slice(0, 1000))
    best = min(timed(lambda: db.lookup(ips))[0] for _ in range(3))
    ours = report("pyipatlas db.lookup (pyarrow)", best, rows=n)
    as_list = ips.to_pylist()
    reader = maxminddb.open_database(db_path, maxminddb.MODE_MMAP_EXT)

    def per_row():
        # The same columns as db.lookup, kept as tuples (keeping every decoded record's
        # whole dict instead would measure the garbage collector, not the lookups).
        rows = []
        for ip in as_list:
            r, prefix = reader.get_with_prefix_len(ip)
            if r:
                loc = r.get("location") or {}
                rows.append((ip, (r.get("country") or {}).get("iso_code"), loc.get("latitude"),
                             loc.get("longitude"), loc.get("accuracy_radius"), prefix))
            else:
                rows.append((ip, None, None, None, None, prefix))
        return rows

    theirs = report("maxminddb per row (list)", timed(per_row)[0], rows=n)
    return {"pyipatlas db.lookup (pyarrow)": ours, "maxminddb per row (list)": theirs}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("db")
    p.add_argument("parquet")
    p.add_argument("--lookup-n", type=int, default=1_000_000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--only", choices=["spark", "dask", "lookup"])
    a = p.parse_args()
    r = {}
    if a.only in (None, "lookup"):
        r.update(lookup_bench(a.db, a.parquet, a.lookup_n))
    if a.only in (None, "dask"):
        r.update(dask_bench(a.db, a.parquet))
    if a.only in (None, "spark"):
        r.update(spark_bench(a.db, a.parquet, a.reps))
    ratios = {}
    if "pyipatlas.spark.tally" in r:
        ratios["spark: UDF pipeline / pyipatlas"] = r["spark mapInPandas + maxminddb + groupBy"] / r["pyipatlas.spark.tally"]
        ratios["spark: pyipatlas / floor"] = r["pyipatlas.spark.tally"] / r["spark floor (read the column)"]
    if "pyipatlas.dask.tally" in r:
        ratios["dask: per row / pyipatlas"] = r["dask maxminddb per row"] / r["pyipatlas.dask.tally"]
    if "pyipatlas db.lookup (pyarrow)" in r:
        ratios["lookup: maxminddb per row / pyipatlas"] = r["maxminddb per row (list)"] / r["pyipatlas db.lookup (pyarrow)"]
    print(json.dumps({"ratios": {k: round(v, 2) for k, v in ratios.items()}}), flush=True)


if __name__ == "__main__":
    main()
