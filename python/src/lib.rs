//! The native half of pyipatlas: databases, values held in Arrow arrays, tallies, maps and
//! GeoJSON, over the ipatlas library. The Python package (`pyipatlas/`) wraps these types
//! and turns what users hold (pandas, polars, numpy, lists) into Arrow first.

use arrow_array::builder::{Float64Builder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BinaryViewArray, LargeBinaryArray, LargeStringArray, RecordBatch,
    StringArray, StringViewArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema};
use ipatlas::input::InputMode;
use ipatlas::locate::{Atlas, DatabaseInfo, OpenOptions};
use ipatlas::outputs::features::Layer;
use ipatlas::pipeline::{Families, LookupRow, LookupStrategy, RunOptions, Values, lookup_values};
use ipatlas::render::{Bbox, Colormap, MapOptions, Mode, ProjectionSpec, ScaleKind, Style};
use ipatlas::tally::{CellGrid, Merge, Tally, Unit};
use ipatlas::{Error, ErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_arrow::PyTable;
use pyo3_arrow::input::AnyArray;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

create_exception!(
    _native,
    IpatlasError,
    PyException,
    "A database that cannot be read, or an internal error."
);

/// An ipatlas error as the Python exception a caller expects: `OSError` for files,
/// `ValueError` for bad input, options and tallies, `IpatlasError` for databases.
fn py_err(e: Error) -> PyErr {
    let text = e.to_string();
    match e.kind() {
        ErrorKind::Io => PyOSError::new_err(text),
        ErrorKind::InvalidInput | ErrorKind::Tally => PyValueError::new_err(text),
        _ => IpatlasError::new_err(text),
    }
}

/// Picks a named choice, or says which names there are.
fn choice<T: Copy>(what: &str, name: &str, options: &[(&str, T)]) -> PyResult<T> {
    options
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            PyValueError::new_err(format!(
                "{what} must be one of {}, got {name:?}",
                names.join(", ")
            ))
        })
}

fn families(name: Option<&str>) -> PyResult<Families> {
    match name {
        None => Ok(Families::All),
        Some(n) => choice(
            "family",
            n,
            &[
                ("all", Families::All),
                ("ipv4", Families::Ipv4),
                ("ipv6", Families::Ipv6),
            ],
        ),
    }
}

fn unit(name: Option<&str>, tally: &Tally) -> PyResult<Unit> {
    match name {
        None => Ok(Unit::default_for(tally)),
        Some(n) => choice(
            "unit",
            n,
            &[("addresses", Unit::Addresses), ("subnets", Unit::Subnets64)],
        ),
    }
}

/// One column of values in Arrow chunks: strings or binary (a record per value).
enum Chunk {
    Utf8(StringArray),
    LargeUtf8(LargeStringArray),
    Utf8View(StringViewArray),
    Binary(BinaryArray),
    LargeBinary(LargeBinaryArray),
    BinaryView(BinaryViewArray),
}

/// Arrow chunks seen as one sequence of values.
struct ArrowValues {
    chunks: Vec<Chunk>,
    /// The index of each chunk's first value.
    starts: Vec<usize>,
    len: usize,
}

impl ArrowValues {
    fn new(arrays: &[ArrayRef]) -> PyResult<Self> {
        let mut chunks = Vec::with_capacity(arrays.len());
        let mut starts = Vec::with_capacity(arrays.len());
        let mut len = 0;
        for a in arrays {
            macro_rules! take {
                ($t:ty, $v:ident) => {
                    a.as_any()
                        .downcast_ref::<$t>()
                        .map(|x| Chunk::$v(x.clone()))
                };
            }
            let chunk = match a.data_type() {
                DataType::Utf8 => take!(StringArray, Utf8),
                DataType::LargeUtf8 => take!(LargeStringArray, LargeUtf8),
                DataType::Utf8View => take!(StringViewArray, Utf8View),
                DataType::Binary => take!(BinaryArray, Binary),
                DataType::LargeBinary => take!(LargeBinaryArray, LargeBinary),
                DataType::BinaryView => take!(BinaryViewArray, BinaryView),
                other => {
                    return Err(PyTypeError::new_err(format!(
                        "addresses must be strings (or uint32 IPv4 integers), got Arrow type {other}"
                    )));
                }
            };
            let chunk = chunk.ok_or_else(|| PyTypeError::new_err("unexpected Arrow array"))?;
            starts.push(len);
            len += a.len();
            chunks.push(chunk);
        }
        Ok(ArrowValues {
            chunks,
            starts,
            len,
        })
    }
}

