//! `lookup`: one row per record, in input order.

use super::read::with_chunks;
use super::worker::{Outcome, Worker};
use super::{RunOptions, Work};
use crate::error::{Error, Result};
use crate::input::{self, Event, Input, Item};
use crate::locate::{Atlas, canonical, canonical_network};
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

/// One `lookup` row.
#[derive(serde::Serialize)]
pub(super) struct Row<'a> {
    ip: &'a str,
    country: Option<&'a str>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_radius: Option<u32>,
    network: Option<String>,
    status: &'static str,
    reason: Option<&'static str>,
}

/// The header of `lookup`'s CSV output.
pub const LOOKUP_HEADER: &str =
    "ip,country,latitude,longitude,accuracy_radius,network,status,reason";

/// Resolves every record of the inputs and writes one row each, in input order.
/// Returns the run's counters (as a tally without places).
pub fn lookup(
    atlas: &Atlas,
    inputs: &[Input],
    options: &RunOptions,
    format: RowFormat,
    out: &mut (dyn Write + Send),
) -> Result<Tally> {
    let out_err = |e: std::io::Error| Error::output("-", e);
    if format == RowFormat::Csv {
        writeln!(out, "{LOOKUP_HEADER}").map_err(out_err)?;
    }
    let batch_len = rayon::current_num_threads().max(1) * 2;
    with_chunks(inputs, options, |rx, _| {
        let mut total = Tally::new();
        let mut rx = rx.into_iter().peekable();
        while rx.peek().is_some() {
            let batch: Vec<Work> = rx.by_ref().take(batch_len).collect();
            let rendered: Vec<(Vec<u8>, Tally)> = batch
                .par_iter()
                .map(|work| chunk_rows(atlas, options, inputs, work, format))
                .collect::<Result<_>>()?;
            for (bytes, tally) in rendered {
                out.write_all(&bytes).map_err(out_err)?;
                total.merge(&tally);
            }
        }
        out.flush().map_err(out_err)?;
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
        writeln!(out, "{LOOKUP_HEADER}").map_err(out_err)?;
    }
    let chunk = input::Chunk {
        seq: 0,
        input: 0,
        first_line: 1,
        data: text.to_vec(),
        long_line: None,
    };
    let (bytes, tally) = chunk_rows(
        atlas,
        options,
        &[Input::reader("arguments", std::io::empty())],
        &Work {
            chunk,
            column: None,
        },
        format,
    )?;
    out.write_all(&bytes).map_err(out_err)?;
    out.flush().map_err(out_err)?;
    Ok(tally)
}

/// Resolves one chunk's records and formats their rows (one per record; one per database
/// network for a prefix), with the chunk's counts.
pub(super) fn chunk_rows(
    atlas: &Atlas,
    options: &RunOptions,
    inputs: &[Input],
    work: &Work,
    format: RowFormat,
) -> Result<(Vec<u8>, Tally)> {
    let mut worker = Worker::new(atlas, options, inputs, None);
    worker.networks = true;
    let mut csv = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let mut jsonl: Vec<u8> = Vec::new();
    let mut emit = |row: Row<'_>| -> Result<()> {
        let err = |e: String| Error::output("-", std::io::Error::other(e));
        match format {
            RowFormat::Csv => csv.serialize(&row).map_err(|e| err(e.to_string())),
            RowFormat::Jsonl => {
                serde_json::to_writer(&mut jsonl, &row).map_err(|e| err(e.to_string()))?;
                jsonl.push(b'\n');
                Ok(())
            }
        }
    };
    let name = inputs
        .get(work.chunk.input)
        .map_or_else(|| "-".to_owned(), Input::name);
    let name = name.as_str();
    let lines = input::scan(&work.chunk, &options.mode, work.column, |line, event| {
        match event {
            Event::Skip => worker.tally.counters.skipped += 1,
            Event::Invalid(reason, text) => {
                let shown = worker.invalid_record(name, line, reason, text)?;
                emit(unlocated_row(&shown, None, "invalid", reason.name()))?;
            }
            Event::Item(item) => {
                let item = match item {
                    Item::Addr(ip) => Item::Addr(canonical(ip)),
                    Item::Prefix(net) => Item::Prefix(canonical_network(net)),
                };
                let text = match item {
                    Item::Addr(ip) => ip.to_string(),
                    Item::Prefix(net) => net.to_string(),
                };
                // Rows list the database's own networks: the mirrors of the IPv4 data in
                // aliased IPv6 space are listed only when the query lies in that space.
                let query_aliased = matches!(item,
                    Item::Prefix(IpNetwork::V6(n)) if crate::locate::in_ipv4_alias(n));
                // One row per record (per database network for a prefix), so rows stay
                // aligned with the input.
                worker.record(item, |tally, resolved| {
                    let network = resolved.network.map(|n| n.to_string());
                    match resolved.outcome {
                        _ if resolved.aliased && !query_aliased => Ok(()),
                        Outcome::Excluded => emit(excluded_row(&text)),
                        Outcome::Found(slot) => match tally.place(slot) {
                            Some(place) => emit(found_row(&text, place, network)),
                            None => Err(Error::Internal("a counted slot has no place".into())),
                        },
                        Outcome::NotFound(reason) => {
                            emit(unlocated_row(&text, network, "not_found", reason.name()))
                        }
                    }
                })?;
            }
        }
        Ok(())
    })?;
    worker.tally.counters.lines += lines;
    let bytes = match format {
        RowFormat::Csv => csv
            .into_inner()
            .map_err(|e| Error::output("-", e.into_error()))?,
        RowFormat::Jsonl => jsonl,
    };
    Ok((bytes, worker.tally))
}

/// The row of a record with no place: its status (`invalid`, `not_found`, `excluded`) and
/// why, with the database network it fell in when there is one.
fn unlocated_row<'a>(
    ip: &'a str,
    network: Option<String>,
    status: &'static str,
    reason: &'static str,
) -> Row<'a> {
    Row {
        ip,
        country: None,
        latitude: None,
        longitude: None,
        accuracy_radius: None,
        network,
        status,
        reason: Some(reason),
    }
}

/// The row of a record left out by `--family`.
pub(super) fn excluded_row(ip: &str) -> Row<'_> {
    unlocated_row(ip, None, "excluded", "family")
}

pub(super) fn found_row<'a>(
    ip: &'a str,
    place: &'a crate::locate::Place,
    network: Option<String>,
) -> Row<'a> {
    Row {
        ip,
        country: place.country.as_ref().map(|c| c.as_str()),
        latitude: place.lat,
        longitude: place.lon,
        accuracy_radius: place.accuracy_radius,
        network,
        status: "found",
        reason: None,
    }
}
