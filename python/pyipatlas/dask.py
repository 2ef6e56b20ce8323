"""Count and look up IP addresses in Dask collections.

Each partition is resolved in-process into a tally; tallies travel as bytes and are merged
in a tree of ``split_every`` at a time. Workers open the database once per process
(:meth:`pyipatlas.Database.cached`); the path must be readable where the workers run.

>>> from pyipatlas import dask as ipdask
>>> tally = ipdask.tally(ddf["ip"], "GeoLite2-City.mmdb")      # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Optional, Sequence, Union

import pyarrow as pa

from . import Database, Tally, _arrow

__all__ = ["tally", "lookup"]


def _paths(db_path: Union[str, Sequence[str]]) -> list:
    paths = [db_path] if isinstance(db_path, (str, os.PathLike)) else list(db_path)
    out = []
    for p in paths:
        p = os.fspath(p)
        out.append(p if p == "embedded" or "://" in p else os.path.abspath(p))
    return out


def _values(part):
    """A partition's values as Arrow: a pandas Series, a one-column DataFrame, or a bag's
    list."""
    if hasattr(part, "columns") and len(part.columns) == 1:
        part = part[part.columns[0]]
    if isinstance(part, (list, tuple)):
        return _arrow(list(part))
    return _arrow(part)


def _tally_part(part, paths, family, extract) -> bytes:
    db = Database.cached(paths)
    # The compiled table: built once per worker process, then every partition uses it.
    counted = db.aggregate(_values(part), family=family, extract=extract, lookup="table")
    return counted.to_bytes()


def _merge(*parts: bytes) -> bytes:
    return Tally.merge_all([Tally.from_bytes(p) for p in parts]).to_bytes()


def tally(
    series_or_bag,
    db_path: Union[str, Sequence[str]] = "embedded",
    split_every: int = 8,
    *,
    family: Optional[str] = None,
    extract: bool = False,
    scheduler=None,
) -> Tally:
    """Counts the addresses of a Dask Series (or one-column DataFrame) or Bag into one
    :class:`~pyipatlas.Tally`, merging ``split_every`` partition tallies at a time."""
    import dask

    if split_every < 2:
        raise ValueError(f"split_every must be at least 2, got {split_every}")
    paths = _paths(db_path)
    level = [
        dask.delayed(_tally_part, pure=True)(part, paths, family, extract)
        for part in series_or_bag.to_delayed()
    ]
    if not level:
        return Database.cached(paths).aggregate(pa.array([], pa.string()))
    while len(level) > 1:
        level = [
            dask.delayed(_merge, pure=True)(*level[i : i + split_every])
            for i in range(0, len(level), split_every)
        ]
    (merged,) = dask.compute(level[0], scheduler=scheduler)
    return Tally.from_bytes(merged)


def _lookup_part(frame, column, paths, family):
    import pandas as pd

    db = Database.cached(paths)
    rows, index = db._lookup_indexed(frame[column], family)
    taken = frame.iloc[index.to_numpy()].reset_index(drop=True)
    looked = rows.to_pandas()
    looked.columns = [c if c not in taken.columns else f"lookup_{c}" for c in looked.columns]
    return pd.concat([taken, looked], axis=1)


def lookup(ddf, column: str, db_path: Union[str, Sequence[str]] = "embedded", *, family=None):
    """The DataFrame's columns plus the lookup columns (one an input column already uses
    is named ``lookup_<name>``): a row per input row (a prefix has one per database
    network it covers)."""
    if column not in ddf.columns:
        raise ValueError(f"no column {column!r} in the DataFrame (columns: {list(ddf.columns)})")
    paths = _paths(db_path)
    # The output's columns and types: the lookup of an empty partition.
    meta_rows = _lookup_part(ddf._meta, column, paths, family)
    return ddf.map_partitions(_lookup_part, column, paths, family, meta=meta_rows)