impl Values for ArrowValues {
    fn len(&self) -> usize {
        self.len
    }

    fn value(&self, i: usize) -> Option<&[u8]> {
        let c = self.starts.partition_point(|s| *s <= i).checked_sub(1)?;
        let j = i - self.starts[c];
        macro_rules! get {
            ($a:expr, $bytes:expr) => {
                ($a.is_valid(j)).then(|| $bytes($a.value(j)))
            };
        }
        match self.chunks.get(c)? {
            Chunk::Utf8(a) => get!(a, str::as_bytes),
            Chunk::LargeUtf8(a) => get!(a, str::as_bytes),
            Chunk::Utf8View(a) => get!(a, str::as_bytes),
            Chunk::Binary(a) => get!(a, std::convert::identity),
            Chunk::LargeBinary(a) => get!(a, std::convert::identity),
            Chunk::BinaryView(a) => get!(a, std::convert::identity),
        }
    }
}

/// IPv4 addresses as `uint32` chunks, or `None` when the chunks are not integers.
fn uint32_chunks(arrays: &[ArrayRef]) -> Option<Vec<UInt32Array>> {
    arrays
        .iter()
        .map(|a| a.as_any().downcast_ref::<UInt32Array>().cloned())
        .collect()
}

/// Opened databases, shared by every call (and, through `Database.cached`, by every task
/// of a Spark or Dask worker).
#[pyclass(module = "pyipatlas._native", frozen)]
struct NativeDatabase {
    atlas: Arc<Atlas>,
    cache_dir: Option<PathBuf>,
}

impl NativeDatabase {
    fn options(&self, family: Option<&str>, extract: bool) -> PyResult<RunOptions> {
        Ok(RunOptions {
            family: families(family)?,
            mode: if extract {
                InputMode::Extract
            } else {
                InputMode::Lines
            },
            cache_dir: self.cache_dir.clone(),
            ..RunOptions::default()
        })
    }
}

#[pymethods]
impl NativeDatabase {
    /// Opens databases as the command line does: `.mmdb` files, CSV databases (a folder,
    /// a zip, or files), `embedded`. Compiled tables (and converted CSV databases) are
    /// cached in `cache_dir`, else where the command line caches them (`$IPATLAS_CACHE_DIR`, `$XDG_CACHE_HOME/ipatlas`,
    /// `~/.cache/ipatlas`), unless `no_cache`.
    #[new]
    #[pyo3(signature = (paths, cache_dir=None, no_cache=false, asn_db=None))]
    fn new(
        py: Python<'_>,
        paths: Vec<PathBuf>,
        cache_dir: Option<PathBuf>,
        no_cache: bool,
        asn_db: Option<PathBuf>,
    ) -> PyResult<Self> {
        let cache_dir = match (no_cache, cache_dir) {
            (true, _) => None,
            (false, Some(dir)) => Some(dir),
            (false, None) => ipatlas::locate::cache::default_dir(),
        };
        let options = OpenOptions {
            cache_dir: cache_dir.clone(),
            asn_db,
            ..OpenOptions::default()
        };
        let atlas = py
            .detach(|| Atlas::open(&paths, &options))
            .map_err(py_err)?;
        Ok(NativeDatabase {
            atlas: Arc::new(atlas),
            cache_dir,
        })
    }

