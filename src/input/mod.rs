//! Inputs: opening and chunking sources, and turning each line into records to locate.

mod parse;
#[cfg(target_arch = "x86_64")]
mod simd;
pub mod source;

pub use parse::{
    Family, InvalidReason, Item, extract, field, ipv4_line, parse_ipv4, parse_item, trim,
};
pub use source::{CHUNK_BYTES, Chunk, Input, MAX_LINE_BYTES};

use crate::error::Result;
use std::net::{IpAddr, Ipv4Addr};

/// How lines become records.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum InputMode {
    /// One address or CIDR prefix per line.
    #[default]
    Lines,
    /// One field of a delimited (CSV/TSV) line.
    Column {
        /// Which field.
        column: ColumnSpec,
        /// The field separator (`,` by default, `\t` for TSV).
        delimiter: u8,
        /// The field holding each record's weight (a whole number), if records are
        /// weighted: a record counts its weight, a prefix its size times its weight.
        weight: Option<ColumnSpec>,
    },
    /// Every IPv4/IPv6 address anywhere in the line (logs).
    Extract,
}

impl InputMode {
    /// The 0-based field an input's records are in, from its first chunk (whose first line
    /// is the header when the column is named); `None` when the records are whole lines
    /// or the named column is not in the header.
    #[must_use]
    pub fn column_in(&self, first: &Chunk) -> Option<usize> {
        match self {
            InputMode::Column {
                column, delimiter, ..
            } => column.resolve(first, *delimiter),
            _ => None,
        }
    }

    /// The 0-based fields of an input's records and their weights, from its first chunk
    /// (see [`InputMode::column_in`]).
    #[must_use]
    pub fn columns_in(&self, first: &Chunk) -> Columns {
        let weight = match self {
            InputMode::Column {
                weight: Some(spec),
                delimiter,
                ..
            } => spec.resolve(first, *delimiter),
            _ => None,
        };
        Columns {
            value: self.column_in(first),
            weight,
        }
    }

    /// The named column (records' or weights') an input's header lacks, given the fields
    /// [`InputMode::columns_in`] found.
    #[must_use]
    pub fn missing_column(&self, found: Columns) -> Option<&str> {
        match self {
            InputMode::Column {
                column: ColumnSpec::Name(n),
                ..
            } if found.value.is_none() => Some(n),
            InputMode::Column {
                weight: Some(ColumnSpec::Name(n)),
                ..
            } if found.weight.is_none() => Some(n),
            _ => None,
        }
    }

    /// The weight column asked for, as outputs name it: its header name, or `column N`.
    #[must_use]
    pub fn weight_name(&self) -> Option<String> {
        match self {
            InputMode::Column {
                weight: Some(spec), ..
            } => Some(match spec {
                ColumnSpec::Index(i) => format!("column {}", i + 1),
                ColumnSpec::Name(n) => n.clone(),
            }),
            _ => None,
        }
    }
}

/// The resolved 0-based fields of an input: its records' and their weights'.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    /// The records' field (`None`: whole lines, or a named column the header lacks).
    pub value: Option<usize>,
    /// The weights' field, when records are weighted.
    pub weight: Option<usize>,
}

impl From<Option<usize>> for Columns {
    fn from(value: Option<usize>) -> Self {
        Columns {
            value,
            weight: None,
        }
    }
}

/// Reads a weight: a whole number from 0 to 2^64 - 1, digits only.
#[must_use]
pub fn parse_weight(field: &[u8]) -> Option<u64> {
    if field.is_empty() || field.len() > 20 || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse().ok()
}

impl ColumnSpec {
    /// The 0-based field, from the first chunk of an input (whose first line is the
    /// header when the column is named); `None` for a name the header lacks.
    #[must_use]
    pub fn resolve(&self, first: &Chunk, delimiter: u8) -> Option<usize> {
        match self {
            ColumnSpec::Index(i) => Some(*i),
            ColumnSpec::Name(name) => {
                let header = first.data.split(|b| *b == b'\n').next().unwrap_or(&[]);
                column_index(trim(header), delimiter, name)
            }
        }
    }
}

