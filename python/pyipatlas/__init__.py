"""pyipatlas: IP address geolocation at scale, from Python.

Resolve IP addresses against MaxMind-DB-format databases and count them per country, grid
cell and H3 hexagon in a mergeable :class:`Tally`, which draws maps and writes GeoJSON. The
work runs in Rust (the ipatlas library) with the GIL released.

>>> import pyipatlas
>>> db = pyipatlas.Database("embedded")
>>> tally = db.aggregate(["8.8.8.8", "1.1.1.1"])
>>> int(tally.countries()["count"].sum())
2
"""

from __future__ import annotations

import base64
import html
import io
import ipaddress
import json
import os
import tempfile
import threading
from typing import Any, Iterable, Optional, Sequence, Union

import pyarrow as pa

from . import _native
from ._native import IpatlasError

__version__ = _native.__version__
__all__ = ["Database", "Tally", "Page", "load", "IpatlasError", "__version__"]

PathLike = Union[str, "os.PathLike[str]"]

_IP_TYPES = (
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
)


def _arrow(ips: Any) -> Any:
    """What users hold, as something Arrow reads without a copy where it can.

    pyarrow arrays and chunked arrays (and anything with the Arrow PyCapsule interface) pass
    through; pandas Series use their Arrow data when they have it; polars Series are
    exported; numpy arrays of uint32 are IPv4 integers; lists hold str, bytes, ipaddress
    objects or None.
    """
    if isinstance(ips, (pa.Array, pa.ChunkedArray)):
        return ips
    module = type(ips).__module__ or ""
    if module.startswith("pandas"):
        values = getattr(ips, "array", ips)
        if hasattr(values, "__arrow_array__"):
            return values.__arrow_array__()
        if getattr(ips, "dtype", None) is not None and ips.dtype.kind in "iu":
            return pa.array(ips.to_numpy())
        return _from_list(ips.tolist())
    if module.startswith("polars"):
        return ips.to_arrow()
    if module.startswith("numpy"):
        if ips.dtype.kind in "iu":
            if ips.dtype.name != "uint32":
                raise TypeError(
                    f"integer addresses must be uint32 (IPv4), got {ips.dtype.name}; "
                    "convert with .astype('uint32') if every value fits"
                )
            return pa.array(ips)
        return _from_list(ips.tolist())
    if hasattr(ips, "__arrow_c_stream__") or hasattr(ips, "__arrow_c_array__"):
        return ips
    if isinstance(ips, (str, bytes)) or isinstance(ips, _IP_TYPES):
        return _from_list([ips])
    return _from_list(list(ips))


def _from_list(values: list) -> pa.Array:
    """A list of str, bytes, ipaddress objects and None as an Arrow array."""
    if any(isinstance(v, bytes) for v in values):
        return pa.array(
            [v if v is None or isinstance(v, bytes) else str(v).encode() for v in values],
            pa.binary(),
        )
    return pa.array(
        [v if v is None or isinstance(v, str) else str(v) for v in values], pa.string()
    )


def _paths(path: Union[PathLike, Sequence[PathLike]]) -> list:
    if isinstance(path, (list, tuple)):
        return [os.fspath(p) for p in path]
    return [os.fspath(path)]


def _cache(cache_dir: Any) -> Any:
    """``None`` (the default location), ``False`` (no cache) or a folder's path."""
    if cache_dir is None or cache_dir is False:
        return cache_dir
    return os.fspath(cache_dir)