    /// What the databases are, as the tally file names them (a JSON list).
    fn infos_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.atlas.infos()).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The record layout and field names of each database (a JSON list).
    fn schemas_json(&self) -> String {
        let schemas: Vec<serde_json::Value> = self
            .atlas
            .databases()
            .iter()
            .map(|d| {
                let s = d.schema();
                serde_json::json!({
                    "schema": s.kind.name(),
                    "country_field": s.country.to_string(),
                    "lat_field": s.lat.to_string(),
                    "lon_field": s.lon.to_string(),
                })
            })
            .collect();
        serde_json::Value::from(schemas).to_string()
    }

    /// A hex checksum of every database's bytes (XXH3-128), in order.
    fn checksum(&self) -> String {
        self.atlas
            .databases()
            .iter()
            .map(|d| format!("{:032x}", d.fingerprint()))
            .collect::<Vec<_>>()
            .join("+")
    }

    /// Counts an Arrow array or chunked array of addresses (strings: one record per value;
    /// or uint32 IPv4 integers), with the GIL released.
    #[pyo3(signature = (values, family=None, extract=false, lookup="auto"))]
    fn aggregate(
        &self,
        py: Python<'_>,
        values: AnyArray,
        family: Option<&str>,
        extract: bool,
        lookup: &str,
    ) -> PyResult<NativeTally> {
        let mut options = self.options(family, extract)?;
        options.lookup = choice(
            "lookup",
            lookup,
            &[
                ("auto", LookupStrategy::Auto),
                ("table", LookupStrategy::Table),
                ("tree", LookupStrategy::Tree),
            ],
        )?;
        let (arrays, _) = values.into_chunked_array()?.into_inner();
        let atlas = &self.atlas;
        let tally = if let Some(ints) = uint32_chunks(&arrays) {
            py.detach(|| -> ipatlas::Result<Tally> {
                let mut total = Tally::new();
                for a in ints {
                    let counted = if a.null_count() == 0 {
                        atlas.aggregate_ipv4(a.values(), &options)?
                    } else {
                        let some: Vec<u32> = a.iter().flatten().collect();
                        let mut t = atlas.aggregate_ipv4(&some, &options)?;
                        t.counters.lines += (a.len() - some.len()) as u64;
                        t.counters.skipped += (a.len() - some.len()) as u64;
                        t
                    };
                    total.merge(&counted);
                }
                total.checked()
            })
        } else {
            let values = ArrowValues::new(&arrays)?;
            py.detach(|| atlas.aggregate_values(&values, &options))
        }
        .map_err(py_err)?;
        Ok(NativeTally {
            tally,
            databases: self.atlas.infos(),
        })
    }

    /// Looks up every value: a table with the command line's lookup columns, one row per
    /// value (one per database network for a prefix), and the 0-based value of each row.
    #[pyo3(signature = (values, family=None))]
    fn lookup<'py>(
        &self,
        py: Python<'py>,
        values: AnyArray,
        family: Option<&str>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let options = self.options(family, false)?;
        let (arrays, _) = values.into_chunked_array()?.into_inner();
        let atlas = &self.atlas;
        let rows = if let Some(ints) = uint32_chunks(&arrays) {
            let text: Vec<Option<String>> = ints
                .iter()
                .flat_map(|a| a.iter())
                .map(|v| v.map(|ip| std::net::Ipv4Addr::from(ip).to_string()))
                .collect();
            py.detach(|| lookup_values(atlas, &text[..], &options))
        } else {
            let values = ArrowValues::new(&arrays)?;
            py.detach(|| lookup_values(atlas, &values, &options))
        }
        .map_err(py_err)?
        .0;
        // Arrow batches of 64k rows, built on all threads.
        let with_asn = atlas.asn().is_some();
        let built: Vec<(RecordBatch, RecordBatch)> = py
            .detach(|| {
                rows.par_chunks(1 << 16)
                    .map(|rows| rows_batch(rows, with_asn))
                    .collect::<Result<_, _>>()
            })
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let (batches, indexes): (Vec<RecordBatch>, Vec<RecordBatch>) = if built.is_empty() {
            let (a, b) =
                rows_batch(&[], with_asn).map_err(|e| PyValueError::new_err(e.to_string()))?;
            (vec![a], vec![b])
        } else {
            built.into_iter().unzip()
        };
        let (schema, index_schema) = (batches[0].schema(), indexes[0].schema());
        let table = PyTable::try_new(batches, schema)?.into_pyarrow(py)?;
        let index = PyTable::try_new(indexes, index_schema)?.into_pyarrow(py)?;
        Ok((table, index))
    }
}

