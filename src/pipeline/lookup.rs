//! `lookup`: one row per record, in input order.

use super::read::with_chunks;
use super::values::{VALUES_PER_TASK, Values, value_mode};
use super::worker::{Outcome, Worker};
use super::{RunOptions, Work};
use crate::error::{Error, Result};
use crate::input::{self, Event, Input, Item};
use crate::locate::{Atlas, CountryCode, Place, canonical, canonical_network};
use crate::tally::Tally;
use ipnetwork::IpNetwork;
use rayon::prelude::*;
use std::io::Write;

/// Output format of `lookup`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum RowFormat {
    /// CSV with a header line.
    #[default]
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// What became of a lookup row's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Located: the row has the database's answer.
    Found,
    /// A valid record the databases do not locate (`reason` says why).
    NotFound,
    /// Not an address or prefix (`reason` says why).
    Invalid,
    /// Of a family the run leaves out.
    Excluded,
    /// A null, blank or comment value (rows of values only; lines like these are not rows).
    Skipped,
}

impl Status {
    /// The status as outputs write it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Status::Found => "found",
            Status::NotFound => "not_found",
            Status::Invalid => "invalid",
            Status::Excluded => "excluded",
            Status::Skipped => "skipped",
        }
    }
}

/// One `lookup` row: a record (an address; a prefix has a row per database network it
/// covers) and its answer.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LookupRow {
    /// The record in canonical form (or the invalid text, its first 200 bytes); `None` for
    /// a null value.
    pub ip: Option<String>,
    /// The country code, when located with one.
    pub country: Option<CountryCode>,
    /// Latitude, when located with coordinates.
    pub latitude: Option<f64>,
    /// Longitude, when located with coordinates.
    pub longitude: Option<f64>,
    /// The database's accuracy radius in km, when it gives one.
    pub accuracy_radius: Option<u32>,
    /// The database network the answer (or the absence of one) covers.
    #[serde(serialize_with = "display_option")]
    pub network: Option<IpNetwork>,
    /// What became of the record.
    pub status: Status,
    /// Why it was not found, invalid, excluded or skipped.
    pub reason: Option<&'static str>,
    /// The record's line (1-based), or its value's position (1-based) for values.
    #[serde(skip)]
    pub line: u64,
    /// The address's network, from the ASN database (`--asn-db`); written as the `asn` and
    /// `as_organization` columns when there is one.
    #[serde(skip)]
    pub as_network: Option<crate::locate::Network>,
}

/// A row with the ASN database's columns after the others.
#[derive(serde::Serialize)]
struct AsnRow<'a> {
    ip: &'a Option<String>,
    country: Option<CountryCode>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_radius: Option<u32>,
    #[serde(serialize_with = "display_option")]
    network: &'a Option<IpNetwork>,
    status: Status,
    reason: Option<&'static str>,
    asn: Option<u32>,
    as_organization: Option<&'static str>,
}

impl LookupRow {
    fn with_asn(&self) -> AsnRow<'_> {
        AsnRow {
            ip: &self.ip,
            country: self.country,
            latitude: self.latitude,
            longitude: self.longitude,
            accuracy_radius: self.accuracy_radius,
            network: &self.network,
            status: self.status,
            reason: self.reason,
            asn: self.as_network.map(|n| n.asn),
            as_organization: self
                .as_network
                .and_then(|n| n.organization)
                .map(crate::locate::Name::as_str),
        }
    }
}