def _write_atomic(path: PathLike, data: bytes) -> None:
    """Writes `data` to `path` through a temporary file in the same folder, renamed over it
    at the end: a reader never sees half a file, and a failure leaves nothing behind."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".pyipatlas-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Page:
    """An interactive page (:meth:`Tally.explore`): shown in a notebook in a frame of its
    own, so its script and style touch nothing else in the notebook."""

    def __init__(self, html_text: str, height: int = 720):
        self.html = html_text
        self.height = int(height)

    def save(self, path: PathLike) -> None:
        """Writes the page (atomically)."""
        _write_atomic(path, self.html.encode("utf-8"))

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
            f'style="width:100%;height:{self.height}px;border:0" '
            f'title="ipatlas map"></iframe>'
        )

    def __repr__(self) -> str:
        return f"<pyipatlas.Page {len(self.html.encode('utf-8')):,} bytes>"


def _reopen(paths: list, checksum: str, cache_dir: Any, asn_db: Optional[str] = None) -> "Database":
    """Unpickles a Database: the same files, checked to hold the same bytes."""
    db = Database.cached(paths, cache_dir=cache_dir, asn_db=asn_db)
    if db.checksum != checksum:
        raise IpatlasError(
            f"the database at {', '.join(paths)} is not the one that was pickled "
            f"(checksum {db.checksum}, expected {checksum})"
        )
    return db


class Database:
    """Opened geolocation databases: any the command line opens.

    ``path`` is an ``.mmdb`` file, a CSV database (folder, zip or files), ``"embedded"``
    (the DB-IP country database built into ipatlas), or a list of these (the first that
    covers a family answers it). ``cache_dir`` is where the compiled IPv4 table is kept
    between processes: by default where the command line keeps it
    (``$IPATLAS_CACHE_DIR``, ``$XDG_CACHE_HOME/ipatlas``, ``~/.cache/ipatlas``);
    ``False`` keeps none. ``asn_db`` (a GeoLite2-ASN ``.mmdb``, or ip-location-db's ASN
    ``.mmdb`` or CSV) gives every address its network, as ``--asn-db`` does: lookups gain
    ``asn`` and ``as_organization`` columns, tallies :meth:`Tally.asns`.
    """

    _shared: dict = {}
    _shared_lock = threading.Lock()

    def __init__(
        self,
        path: Union[PathLike, Sequence[PathLike]] = "embedded",
        *,
        cache_dir: Union[None, bool, PathLike] = None,
        asn_db: Optional[PathLike] = None,
    ):
        self._paths = _paths(path)
        self._cache_dir = _cache(cache_dir)
        self._asn_db = None if asn_db is None else os.fspath(asn_db)
        self._native = _native.NativeDatabase(
            self._paths,
            self._cache_dir if isinstance(self._cache_dir, str) else None,
            self._cache_dir is False,
            self._asn_db,
        )
        self._checksum: Optional[str] = None

    @classmethod
    def cached(
        cls,
        path: Union[PathLike, Sequence[PathLike]] = "embedded",
        *,
        cache_dir: Union[None, bool, PathLike] = None,
        asn_db: Optional[PathLike] = None,
    ) -> "Database":
        """One shared instance per process and path: what a Spark or Dask task calls, so
        the database is opened (and its table compiled) once per worker, not per task."""
        key = (tuple(_paths(path)), _cache(cache_dir), None if asn_db is None else os.fspath(asn_db))
        with cls._shared_lock:
            db = cls._shared.get(key)
            if db is None:
                db = cls(list(key[0]), cache_dir=key[1], asn_db=key[2])
                cls._shared[key] = db
            return db

    @property
    def paths(self) -> list:
        """The paths it was opened from."""
        return list(self._paths)

    @property
    def checksum(self) -> str:
        """A checksum of the databases' bytes (XXH3-128, hex)."""
        if self._checksum is None:
            self._checksum = self._native.checksum()
        return self._checksum

    @property
    def databases(self) -> list:
        """Every database: type, build date, attribution, IP version, schema, path."""
        infos = json.loads(self._native.infos_json())
        for info, schema in zip(infos, json.loads(self._native.schemas_json())):
            info.update(schema)
        return infos

    @property
    def info(self) -> dict:
        """The (first) database: type, build date, attribution, IP version, schema; with
        several, ``databases`` lists them all."""
        infos = self.databases
        first = dict(infos[0])
        if len(infos) > 1:
            first["databases"] = infos
        return first

    def lookup(self, ips: Any, *, family: Optional[str] = None) -> pa.Table:
        """One row per address, in input order, with the command line's lookup columns
        (``ip, country, latitude, longitude, accuracy_radius, network, status, reason``).
        A prefix has a row per database network it covers; a null or blank value a
        ``skipped`` row; ``family`` (``"ipv4"``, ``"ipv6"``) marks the other ``excluded``."""
        table, _ = self._native.lookup(_arrow(ips), family)
        return table

    def _lookup_indexed(self, ips: Any, family: Optional[str] = None):
        """The lookup table and, for each row, the 0-based position of its value."""
        table, index = self._native.lookup(_arrow(ips), family)
        return table, index.column(0).combine_chunks()

    def aggregate(
        self,
        ips: Any,
        *,
        family: Optional[str] = None,
        extract: bool = False,
        lookup: str = "auto",
    ) -> "Tally":
        """Counts the addresses (and CIDR prefixes) into a :class:`Tally`. ``family``:
        ``"ipv4"`` or ``"ipv6"`` counts one family only; ``extract`` finds every address
        anywhere in each value (log lines). ``lookup``: ``"table"`` compiles the IPv4
        table first (about a second, once per process; worth it for many calls or many
        addresses), ``"tree"`` never does, ``"auto"`` uses it for large inputs or once
        compiled."""
        return Tally(self._native.aggregate(_arrow(ips), family, extract, lookup))

    def __reduce__(self):
        return (_reopen, (self._paths, self.checksum, self._cache_dir, self._asn_db))

    def __repr__(self) -> str:
        info = self.info
        return (
            f"<pyipatlas.Database {info.get('type')} {info.get('build_date')} "
            f"({', '.join(self._paths)})>"
        )