/// Lookup rows as an Arrow batch with the command line's columns, and a batch with the
/// 0-based value each row belongs to.
fn rows_batch(
    rows: &[LookupRow],
    with_asn: bool,
) -> Result<(RecordBatch, RecordBatch), arrow_schema::ArrowError> {
    let n = rows.len();
    let mut ip = StringBuilder::with_capacity(n, n * 12);
    let mut country = StringBuilder::with_capacity(n, n * 2);
    let mut lat = Float64Builder::with_capacity(n);
    let mut lon = Float64Builder::with_capacity(n);
    let mut radius = UInt32Builder::with_capacity(n);
    let mut network = StringBuilder::with_capacity(n, n * 16);
    let mut status = StringBuilder::with_capacity(n, n * 5);
    let mut reason = StringBuilder::with_capacity(n, n);
    let mut index = UInt64Builder::with_capacity(n);
    let mut asn = UInt32Builder::with_capacity(n);
    let mut organization = StringBuilder::with_capacity(n, n * 8);
    let mut text = String::with_capacity(48);
    for r in rows {
        ip.append_option(r.ip.as_deref());
        match &r.country {
            Some(c) => country.append_value(c.as_str()),
            None => country.append_null(),
        }
        lat.append_option(r.latitude);
        lon.append_option(r.longitude);
        radius.append_option(r.accuracy_radius);
        match r.network {
            Some(n) => {
                text.clear();
                ipatlas::util::push_network(&mut text, n);
                network.append_value(&text);
            }
            None => network.append_null(),
        }
        status.append_value(r.status.name());
        reason.append_option(r.reason);
        index.append_value(r.line.saturating_sub(1));
        asn.append_option(r.as_network.map(|n| n.asn));
        organization.append_option(
            r.as_network
                .and_then(|n| n.organization)
                .map(ipatlas::locate::Name::as_str),
        );
    }
    let mut columns: Vec<(&str, DataType, ArrayRef)> = vec![
        ("ip", DataType::Utf8, Arc::new(ip.finish())),
        ("country", DataType::Utf8, Arc::new(country.finish())),
        ("latitude", DataType::Float64, Arc::new(lat.finish())),
        ("longitude", DataType::Float64, Arc::new(lon.finish())),
        (
            "accuracy_radius",
            DataType::UInt32,
            Arc::new(radius.finish()),
        ),
        ("network", DataType::Utf8, Arc::new(network.finish())),
        ("status", DataType::Utf8, Arc::new(status.finish())),
        ("reason", DataType::Utf8, Arc::new(reason.finish())),
    ];
    if with_asn {
        columns.push(("asn", DataType::UInt32, Arc::new(asn.finish())));
        columns.push((
            "as_organization",
            DataType::Utf8,
            Arc::new(organization.finish()),
        ));
    }
    let schema = Schema::new(
        columns
            .iter()
            .map(|(name, t, _)| Field::new(*name, t.clone(), *name != "status"))
            .collect::<Vec<_>>(),
    );
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        columns.into_iter().map(|(_, _, a)| a).collect(),
    )?;
    let index = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "value",
            DataType::UInt64,
            false,
        )])),
        vec![Arc::new(index.finish())],
    )?;
    Ok((batch, index))
}

/// An H3 cell's row: index, centre latitude and longitude, count, share.
type HexRow = (String, f64, f64, u128, f64);

/// A tally and the databases it was made with.
#[pyclass(module = "pyipatlas._native", frozen)]
struct NativeTally {
    tally: Tally,
    databases: Vec<DatabaseInfo>,
}

impl NativeTally {
    fn grid(deg: f64) -> PyResult<CellGrid> {
        CellGrid::new(deg).map_err(py_err)
    }
}

#[pymethods]
impl NativeTally {
    /// Adds tallies as `ipatlas merge` does (exact; other databases refused unless
    /// `allow_mixed`).
    #[staticmethod]
    #[pyo3(signature = (tallies, allow_mixed=false))]
    fn merge_all(
        py: Python<'_>,
        tallies: Vec<Py<NativeTally>>,
        allow_mixed: bool,
    ) -> PyResult<NativeTally> {
        let parts: Vec<&NativeTally> = tallies.iter().map(|t| t.get()).collect();
        let merged = py.detach(|| {
            let mut merge = Merge::new(allow_mixed);
            for t in &parts {
                merge
                    .add(&t.tally, &t.databases)
                    .map_err(|m| m.to_string())?;
            }
            merge.finish().map_err(|e| e.to_string())
        });
        let (tally, databases) = merged.map_err(PyValueError::new_err)?;
        Ok(NativeTally { tally, databases })
    }

