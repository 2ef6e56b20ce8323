"""Count and look up IP addresses in Spark DataFrames.

Each partition is resolved in-process (``mapInArrow``: Arrow batches straight into the Rust
engine, no Python per row), into one tally per partition; the tallies travel as bytes and
are merged in a tree. The database is shipped to the executors with
``SparkContext.addFile`` (unless it is the embedded one) and opened once per executor
process (:meth:`pyipatlas.Database.cached`).

>>> from pyipatlas import spark as ipspark
>>> tally = ipspark.tally(df, "ip", "GeoLite2-City.mmdb")      # doctest: +SKIP
>>> rows = ipspark.lookup(df, "ip", "GeoLite2-City.mmdb")      # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Optional, Sequence, Union

import pyarrow as pa

from . import Database, Tally

__all__ = ["tally", "lookup", "LOOKUP_COLUMNS"]

#: Up to this many partitions, their tallies are added on the driver; above, in a tree
#: on the executors (``treeReduce``).
DRIVER_MERGE = 64

#: Rows counted per call into the engine.
BATCH_ROWS = 1_000_000

#: The lookup columns and their Spark SQL types.
LOOKUP_COLUMNS = [
    ("ip", "string"),
    ("country", "string"),
    ("latitude", "double"),
    ("longitude", "double"),
    ("accuracy_radius", "bigint"),
    ("network", "string"),
    ("status", "string"),
    ("reason", "string"),
]


def _ship(spark, db_path: Union[str, Sequence[str]]) -> list:
    """Ships local database files to the executors; returns how a task finds each one:
    ``("embedded", None)`` or ``("file", name)``."""
    paths = [db_path] if isinstance(db_path, (str, os.PathLike)) else list(db_path)
    refs = []
    context = spark.sparkContext
    shipped = getattr(context, "_pyipatlas_shipped", None)
    if shipped is None:
        shipped = set()
        context._pyipatlas_shipped = shipped
    for p in paths:
        p = os.fspath(p)
        if p == "embedded":
            refs.append(("embedded", None))
            continue
        if "://" not in p:
            p = os.path.abspath(p)
            if not os.path.exists(p):
                raise FileNotFoundError(f"database {p} not found")
        if p not in shipped:
            context.addFile(p, recursive=os.path.isdir(p))
            shipped.add(p)
        refs.append(("file", os.path.basename(p.rstrip("/"))))
    return refs


def _open(refs: list) -> Database:
    """The executor's copy of the databases, opened once per process."""
    from pyspark import SparkFiles

    paths = ["embedded" if kind == "embedded" else SparkFiles.get(name) for kind, name in refs]
    return Database.cached(paths)


def _addresses(values):
    """A column of addresses as the engine takes them: strings as they are, integers (Spark
    reads IPv4 integers as int or bigint) cast to uint32, refusing values that do not fit."""
    if pa.types.is_integer(values.type) and values.type != pa.uint32():
        return values.cast(pa.uint32())
    return values


def _column_type(df, column: str) -> None:
    if column not in df.columns:
        raise ValueError(f"no column {column!r} in the DataFrame (columns: {df.columns})")


def tally(
    df,
    column: str,
    db_path: Union[str, Sequence[str]] = "embedded",
    *,
    family: Optional[str] = None,
    extract: bool = False,
    depth: int = 2,
) -> Tally:
    """Counts the addresses in ``df[column]`` (strings, or IPv4 as integers) into one
    :class:`~pyipatlas.Tally`: a tally per partition on the executors, sent as bytes and
    added on the driver (up to :data:`DRIVER_MERGE` partitions) or in a tree on the
    executors (``depth`` levels of ``treeReduce``)."""
    _column_type(df, column)
    refs = _ship(df.sparkSession, db_path)

    def per_partition(batches):
        db = _open(refs)
        parts = []
        pending, rows = [], 0

        def count():
            values = _addresses(pa.chunked_array(pending) if pending else pa.array([], pa.string()))
            # The compiled table: built once per executor process, then every batch
            # resolves through it.
            parts.append(db.aggregate(values, family=family, extract=extract, lookup="table"))

        # Arrow batches (10,000 rows by default) are counted a million rows at a time:
        # one call into the engine, all its threads, per million.
        for batch in batches:
            pending.append(batch.column(0))
            rows += batch.num_rows
            if rows >= BATCH_ROWS:
                count()
                pending, rows = [], 0
        if pending or not parts:
            count()
        merged = Tally.merge_all(parts)
        yield pa.RecordBatch.from_arrays([pa.array([merged.to_bytes()], pa.binary())], ["tally"])

    def add(a: bytes, b: bytes) -> bytes:
        return (Tally.from_bytes(a) + Tally.from_bytes(b)).to_bytes()

    tallies = df.select(column).mapInArrow(per_partition, "tally binary")
    partitions = tallies.rdd.getNumPartitions()
    if partitions == 0:
        return _open(refs).aggregate(pa.array([], pa.string()))
    if partitions <= DRIVER_MERGE:
        # Few partitions: their tallies come to the driver in one Arrow transfer and are
        # added there in one call (a tree would cost a second Spark job).
        rows = tallies.toArrow() if hasattr(tallies, "toArrow") else None
        data = rows.column("tally").to_pylist() if rows is not None else [r[0] for r in tallies.collect()]
        return Tally.merge_all(Tally.from_bytes(b) for b in data)
    parts = tallies.rdd.map(lambda r: r[0])
    return Tally.from_bytes(parts.treeReduce(add, depth=depth))


def lookup(
    df,
    column: str,
    db_path: Union[str, Sequence[str]] = "embedded",
    *,
    family: Optional[str] = None,
):
    """The DataFrame's columns plus the lookup columns (``ip, country, latitude,
    longitude, accuracy_radius, network, status, reason``; one that an input column
    already uses is named ``lookup_<name>``): a row per input row (a prefix has one per
    database network it covers, the input's columns repeated)."""
    _column_type(df, column)
    refs = _ship(df.sparkSession, db_path)
    taken = set(df.columns)
    names = [(n if n not in taken else f"lookup_{n}", t) for n, t in LOOKUP_COLUMNS]
    schema = ", ".join(
        [f"`{f.name}` {f.dataType.simpleString()}" for f in df.schema.fields]
        + [f"`{n}` {t}" for n, t in names]
    )

    def per_partition(batches):
        db = _open(refs)
        for batch in batches:
            values = _addresses(batch.column(batch.schema.get_field_index(column)))
            rows, index = db._lookup_indexed(values, family)
            inputs = batch.take(index)
            arrays = list(inputs.columns) + [
                rows.column(i).cast(pa.int64()) if n == "accuracy_radius" else rows.column(i)
                for i, (n, _) in enumerate(LOOKUP_COLUMNS)
            ]
            out_names = list(inputs.schema.names) + [n for n, _ in names]
            yield pa.RecordBatch.from_arrays(
                [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays],
                out_names,
            )

    return df.mapInArrow(per_partition, schema)