class Tally:
    """Counts per place (country, coordinates) in a mergeable form: add tallies with ``+``
    or :meth:`merge_all`, exactly as ``ipatlas merge`` does; save them in the command
    line's tally format, read them back, draw and export them."""

    __slots__ = ("_native",)

    def __init__(self, native: "_native.NativeTally"):
        self._native = native

    # Merging ---------------------------------------------------------------------------
    @staticmethod
    def merge_all(tallies: Iterable["Tally"], *, allow_mixed_databases: bool = False) -> "Tally":
        """The exact sum of tallies (tallies of different databases are refused unless
        ``allow_mixed_databases``)."""
        natives = [t._native for t in tallies]
        return Tally(_native.NativeTally.merge_all(natives, allow_mixed_databases))

    def __add__(self, other: "Tally") -> "Tally":
        if not isinstance(other, Tally):
            return NotImplemented
        return Tally.merge_all([self, other])

    def __radd__(self, other: Any) -> "Tally":
        # sum(tallies) starts from 0.
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    # Bytes, files, pickling ------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """A compact binary form (about a tenth of the tally file's JSON), for shuffles."""
        return self._native.to_bytes()

    @staticmethod
    def from_bytes(data: bytes) -> "Tally":
        """Reads :meth:`to_bytes`'s form (or a tally file's JSON text)."""
        return Tally(_native.NativeTally.from_bytes(bytes(data)))

    def __reduce__(self):
        return (Tally.from_bytes, (self.to_bytes(),))

    def save(self, path: PathLike) -> None:
        """Writes the command line's tally file (``ipatlas render`` and ``merge`` read it),
        atomically."""
        _write_atomic(path, self._native.to_json())

    # Figures ---------------------------------------------------------------------------
    @property
    def counters(self) -> dict:
        """The summary's figures: lines, invalid records by reason, addresses and /64
        subnets found and not found (by reason), by family, countries."""
        summary = json.loads(self._native.summary_json())
        for key in (
            "ipatlas",
            "elapsed_s",
            "threads",
            "decoded_records",
            "ipv4_table",
            "database",
            "databases",
        ):
            summary.pop(key, None)
        return summary

    @property
    def databases(self) -> list:
        """The databases the tally was made with."""
        return json.loads(self._native.databases_json())

    def located(self, unit: Optional[str] = None) -> dict:
        """Located weight in a unit (``"addresses"`` or ``"subnets"``): found, with a
        country, with coordinates."""
        return json.loads(self._native.located_json(unit))

    def countries(self):
        """A pandas DataFrame with ``countries.csv``'s columns (country, count, share,
        unit)."""
        return _read_csv(self._native.countries_csv())

    def subdivisions(self, top: Optional[int] = None):
        """A pandas DataFrame with ``aggregate --subdivisions``'s columns (country,
        subdivision, name, count, share, unit): first-level subdivisions where the database
        names them; ``top`` keeps the first rows per unit."""
        return _read_csv(self._native.detail_csv("subdivisions", top))

    def cities(self, top: Optional[int] = None):
        """A pandas DataFrame with ``aggregate --cities``'s columns (country, subdivision,
        city, latitude, longitude, count, share, unit)."""
        return _read_csv(self._native.detail_csv("cities", top))

    def asns(self, top: Optional[int] = None, by_country: bool = False):
        """A pandas DataFrame with ``aggregate --asns``'s columns (asn, organization, count,
        share, unit), or with ``by_country`` ``--country-asns``'s (country, rank, asn,
        organization, count, share, country_share, unit); needs a Database opened with
        ``asn_db``."""
        return _read_csv(self._native.detail_csv("country_asns" if by_country else "asns", top))

    def cells(self, deg: float = 1.0):
        """A pandas DataFrame with ``cells.csv``'s columns at ``deg``-degree cells."""
        return _read_csv(self._native.cells_csv(float(deg)))

    def compare(self, other: "Tally", unit: Optional[str] = None, measure: str = "shares",
                cell: Optional[float] = None):
        """Then versus now, this tally as A and ``other`` as B: a pandas DataFrame with
        ``ipatlas compare``'s ``countries.csv`` columns (country, count_a, count_b, share_a,
        share_b, change, ratio, unit; the largest gain first), or its ``cells.csv`` at
        ``cell``-degree cells. ``measure`` is "shares" (each side's share of its own total)
        or "counts"; ``ratio`` is NaN where A has none."""
        if not isinstance(other, Tally):
            raise TypeError(f"compare needs a Tally, not {type(other).__name__}")
        return _read_csv(self._native.compare_csv(
            other._native, unit, measure, None if cell is None else float(cell)))

    def hex(self, res: int = 3, unit: Optional[str] = None):
        """A pandas DataFrame of H3 cells at resolution ``res``: h3, resolution, lat, lon
        (the cell's centre), count, share, unit (as the hex GeoJSON layer)."""
        import pandas as pd

        rows, label = self._native.hex_cells(int(res), unit)
        frame = pd.DataFrame(rows, columns=["h3", "lat", "lon", "count", "share"])
        frame.insert(1, "resolution", int(res))
        frame["count"] = frame["count"].astype("int64" if all(r[3] < 2**63 for r in rows) else object)
        frame["unit"] = label
        return frame

    # Outputs ---------------------------------------------------------------------------
    def to_geojson(
        self,
        layer: str = "cells",
        *,
        cell: float = 1.0,
        h3_res: int = 3,
        unit: Optional[str] = None,
    ) -> str:
        """One GeoJSON layer (``cells``, ``places``, ``countries``, ``hex``): the same
        bytes as ``ipatlas geojson``."""
        return self._native.geojson(layer, float(cell), int(h3_res), unit)

    def to_geopandas(self, layer: str = "cells", **options):
        """The layer as a geopandas GeoDataFrame in EPSG:4326 (needs geopandas)."""
        import geopandas

        features = json.loads(self.to_geojson(layer, **options))["features"]
        return geopandas.GeoDataFrame.from_features(features, crs="EPSG:4326")

    def render(self, path: Optional[PathLike] = None, **options) -> bytes:
        """Draws the map as PNG bytes (and writes them to ``path``, atomically), the same
        pixels as ``ipatlas render`` with the same options: mode, unit, width, projection
        ("auto", a name, or "name:lon0" such as "equal-earth:150"), lon0, bbox
        ("lon0,lat0,lon1,lat1"; a west edge east of the east edge crosses the antimeridian),
        size ("180mm", "18cm", "7in": the printed width, at dpi, 300 by default; instead of
        width) and dpi (the resolution the PNG says it has), scale, colormap, style, title, legend, cell, spread,
        blur, per_capita, drop_coarse, coarse_km, graticule, h3_res, notes (a list of lines
        above the attribution, as ``--note``), legend_label, full_mercator."""
        png, report = self._render(**options)
        if path is not None:
            _write_atomic(path, png)
        return png

    def to_svg(self, path: Optional[PathLike] = None, **options) -> str:
        """The map as SVG (the PNG's layout: countries and cells as paths, text as text
        naming DejaVu Sans, points as an embedded image), the same bytes as
        ``ipatlas render -o map.svg`` with the same options (those of :meth:`render`).
        Written to ``path`` atomically if given."""
        svg, _ = self._render(vector="svg", **options)
        if path is not None:
            _write_atomic(path, svg)
        return svg.decode("utf-8")

    def to_pdf(self, path: Optional[PathLike] = None, **options) -> bytes:
        """The map as a one-page PDF with its fonts embedded (subset), the page the
        printed size (``size``/``dpi``; 96 pixels per inch without them), the same
        picture as ``ipatlas render -o map.pdf``. Written to ``path`` atomically if given."""
        pdf, _ = self._render(vector="pdf", **options)
        if path is not None:
            _write_atomic(path, pdf)
        return pdf

    def to_html(self, path: Optional[PathLike] = None, html_max_mb: float = 10.0,
                **options) -> str:
        """The interactive page (one self-contained HTML file: pan, zoom, hover, the
        countries, cells, hexagons and points layers), the same bytes as
        ``ipatlas render -o view.html`` with the same options (those of :meth:`render`;
        ``mode`` picks the layer shown first). Written to ``path`` atomically if given."""
        page, _ = self._render(page=True, html_max_mb=html_max_mb, **options)
        if path is not None:
            _write_atomic(path, page)
        return page.decode("utf-8")

    def page_report(self, html_max_mb: float = 10.0, **options) -> dict:
        """What the interactive page holds (the summary's ``html``): its size, the layer
        shown, each layer's features and whether it was left out for size."""
        return self._render(page=True, html_max_mb=html_max_mb, **options)[1]

    def explore(self, height: int = 720, **options) -> "Page":
        """The interactive page for a notebook: displayed in Jupyter as a frame of its own
        (``Page.html`` holds the page, ``Page.save(path)`` writes it)."""
        return Page(self.to_html(**options), height)

    def map_report(self, **options) -> dict:
        """What a map with these options draws and leaves out (the summary's ``map``)."""
        return self._render(**options)[1]

    def _render(self, **options):
        if "bbox" in options and isinstance(options["bbox"], (list, tuple)):
            options["bbox"] = ",".join(str(v) for v in options["bbox"])
        png, report = self._native.render(**options)
        return png, json.loads(report)

    # Display ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        c = self.counters
        return (
            f"<pyipatlas.Tally {c.get('lines', 0)} lines, "
            f"{c.get('found', 0)} {c.get('unit', 'addresses')} located, "
            f"{c.get('countries', 0)} countries>"
        )

    def _repr_html_(self) -> str:
        return _html_card(self)