    /// The compact binary form (see `Tally::to_bytes`).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = py.detach(|| self.tally.to_bytes(self.databases.clone()));
        PyBytes::new(py, &bytes)
    }

    /// Reads the binary form, or a tally file's JSON text.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: Vec<u8>) -> PyResult<NativeTally> {
        let (tally, databases) = py.detach(|| Tally::from_bytes(&data)).map_err(py_err)?;
        Ok(NativeTally { tally, databases })
    }

    /// The tally file's JSON text (what `ipatlas aggregate --tally` writes).
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let mut out = Vec::new();
        self.tally
            .write(self.databases.clone(), &mut out)
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(PyBytes::new(py, &out))
    }

    /// Reads a tally file (any version the command line reads).
    #[staticmethod]
    fn read(path: PathBuf) -> PyResult<NativeTally> {
        let (tally, databases) = Tally::read(&path).map_err(py_err)?;
        Ok(NativeTally { tally, databases })
    }

    /// The summary's figures (as `--summary` writes them), as JSON text.
    #[pyo3(signature = (cell=1.0))]
    fn summary_json(&self, cell: f64) -> PyResult<String> {
        let facts = ipatlas::outputs::RunFacts {
            databases: self.databases.clone(),
            decoded_records: 0,
            ipv4_table: None,
            ipv6_table: None,
            csv_database: None,
            elapsed_s: 0.0,
            threads: 0,
            grid: Some(Self::grid(cell)?),
        };
        let summary = ipatlas::outputs::Summary::new(&self.tally, facts);
        serde_json::to_string(&summary).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The databases, as JSON text.
    fn databases_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.databases).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// `countries.csv`, as the command line writes it.
    fn countries_csv<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let mut out = Vec::new();
        ipatlas::outputs::countries_csv(&self.tally, &mut out)
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(PyBytes::new(py, &out))
    }

    /// `aggregate --subdivisions`, `--cities`, `--asns` or `--country-asns` (`which`), as
    /// the command line writes it, at most `top` rows per unit (per country).
    #[pyo3(signature = (which, top=None))]
    fn detail_csv<'py>(
        &self,
        py: Python<'py>,
        which: &str,
        top: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        type Table = fn(&Tally, Option<usize>, &mut dyn std::io::Write) -> std::io::Result<()>;
        let table: Table = choice(
            "table",
            which,
            &[
                ("subdivisions", ipatlas::outputs::subdivisions_csv as Table),
                ("cities", ipatlas::outputs::cities_csv as Table),
                ("asns", ipatlas::outputs::asns_csv as Table),
                ("country_asns", ipatlas::outputs::country_asns_csv as Table),
            ],
        )?;
        let mut out = Vec::new();
        table(&self.tally, top, &mut out).map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(PyBytes::new(py, &out))
    }

    /// `cells.csv` at `deg`-degree cells, as the command line writes it.
    fn cells_csv<'py>(&self, py: Python<'py>, deg: f64) -> PyResult<Bound<'py, PyBytes>> {
        let grid = Self::grid(deg)?;
        let mut out = Vec::new();
        ipatlas::outputs::cells_csv(&self.tally, &grid, &mut out)
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(PyBytes::new(py, &out))
    }

    /// `ipatlas compare`'s `countries.csv` of this tally (A) and `other` (B), or its
    /// `cells.csv` at `cell`-degree cells.
    #[pyo3(signature = (other, unit=None, measure="shares", cell=None))]
    fn compare_csv<'py>(
        &self,
        py: Python<'py>,
        other: PyRef<'_, NativeTally>,
        unit: Option<&str>,
        measure: &str,
        cell: Option<f64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        use ipatlas::tally::compare::{self, Comparison, Measure};
        let (a, b) = (&self.tally, &other.tally);
        let unit = match unit {
            Some(_) => self::unit(unit, a)?,
            None => Comparison::unit_for(a, b).ok_or_else(|| {
                PyValueError::new_err(
                    "the tallies have no unit in common (one located only addresses, the other only /64 subnets, or one nothing); pass unit=",
                )
            })?,
        };
        let measure = choice(
            "measure",
            measure,
            &[("shares", Measure::Shares), ("counts", Measure::Counts)],
        )?;
        let cmp = Comparison::new(a, b, unit, measure);
        let mut out = Vec::new();
        let written = match cell {
            None => compare::countries_csv(&cmp, a, b, &mut out),
            Some(deg) => compare::cells_csv(&cmp, a, b, &Self::grid(deg)?, &mut out),
        };
        written.map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(PyBytes::new(py, &out))
    }

    /// Weight per H3 cell in one unit: `(cell, lat, lon, count, share)` in index order, the
    /// centre's coordinates and the share as the hex GeoJSON layer gives it.
    #[pyo3(signature = (res=3, unit=None))]
    fn hex_cells(&self, res: u8, unit: Option<&str>) -> PyResult<(Vec<HexRow>, &'static str)> {
        let resolution = ipatlas::tally::h3_resolution(res).map_err(py_err)?;
        let u = self::unit(unit, &self.tally)?;
        let found = self.tally.located_unit(u).found;
        let rows = self
            .tally
            .hex_cells(resolution, u)
            .into_iter()
            .map(|(c, n)| {
                let centre = h3o::LatLng::from(c);
                (
                    c.to_string(),
                    ipatlas::geometry::round6(centre.lat()),
                    ipatlas::geometry::round6(centre.lng()),
                    n,
                    ipatlas::geometry::round6(ipatlas::outputs::share(n, found)),
                )
            })
            .collect();
        Ok((rows, u.label()))
    }

    /// Located weight in one unit (`found`, `with_country`, `with_coords`, ...), as JSON.
    #[pyo3(signature = (unit=None))]
    fn located_json(&self, unit: Option<&str>) -> PyResult<String> {
        let u = self::unit(unit, &self.tally)?;
        serde_json::to_string(&self.tally.located_unit(u))
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// One GeoJSON layer (`cells`, `places`, `countries`, `hex`), the same bytes as
    /// `ipatlas geojson`.
    #[pyo3(signature = (layer="cells", cell=1.0, h3_res=3, unit=None))]
    fn geojson(
        &self,
        py: Python<'_>,
        layer: &str,
        cell: f64,
        h3_res: u8,
        unit: Option<&str>,
    ) -> PyResult<String> {
        let resolution = ipatlas::tally::h3_resolution(h3_res).map_err(py_err)?;
        let layer = choice(
            "layer",
            layer,
            &[
                ("cells", Layer::Cells),
                ("places", Layer::Places),
                ("countries", Layer::Countries),
                ("subdivisions", Layer::Subdivisions),
                ("hex", Layer::Hex(resolution)),
            ],
        )?;
        let grid = Self::grid(cell)?;
        let u = self::unit(unit, &self.tally)?;
        py.detach(|| ipatlas::outputs::geojson::layer_string(&self.tally, layer, &grid, u))
            .map_err(py_err)
    }

    /// Draws the map: PNG bytes and the report of what was drawn (JSON), the same pixels
    /// as `ipatlas render` with the same options; with `page`, the interactive page's UTF-8
    /// bytes (as `ipatlas render -o view.html`) and its report.
    #[pyo3(signature = (
        mode=None, unit=None, width=1600, projection="auto", bbox=None,
        scale="eq-hist", colormap=None, style="dark", title=None, legend=true, cell=1.0,
        spread=1, blur=0.0, per_capita=false, drop_coarse=false, coarse_km=1000,
        graticule=false, h3_res=3, page=false, html_max_mb=10.0, notes=None,
        legend_label=None, full_mercator=false, level="country", font=None, scale_bar=true,
        lon0=None, size=None, dpi=None, vector=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn render<'py>(
        &self,
        py: Python<'py>,
        mode: Option<&str>,
        unit: Option<&str>,
        width: u32,
        projection: &str,
        bbox: Option<&str>,
        scale: &str,
        colormap: Option<&str>,
        style: &str,
        title: Option<String>,
        legend: bool,
        cell: f64,
        spread: u32,
        blur: f32,
        per_capita: bool,
        drop_coarse: bool,
        coarse_km: u32,
        graticule: bool,
        h3_res: u8,
        page: bool,
        html_max_mb: f64,
        notes: Option<Vec<String>>,
        legend_label: Option<String>,
        full_mercator: bool,
        level: &str,
        font: Option<PathBuf>,
        scale_bar: bool,
        lon0: Option<f64>,
        size: Option<&str>,
        dpi: Option<f64>,
        vector: Option<&str>,
    ) -> PyResult<(Bound<'py, PyBytes>, String)> {
        let vector = vector
            .map(|v| choice("vector", v, &[("svg", false), ("pdf", true)]))
            .transpose()?;
        let u = self::unit(unit, &self.tally)?;
        let mode = match mode {
            None => Mode::default_for(&self.tally, u, per_capita),
            Some(m) => choice(
                "mode",
                m,
                &[
                    ("points", Mode::Points),
                    ("cells", Mode::Cells),
                    ("choropleth", Mode::Choropleth),
                    ("hex", Mode::Hex),
                ],
            )?,
        };
        let options = MapOptions {
            projection: ProjectionSpec::parse(projection)
                .and_then(|p| p.with_lon0(lon0))
                .map_err(py_err)?,
            width,
            bbox: bbox.map(Bbox::parse).transpose().map_err(py_err)?,
            mode,
            scale: choice(
                "scale",
                scale,
                &[
                    ("eq-hist", ScaleKind::EqHist),
                    ("log", ScaleKind::Log),
                    ("cbrt", ScaleKind::Cbrt),
                    ("linear", ScaleKind::Linear),
                ],
            )?,
            colormap: colormap
                .map(|c| {
                    choice(
                        "colormap",
                        c,
                        &[
                            ("inferno", Colormap::Inferno),
                            ("magma", Colormap::Magma),
                            ("viridis", Colormap::Viridis),
                            ("plasma", Colormap::Plasma),
                            ("turbo", Colormap::Turbo),
                            ("cividis", Colormap::Cividis),
                            ("ylorrd", Colormap::YlOrRd),
                            ("blues", Colormap::Blues),
                            ("cubehelix", Colormap::Cubehelix),
                        ],
                    )
                })
                .transpose()?,
            style: choice(
                "style",
                style,
                &[("dark", Style::Dark), ("light", Style::Light)],
            )?,
            title,
            legend,
            cell,
            spread,
            blur,
            per_capita,
            drop_coarse_km: drop_coarse.then_some(coarse_km),
            graticule,
            h3_res,
            unit: u,
            captions: notes.unwrap_or_default(),
            legend_label,
            full_mercator,
            level: choice(
                "level",
                level,
                &[
                    ("country", ipatlas::render::Level::Country),
                    ("subdivision", ipatlas::render::Level::Subdivision),
                ],
            )?,
            font: font
                .as_deref()
                .map(ipatlas::render::FontFile::read)
                .transpose()
                .map_err(py_err)?,
            scale_bar,
            dpi: None,
        }
        .printed(
            size.map(ipatlas::render::print_width_mm)
                .transpose()
                .map_err(py_err)?,
            dpi.map(|d| ipatlas::render::parse_dpi(&d.to_string()))
                .transpose()
                .map_err(py_err)?,
        )
        .map_err(py_err)?;
        options.validate().map_err(py_err)?;
        if page {
            let html = ipatlas::render::HtmlOptions::from_mb(html_max_mb).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "html_max_mb must be 0.1 to 1000 megabytes, got {html_max_mb}"
                ))
            })?;
            let (text, report) = py
                .detach(|| {
                    ipatlas::render::page_html(&self.tally, &self.databases, &options, &html)
                })
                .map_err(py_err)?;
            let report =
                serde_json::to_string(&report).map_err(|e| PyValueError::new_err(e.to_string()))?;
            return Ok((PyBytes::new(py, text.as_bytes()), report));
        }
        if let Some(pdf) = vector {
            let (bytes, report) = py
                .detach(|| {
                    let basemap = ipatlas::basemap::Basemap::embedded(options.detail())?;
                    let (drawing, report) = ipatlas::render::render_vector_with(
                        &self.tally,
                        &basemap,
                        None,
                        &self.databases,
                        &options,
                    )?;
                    let bytes = if pdf {
                        drawing.pdf()?
                    } else {
                        drawing.svg().into_bytes()
                    };
                    Ok::<_, ipatlas::Error>((bytes, report))
                })
                .map_err(py_err)?;
            let report =
                serde_json::to_string(&report).map_err(|e| PyValueError::new_err(e.to_string()))?;
            return Ok((PyBytes::new(py, &bytes), report));
        }
        let (png, report) = py
            .detach(|| ipatlas::render::render_png(&self.tally, &self.databases, &options))
            .map_err(py_err)?;
        let report =
            serde_json::to_string(&report).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok((PyBytes::new(py, &png), report))
    }
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeDatabase>()?;
    m.add_class::<NativeTally>()?;
    m.add("IpatlasError", m.py().get_type::<IpatlasError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