/// A column by 1-based number or by header name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnSpec {
    /// 0-based index (the CLI takes 1-based numbers). A first line whose field is not an
    /// address is taken as a header and skipped.
    Index(usize),
    /// Header name; the first line of each input is the header.
    Name(String),
}

/// What one record of a line is.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A blank line, a `#` comment or a header: counted as skipped.
    Skip,
    /// Something to locate.
    Item(Item),
    /// Something to locate that counts `weight` times (`--weight-column`).
    Weighted(Item, u64),
    /// Not an address, with the reason and the offending text.
    Invalid(InvalidReason, &'a [u8]),
}

/// Finds the index of the column named `name` in a header line.
#[must_use]
pub fn column_index(header: &[u8], delimiter: u8, name: &str) -> Option<usize> {
    (0..)
        .map_while(|i| field(header, delimiter, i).map(|f| (i, f)))
        .find(|(_, f)| trim(f) == name.as_bytes())
        .map(|(i, _)| i)
}

/// Calls `on(line_number, event)` for every record of a chunk, in order. `columns` are the
/// resolved fields for [`InputMode::Column`]. Returns the number of lines seen.
pub fn scan(
    chunk: &Chunk,
    mode: &InputMode,
    columns: Columns,
    mut on: impl FnMut(u64, Event<'_>) -> Result<()>,
) -> Result<u64> {
    let mut lines = 0u64;
    if let Some((line, preview)) = &chunk.long_line {
        lines += 1;
        on(*line, Event::Invalid(InvalidReason::LineTooLong, preview))?;
    }
    if *mode == InputMode::Lines {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("ssse3") {
            // SAFETY: the processor has SSSE3.
            return unsafe { lines_ssse3(chunk, mode, columns, lines, &mut on) };
        }
        let readers = (parse::ipv4_line, parse::ipv6_line);
        return plain_lines(chunk, mode, columns, lines, &mut on, readers);
    }
    for (this, raw) in (chunk.first_line..).zip(chunk.data.split_inclusive(|b| *b == b'\n')) {
        lines += 1;
        scan_line(this, raw, mode, columns, &mut on)?;
    }
    Ok(lines)
}

/// [`plain_lines`] with the SSSE3 dotted-quad reader.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
fn lines_ssse3(
    chunk: &Chunk,
    mode: &InputMode,
    columns: Columns,
    lines: u64,
    on: &mut impl FnMut(u64, Event<'_>) -> Result<()>,
) -> Result<u64> {
    let readers = (
        |data: &[u8], pos| simd::ipv4_line(data, pos),
        |data: &[u8], pos| simd::ipv6_line(data, pos),
    );
    plain_lines(chunk, mode, columns, lines, on, readers)
}

/// [`scan`] of line input (`lines` already counted): plain dotted-quad lines (read by
/// `ipv4_line`) and IPv6 lines, the bulk of any dump, skip the general parser; every other
/// line takes it, with exactly the same outcome.
#[inline(always)]
fn plain_lines(
    chunk: &Chunk,
    mode: &InputMode,
    columns: Columns,
    lines: u64,
    on: &mut impl FnMut(u64, Event<'_>) -> Result<()>,
    readers: (
        impl Fn(&[u8], usize) -> Option<(u32, usize)>,
        impl Fn(&[u8], usize) -> Option<(u128, usize)>,
    ),
) -> Result<u64> {
    let (ipv4_line, ipv6_line) = readers;
    // After an IPv6 line the IPv6 path is tried first (no line both accept).
    let data = chunk.data.as_slice();
    let (mut pos, mut this) = (0, chunk.first_line);
    let mut after_ipv6 = false;
    let v6 = |ip: u128| Event::Item(Item::Addr(IpAddr::V6(std::net::Ipv6Addr::from(ip))));
    while pos < data.len() {
        if after_ipv6 && let Some((ip, next)) = ipv6_line(data, pos) {
            on(this, v6(ip))?;
            pos = next;
        } else if let Some((ip, next)) = ipv4_line(data, pos) {
            on(
                this,
                Event::Item(Item::Addr(IpAddr::V4(Ipv4Addr::from(ip)))),
            )?;
            pos = next;
            after_ipv6 = false;
        } else if !after_ipv6 && let Some((ip, next)) = ipv6_line(data, pos) {
            on(this, v6(ip))?;
            pos = next;
            after_ipv6 = true;
        } else {
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i + 1);
            scan_line(this, &data[pos..end], mode, columns, on)?;
            pos = end;
        }
        this += 1;
    }
    Ok(lines + (this - chunk.first_line))
}

/// Sends the records of one raw line (with its newline, if any) to `on`.
#[inline]
pub fn scan_line(
    this: u64,
    raw: &[u8],
    mode: &InputMode,
    columns: Columns,
    on: &mut impl FnMut(u64, Event<'_>) -> Result<()>,
) -> Result<()> {
    if raw.len() > MAX_LINE_BYTES {
        return on(this, Event::Invalid(InvalidReason::LineTooLong, &raw[..80]));
    }
    let text = trim(raw);
    if text.is_empty() || text[0] == b'#' {
        return on(this, Event::Skip);
    }
    match mode {
        InputMode::Lines => match parse_item(text) {
            Ok(item) => on(this, Event::Item(item)),
            Err(reason) => on(this, Event::Invalid(reason, text)),
        },
        InputMode::Column {
            column: spec,
            delimiter,
            weight,
        } => {
            let index = columns.value.unwrap_or(match spec {
                ColumnSpec::Index(i) => *i,
                ColumnSpec::Name(_) => 0,
            });
            let Some(value) = field(text, *delimiter, index).map(trim) else {
                return on(this, Event::Invalid(InvalidReason::MissingColumn, text));
            };
            let parsed = parse_item(value);
            let header = this == 1 && (matches!(spec, ColumnSpec::Name(_)) || parsed.is_err());
            let item = match parsed {
                _ if header => return on(this, Event::Skip),
                Ok(item) => item,
                Err(reason) => return on(this, Event::Invalid(reason, value)),
            };
            let Some(weight) = weight else {
                return on(this, Event::Item(item));
            };
            let w_index = columns.weight.unwrap_or(match weight {
                ColumnSpec::Index(i) => *i,
                ColumnSpec::Name(_) => usize::MAX,
            });
            match field(text, *delimiter, w_index).map(trim) {
                None => on(this, Event::Invalid(InvalidReason::MissingColumn, text)),
                Some(w) => match parse_weight(w) {
                    Some(n) => on(this, Event::Weighted(item, n)),
                    None => on(this, Event::Invalid(InvalidReason::BadWeight, w)),
                },
            }
        }
        InputMode::Extract => {
            let mut found = 0;
            let mut result = Ok(());
            extract(text, |ip| {
                found += 1;
                if result.is_ok() {
                    result = on(this, Event::Item(Item::Addr(ip)));
                }
            });
            result?;
            if found == 0 {
                on(this, Event::Invalid(InvalidReason::NoAddress, text))?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(data: &str, mode: &InputMode, column: impl Into<Columns>) -> Vec<String> {
        let columns = column.into();
        let chunk = Chunk {
            seq: 0,
            input: 0,
            first_line: 1,
            data: data.as_bytes().to_vec(),
            long_line: None,
        };
        let mut out = Vec::new();
        scan(&chunk, mode, columns, |line, e| {
            out.push(show(line, &e));
            Ok(())
        })
        .unwrap();
        out
    }

    /// An event as `line:what`, for comparing event lists.
    fn show(line: u64, e: &Event<'_>) -> String {
        match e {
            Event::Skip => format!("{line}:skip"),
            Event::Item(Item::Addr(ip)) => format!("{line}:{ip}"),
            Event::Item(Item::Prefix(n)) => format!("{line}:{n}"),
            Event::Weighted(item, w) => format!("{}x{w}", show(line, &Event::Item(*item))),
            Event::Invalid(r, _) => format!("{line}:{}", r.name()),
        }
    }

    /// The general path alone: every line through `scan_line`.
    fn events_general(data: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, raw) in data.as_bytes().split_inclusive(|b| *b == b'\n').enumerate() {
            scan_line(
                i as u64 + 1,
                raw,
                &InputMode::Lines,
                Columns::default(),
                &mut |line, e| {
                    out.push(show(line, &e));
                    Ok(())
                },
            )
            .unwrap();
        }
        out
    }

    #[test]
    fn the_line_fast_paths_change_no_outcome() {
        let tricky = [
            "1.2.3.4",
            "1.2.3.4\r",
            "1.2.3.4\r\r",
            "0.0.0.0",
            "255.255.255.255",
            "01.2.3.4",
            "1.2.3.256",
            "1.2.3.4 ",
            " 1.2.3.4",
            "\t1.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4/24",
            "1234.1.1.1",
            "1.2.3.0004",
            "1..2.3",
            "",
            "#c",
            "::1",
            "::ffff:1.2.3.4",
            "2001:db8::1",
            "2001:db8::1\r",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "::",
            "1::",
            "2001:db8::/32",
            "fe80::1%eth0",
            "2001:db8::1 ",
            "1.2.3.4#",
            "1.2.3.4x",
            "a.b.c.d",
            "9.9.9.09",
            "1.2.3.-4",
            "\u{feff}1.2.3.4",
            "1.2.3.4\u{0}",
        ];
        // Every pair of tricky lines (an IPv6 line changes which fast path the next line
        // tries first), with and without a final newline.
        for a in tricky {
            for b in tricky {
                for end in ["", "\n", "\r\n"] {
                    let data = format!("{a}\n{b}{end}");
                    assert_eq!(
                        events(&data, &InputMode::Lines, None),
                        events_general(&data),
                        "{data:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn lines_mode_skips_blanks_and_comments_and_accepts_crlf() {
        assert_eq!(
            events(
                "1.2.3.4\r\n\n# note\n  10.0.0.0/8 \nbogus\n2001:db8::1",
                &InputMode::Lines,
                None
            ),
            vec![
                "1:1.2.3.4",
                "2:skip",
                "3:skip",
                "4:10.0.0.0/8",
                "5:not_an_address",
                "6:2001:db8::1"
            ]
        );
    }

    #[test]
    fn column_mode_by_number_detects_a_header() {
        let mode = InputMode::Column {
            column: ColumnSpec::Index(1),
            delimiter: b',',
            weight: None,
        };
        assert_eq!(
            events("time,ip\n1,\"8.8.8.8\"\n2\n3,x\n", &mode, None),
            vec![
                "1:skip",
                "2:8.8.8.8",
                "3:missing_column",
                "4:not_an_address"
            ]
        );
    }

    #[test]
    fn weights_are_whole_numbers_from_their_own_column() {
        let mode = InputMode::Column {
            column: ColumnSpec::Index(0),
            delimiter: b'\t',
            weight: Some(ColumnSpec::Index(1)),
        };
        let cols = Columns {
            value: Some(0),
            weight: Some(1),
        };
        assert_eq!(
            events(
                "# c\n1.2.3.4\t3\n10.0.0.0/8\t0\n1.2.3.5\t-1\n1.2.3.6\n1.2.3.7\t1.5\nx\t2\n1.2.3.8\t18446744073709551616\n1.2.3.9\t18446744073709551615\n",
                &mode,
                cols
            ),
            vec![
                "1:skip",
                "2:1.2.3.4x3",
                "3:10.0.0.0/8x0",
                "4:bad_weight",
                "5:missing_column",
                "6:bad_weight",
                "7:not_an_address",
                "8:bad_weight",
                "9:1.2.3.9x18446744073709551615"
            ]
        );
        assert_eq!(mode.weight_name().as_deref(), Some("column 2"));
        for bad in ["", "+1", " 1", "1e3", "0x10", "１"] {
            assert_eq!(parse_weight(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn column_names_resolve_in_headers() {
        assert_eq!(
            column_index(b"ts\tclient_ip\tua", b'\t', "client_ip"),
            Some(1)
        );
        assert_eq!(column_index(b"a,b", b',', "c"), None);
    }

    #[test]
    fn extract_mode_reports_lines_without_addresses() {
        assert_eq!(
            events(
                "a 1.1.1.1 b 2.2.2.2\nnothing here\n",
                &InputMode::Extract,
                None
            ),
            vec!["1:1.1.1.1", "1:2.2.2.2", "2:no_address"]
        );
    }
}