#[allow(clippy::ref_option)]
fn display_option<S: serde::Serializer>(
    value: &Option<IpNetwork>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// The header of `lookup`'s CSV output.
pub const LOOKUP_HEADER: &str =
    "ip,country,latitude,longitude,accuracy_radius,network,status,reason";

/// The columns `lookup` adds with an ASN database.
pub const LOOKUP_ASN_COLUMNS: &str = ",asn,as_organization";

/// The header of `lookup`'s CSV output for this atlas.
fn header(atlas: &Atlas) -> String {
    let extra = if atlas.asn().is_some() {
        LOOKUP_ASN_COLUMNS
    } else {
        ""
    };
    format!("{LOOKUP_HEADER}{extra}")
}

/// Resolves every record of the inputs and writes one row each, in input order.
/// Returns the run's counters (as a tally without places).
///
/// Chunks are resolved and formatted in parallel, a batch at a time, while the previous
/// batch's rows are written; each thread keeps its worker (and the places it has decoded)
/// from chunk to chunk.
pub fn lookup(
    atlas: &Atlas,
    inputs: &[Input],
    options: &RunOptions,
    format: RowFormat,
    out: &mut (dyn Write + Send),
) -> Result<Tally> {
    let out_err = |e: std::io::Error| Error::output("-", e);
    if format == RowFormat::Csv {
        writeln!(out, "{}", header(atlas)).map_err(out_err)?;
    }
    let batch_len = rayon::current_num_threads().max(1) * 2;
    let pool: std::sync::Mutex<Vec<Worker<'_>>> = std::sync::Mutex::new(Vec::new());
    // Output buffers go back to be filled again once written (fresh pages cost the
    // kernel's zeroing).
    let buffers: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
    // IPv4 rows come from the compiled table when the input is large enough to pay for it
    // (the same answers and networks as the tree's).
    let table = super::rows_table_for(atlas, inputs, options)?;
    let new_worker = || {
        let mut worker = Worker::new(atlas, options, inputs, None).with_table(table.as_deref());
        worker.networks = true;
        worker
    };
    with_chunks(inputs, options, |rx, _| {
        let mut rx = rx.into_iter().peekable();
        let mut written: Vec<Vec<u8>> = Vec::new();
        loop {
            let batch: Vec<Work> = rx.by_ref().take(batch_len).collect();
            if batch.is_empty() && written.is_empty() {
                break;
            }
            let (wrote, rendered) = rayon::join(
                || -> Result<()> {
                    for mut bytes in written.drain(..) {
                        out.write_all(&bytes).map_err(out_err)?;
                        bytes.clear();
                        if let Ok(mut b) = buffers.lock() {
                            b.push(bytes);
                        }
                    }
                    Ok(())
                },
                || -> Result<Vec<Vec<u8>>> {
                    batch
                        .par_iter()
                        .map(|work| {
                            let taken = pool.lock().ok().and_then(|mut p| p.pop());
                            let mut worker = taken.unwrap_or_else(new_worker);
                            let buffer = buffers.lock().ok().and_then(|mut b| b.pop());
                            let rows = chunk_rows(
                                &mut worker,
                                options,
                                inputs,
                                work,
                                format,
                                buffer.unwrap_or_default(),
                            );
                            if let Ok(mut p) = pool.lock() {
                                p.push(worker);
                            }
                            rows
                        })
                        .collect()
                },
            );
            wrote?;
            written = rendered?;
        }
        out.flush().map_err(out_err)?;
        let mut total = Tally::new();
        let workers = pool
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .map_err(|_| Error::Internal("a lookup worker panicked".into()))?;
        for worker in workers {
            total.merge(&worker.tally);
        }
        Ok(total)
    })
    .map(|(mut total, damaged)| {
        total.counters.truncated_inputs += damaged;
        total
    })
}

/// Like [`lookup`], for records given as text (command-line arguments).
pub fn lookup_text(
    atlas: &Atlas,
    text: &[u8],
    options: &RunOptions,
    format: RowFormat,
    out: &mut (dyn Write + Send),
) -> Result<Tally> {
    let out_err = |e: std::io::Error| Error::output("-", e);
    if format == RowFormat::Csv {
        writeln!(out, "{}", header(atlas)).map_err(out_err)?;
    }
    let chunk = input::Chunk {
        seq: 0,
        input: 0,
        first_line: 1,
        data: text.to_vec(),
        long_line: None,
    };
    let inputs = [Input::reader("arguments", std::io::empty())];
    let mut worker = Worker::new(atlas, options, &inputs, None);
    worker.networks = true;
    let bytes = chunk_rows(
        &mut worker,
        options,
        &inputs,
        &Work {
            chunk,
            column: crate::input::Columns::default(),
        },
        format,
        Vec::new(),
    )?;
    out.write_all(&bytes).map_err(out_err)?;
    out.flush().map_err(out_err)?;
    Ok(worker.tally)
}

/// Resolves one chunk's records and formats their rows (one per record; one per database
/// network for a prefix) into `bytes` (emptied), counting them in the worker's tally.
fn chunk_rows(
    worker: &mut Worker<'_>,
    options: &RunOptions,
    inputs: &[Input],
    work: &Work,
    format: RowFormat,
    mut bytes: Vec<u8>,
) -> Result<Vec<u8>> {
    let with_asn = worker.asn_table().is_some();
    bytes.clear();
    bytes.reserve(work.chunk.data.len() * 4);
    let mut csv = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let mut emit = |row: LookupRow| -> Result<()> {
        let err = |e: String| Error::output("-", std::io::Error::other(e));
        match (format, with_asn) {
            (RowFormat::Csv, false) => {
                csv_row(&mut bytes, &row);
                Ok(())
            }
            // The ASN columns go through the csv crate (all of a run's rows have them).
            (RowFormat::Csv, true) => csv
                .serialize(row.with_asn())
                .map_err(|e| err(e.to_string())),
            (RowFormat::Jsonl, _) => {
                if with_asn {
                    serde_json::to_writer(&mut bytes, &row.with_asn())
                } else {
                    serde_json::to_writer(&mut bytes, &row)
                }
                .map_err(|e| err(e.to_string()))?;
                bytes.push(b'\n');
                Ok(())
            }
        }
    };
    let name = inputs
        .get(work.chunk.input)
        .map_or_else(|| "-".to_owned(), Input::name);
    let name = name.as_str();
    worker.look_ahead(work)?;
    let lines = input::scan(&work.chunk, &options.mode, work.column, |line, event| {
        event_rows(worker, name, line, event, false, &mut emit)
    })?;
    worker.tally.counters.lines += lines;
    if format == RowFormat::Csv && with_asn {
        return csv
            .into_inner()
            .map_err(|e| Error::output("-", e.into_error()));
    }
    Ok(bytes)
}

/// Appends a row as the `csv` crate writes it (fields quoted only where they hold a
/// comma, a quote or a line break; numbers as `ryu` and `itoa` print them), without
/// going through serde for every row.
fn csv_row(out: &mut Vec<u8>, row: &LookupRow) {
    if let Some(ip) = &row.ip {
        csv_text(out, ip);
    }
    out.push(b',');
    if let Some(c) = row.country {
        out.extend_from_slice(c.as_str().as_bytes());
    }
    for v in [row.latitude, row.longitude] {
        out.push(b',');
        if let Some(v) = v {
            crate::util::push_coordinate(out, v);
        }
    }
    out.push(b',');
    if let Some(r) = row.accuracy_radius {
        out.extend_from_slice(itoa::Buffer::new().format(r).as_bytes());
    }
    out.push(b',');
    if let Some(n) = row.network {
        let mut text = String::with_capacity(20);
        crate::util::push_network(&mut text, n);
        out.extend_from_slice(text.as_bytes());
    }
    out.push(b',');
    out.extend_from_slice(row.status.name().as_bytes());
    out.push(b',');
    if let Some(r) = row.reason {
        csv_text(out, r);
    }
    out.push(b'\n');
}

/// Appends a CSV field, in quotes (with quotes doubled) where it needs them.
fn csv_text(out: &mut Vec<u8>, text: &str) {
    if text
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.push(b'"');
        for b in text.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

/// The rows of one event of a line: none for a skipped line (unless `skipped_rows`), one
/// for an invalid record or an address, one per database network for a prefix.
fn event_rows(
    worker: &mut Worker<'_>,
    name: &str,
    line: u64,
    event: Event<'_>,
    skipped_rows: bool,
    emit: &mut impl FnMut(LookupRow) -> Result<()>,
) -> Result<()> {
    match event {
        Event::Skip => {
            worker.tally.counters.skipped += 1;
            if skipped_rows {
                emit(unlocated_row(None, None, Status::Skipped, "blank", line))?;
            }
        }
        Event::Invalid(reason, text) => {
            let shown = worker.invalid_record(name, line, reason, text)?;
            emit(unlocated_row(
                Some(shown),
                None,
                Status::Invalid,
                reason.name(),
                line,
            ))?;
        }
        // Rows do not count: a weight changes nothing in them.
        Event::Item(item) | Event::Weighted(item, _) => {
            let item = match item {
                Item::Addr(ip) => Item::Addr(canonical(ip)),
                Item::Prefix(net) => Item::Prefix(canonical_network(net)),
            };
            let mut text = String::with_capacity(16);
            match item {
                Item::Addr(std::net::IpAddr::V4(ip)) => crate::util::push_ipv4(&mut text, ip),
                Item::Addr(ip) => text = ip.to_string(),
                Item::Prefix(net) => crate::util::push_network(&mut text, net),
            }
            // An address has one row, which takes the text; a prefix's rows share copies.
            let single = matches!(item, Item::Addr(_));
            let mut ip_text = move || {
                if single {
                    std::mem::take(&mut text)
                } else {
                    text.clone()
                }
            };
            // Rows list the database's own networks: the mirrors of the IPv4 data in
            // aliased IPv6 space are listed only when the query lies in that space.
            let query_aliased = matches!(item,
                Item::Prefix(IpNetwork::V6(n)) if crate::locate::in_ipv4_alias(n));
            // A row the location database has no record for still carries the address's
            // network (the part's first address, for a prefix) when the ASN database has one.
            let asn = worker.asn_table();
            let address = match item {
                Item::Addr(ip) => Some(ip),
                Item::Prefix(_) => None,
            };
            // One row per record (per database network for a prefix), so rows stay
            // aligned with the input.
            worker.record(item, |tally, resolved| match resolved.outcome {
                _ if resolved.aliased && !query_aliased => Ok(()),
                Outcome::Excluded => emit(unlocated_row(
                    Some(ip_text()),
                    None,
                    Status::Excluded,
                    "family",
                    line,
                )),
                Outcome::Found(slot) => match tally.place(slot) {
                    Some(place) => emit(found_row(ip_text(), place, resolved.network, line)),
                    None => Err(Error::Internal("a counted slot has no place".into())),
                },
                Outcome::NotFound(reason) => {
                    let mut row = unlocated_row(
                        Some(ip_text()),
                        resolved.network,
                        Status::NotFound,
                        reason.name(),
                        line,
                    );
                    let first = address.or(resolved.network.map(|n| n.network()));
                    row.as_network = asn.zip(first).and_then(|(a, ip)| a.lookup(ip));
                    emit(row)
                }
            })?;
        }
    }
    Ok(())
}

/// Looks up records held in memory, one per value (see [`Values`]), in parallel: the rows
/// in value order (a null, blank or comment value has a `skipped` row, so every value has
/// at least one), and the run's counts.
///
/// ```
/// use ipatlas::locate::{Atlas, OpenOptions};
/// use ipatlas::pipeline::{RunOptions, Status, lookup_values};
///
/// let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
/// let (rows, _) = lookup_values(&atlas, &["8.8.8.8", "bogus"][..], &RunOptions::default())?;
/// assert_eq!(rows[0].country.map(|c| c.to_string()).as_deref(), Some("US"));
/// assert_eq!(rows[1].status, Status::Invalid);
/// # Ok::<(), ipatlas::Error>(())
/// ```
pub fn lookup_values<V: Values + ?Sized>(
    atlas: &Atlas,
    values: &V,
    options: &RunOptions,
) -> Result<(Vec<LookupRow>, Tally)> {
    let mode = value_mode(&options.mode);
    let n = values.len();
    // IPv4 rows from the compiled table when there are many values (or when asked).
    let table = super::table_for(atlas, n, options)?;
    // A few tasks per thread: each worker decodes the places it meets once, so fewer,
    // larger tasks decode less (the rows still come back in order).
    let per_task = n
        .div_ceil(rayon::current_num_threads().max(1) * 4)
        .max(VALUES_PER_TASK);
    let parts: Vec<(Vec<LookupRow>, Tally)> = (0..n.div_ceil(per_task))
        .into_par_iter()
        .map(|part| {
            let mut worker = Worker::new(atlas, options, &[], None).with_table(table.as_deref());
            worker.networks = true;
            let mut rows = Vec::new();
            let start = part * per_task;
            for i in start..n.min(start + per_task) {
                let line = i as u64 + 1;
                let mut emit = |row: LookupRow| -> Result<()> {
                    rows.push(row);
                    Ok(())
                };
                match values.value(i) {
                    None => {
                        worker.tally.counters.skipped += 1;
                        emit(unlocated_row(None, None, Status::Skipped, "null", line))?;
                    }
                    Some(v) => input::scan_line(
                        line,
                        v,
                        &mode,
                        input::Columns::default(),
                        &mut |line, event| {
                            event_rows(&mut worker, "values", line, event, true, &mut emit)
                        },
                    )?,
                }
            }
            worker.tally.counters.lines += (n.min(start + per_task) - start) as u64;
            Ok((rows, worker.tally))
        })
        .collect::<Result<_>>()?;
    let mut all = Vec::with_capacity(n);
    let mut total = Tally::new();
    for (rows, tally) in parts {
        all.extend(rows);
        total.merge(&tally);
    }
    Ok((all, total.checked()?))
}

/// The row of a record with no place: its status and why, with the database network it
/// fell in when there is one.
fn unlocated_row(
    ip: Option<String>,
    network: Option<IpNetwork>,
    status: Status,
    reason: &'static str,
    line: u64,
) -> LookupRow {
    LookupRow {
        ip,
        country: None,
        latitude: None,
        longitude: None,
        accuracy_radius: None,
        network,
        status,
        reason: Some(reason),
        line,
        as_network: None,
    }
}

fn found_row(ip: String, place: &Place, network: Option<IpNetwork>, line: u64) -> LookupRow {
    LookupRow {
        ip: Some(ip),
        country: place.country,
        latitude: place.lat,
        longitude: place.lon,
        accuracy_radius: place.accuracy_radius,
        network,
        status: Status::Found,
        reason: None,
        line,
        as_network: place.network(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written CSV row is byte for byte what the csv crate writes for the row.
    #[test]
    fn csv_rows_are_what_the_csv_crate_writes() {
        let net: IpNetwork = "155.198.0.0/16".parse().unwrap();
        let net6: IpNetwork = "2001:db8::/32".parse().unwrap();
        let mut rows = Vec::new();
        for ip in [
            "1.2.3.4",
            "bad, with \"quotes\"",
            "line\nbreak",
            "cr\rhere",
            "ünïcode",
            "",
            " spaced ",
        ] {
            for (lat, lon) in [
                (Some(51.5142), Some(-0.0931)),
                (Some(1.0), Some(-180.0)),
                (None, None),
            ] {
                rows.push(LookupRow {
                    ip: Some(ip.to_owned()),
                    country: CountryCode::parse("GB"),
                    latitude: lat,
                    longitude: lon,
                    accuracy_radius: Some(1000),
                    network: Some(net),
                    status: Status::Found,
                    reason: None,
                    line: 1,
                    as_network: None,
                });
            }
        }
        rows.push(unlocated_row(None, None, Status::Skipped, "blank", 2));
        rows.push(unlocated_row(
            Some("2001:db8::1".into()),
            Some(net6),
            Status::NotFound,
            "no_record",
            3,
        ));
        for row in rows {
            let mut ours = Vec::new();
            csv_row(&mut ours, &row);
            let mut theirs = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            theirs.serialize(&row).unwrap();
            let theirs = theirs.into_inner().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "{row:?}"
            );
        }
    }
}
