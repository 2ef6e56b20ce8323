//! Inputs: opening and chunking sources, and turning each line into records to locate.

mod parse;
pub mod source;

pub(crate) use parse::ipv4_line;
pub use parse::{Family, InvalidReason, Item, extract, field, parse_ipv4, parse_item, trim};
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
                column: ColumnSpec::Name(name),
                delimiter,
            } => {
                let header = first.data.split(|b| *b == b'\n').next().unwrap_or(&[]);
                column_index(trim(header), *delimiter, name)
            }
            InputMode::Column {
                column: ColumnSpec::Index(i),
                ..
            } => Some(*i),
            _ => None,
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

/// Calls `on(line_number, event)` for every record of a chunk, in order. `column` is the
/// resolved column index for [`InputMode::Column`]. Returns the number of lines seen.
pub fn scan(
    chunk: &Chunk,
    mode: &InputMode,
    column: Option<usize>,
    mut on: impl FnMut(u64, Event<'_>) -> Result<()>,
) -> Result<u64> {
    let mut lines = 0u64;
    if let Some((line, preview)) = &chunk.long_line {
        lines += 1;
        on(*line, Event::Invalid(InvalidReason::LineTooLong, preview))?;
    }
    if *mode == InputMode::Lines {
        // Plain dotted-quad lines (the bulk of any dump) skip the general parser; every
        // other line takes it, with exactly the same outcome.
        let data = chunk.data.as_slice();
        let (mut pos, mut this) = (0, chunk.first_line);
        while pos < data.len() {
            if let Some((ip, next)) = parse::ipv4_line(data, pos) {
                on(
                    this,
                    Event::Item(Item::Addr(IpAddr::V4(Ipv4Addr::from(ip)))),
                )?;
                pos = next;
            } else {
                let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i + 1);
                scan_line(this, &data[pos..end], mode, column, &mut on)?;
                pos = end;
            }
            this += 1;
        }
        return Ok(lines + (this - chunk.first_line));
    }
    for (this, raw) in (chunk.first_line..).zip(chunk.data.split_inclusive(|b| *b == b'\n')) {
        lines += 1;
        scan_line(this, raw, mode, column, &mut on)?;
    }
    Ok(lines)
}

/// Sends the records of one raw line (with its newline, if any) to `on`.
#[inline]
pub fn scan_line(
    this: u64,
    raw: &[u8],
    mode: &InputMode,
    column: Option<usize>,
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
        } => {
            let index = column.unwrap_or(match spec {
                ColumnSpec::Index(i) => *i,
                ColumnSpec::Name(_) => 0,
            });
            let Some(value) = field(text, *delimiter, index).map(trim) else {
                return on(this, Event::Invalid(InvalidReason::MissingColumn, text));
            };
            let parsed = parse_item(value);
            let header = this == 1 && (matches!(spec, ColumnSpec::Name(_)) || parsed.is_err());
            match parsed {
                _ if header => on(this, Event::Skip),
                Ok(item) => on(this, Event::Item(item)),
                Err(reason) => on(this, Event::Invalid(reason, value)),
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

    fn events(data: &str, mode: &InputMode, column: Option<usize>) -> Vec<String> {
        let chunk = Chunk {
            seq: 0,
            input: 0,
            first_line: 1,
            data: data.as_bytes().to_vec(),
            long_line: None,
        };
        let mut out = Vec::new();
        scan(&chunk, mode, column, |line, e| {
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
                None,
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
    fn the_dotted_quad_fast_path_changes_no_outcome() {
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
            "1.2.3.4#",
            "1.2.3.4x",
            "a.b.c.d",
            "9.9.9.09",
            "1.2.3.-4",
            "\u{feff}1.2.3.4",
            "1.2.3.4\u{0}",
        ];
        // Every pair of tricky lines, with and without a final newline.
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