def _read_csv(data: bytes):
    import pandas as pd

    # "NA" is Namibia, not a missing value.
    return pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values=[""])


def load(path: PathLike) -> Tally:
    """Reads a tally file written by ``ipatlas aggregate --tally``, ``merge`` or
    :meth:`Tally.save`."""
    return Tally(_native.NativeTally.read(os.fspath(path)))


def _html_card(tally: Tally) -> str:
    """A Jupyter card: totals and located share, databases with attribution, the top
    countries with share bars, and a small map."""
    c = tally.counters
    found = c.get("found", 0)
    searched = found + c.get("not_found", 0)
    rows = []
    countries = tally.countries()
    # The summary's unit: "addresses", or "weighted addresses" (--weight-column).
    unit = c.get("unit", "addresses")
    top = countries[countries["unit"] == unit].head(10) if len(countries) else countries
    for _, r in top.iterrows():
        width = max(1, int(round(float(r["share"]) * 200)))
        rows.append(
            "<tr><td>{}</td><td style='text-align:right'>{:,}</td>"
            "<td style='text-align:right'>{:.1%}</td><td><div style='background:#e8603c;"
            "height:10px;width:{}px'></div></td></tr>".format(
                html.escape(str(r["country"])), int(r["count"]), float(r["share"]), width
            )
        )
    dbs = "<br>".join(
        html.escape(f"{d.get('type')} ({d.get('build_date')})")
        + (
            f"<br><small>{html.escape(d['attribution'])}</small>"
            if d.get("attribution")
            else ""
        )
        for d in tally.databases
    )
    image = ""
    if found > 0 or c.get("subnets_64", {}).get("found", 0) > 0:
        try:
            png = tally.render(width=480, legend=False, style="light")
            image = "<img src='data:image/png;base64,{}' width='480'>".format(
                base64.b64encode(png).decode()
            )
        except (ValueError, IpatlasError):
            image = ""
    share = (found / searched) if searched else 0.0
    return (
        "<div style='font-family:sans-serif;font-size:13px'>"
        "<b>pyipatlas.Tally</b>: {:,} lines, {:,} {} located ({:.1%}), "
        "{:,} countries<br>{}<table>{}</table>{}</div>"
    ).format(
        c.get("lines", 0), found, html.escape(unit), share, c.get("countries", 0), dbs,
        "".join(rows), image,
    )
