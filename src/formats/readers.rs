//! The three CSV database formats.

use super::{CsvFile, Problem, Record, Source, text};
use crate::error::{Error, Result};
use crate::locate::CountryCode;
use ipnetwork::IpNetwork;
use rustc_hash::FxHashMap;
use std::io::Read;
use std::net::IpAddr;

/// The longest CSV line read, in bytes: a longer one is a bad row (`field_too_long`) and is
/// never held in memory whole, so a crafted file (or zip) cannot make one field gigabytes.
pub const MAX_ROW_BYTES: usize = 64 * 1024;

/// What a too-long line is replaced by before the CSV parser sees it.
const TOO_LONG: &[u8] = b"\x01ipatlas:field_too_long";

/// Passes lines through, replacing any longer than [`MAX_ROW_BYTES`] with [`TOO_LONG`]
/// while holding at most that many bytes of it.
struct LineLimit<R> {
    inner: R,
    chunk: Vec<u8>,
    line: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    skipping: bool,
    eof: bool,
}

impl<R: Read> LineLimit<R> {
    fn new(inner: R) -> Self {
        LineLimit {
            inner,
            chunk: vec![0; 1 << 16],
            line: Vec::new(),
            out: Vec::new(),
            pos: 0,
            skipping: false,
            eof: false,
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        if self.line.len() + bytes.len() > MAX_ROW_BYTES {
            self.skipping = true;
            self.line = Vec::new();
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    fn end_line(&mut self, newline: bool) {
        if self.skipping {
            self.out.extend_from_slice(TOO_LONG);
        } else {
            self.out.extend_from_slice(&self.line);
        }
        if newline || self.skipping {
            self.out.push(b'\n');
        }
        self.line.clear();
        self.skipping = false;
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.pos < self.out.len() {
                let n = (self.out.len() - self.pos).min(buf.len());
                buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            self.out.clear();
            self.pos = 0;
            if self.eof {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.chunk)?;
            if n == 0 {
                self.eof = true;
                if self.skipping || !self.line.is_empty() {
                    self.end_line(false);
                }
                continue;
            }
            let chunk = std::mem::take(&mut self.chunk);
            let mut data = &chunk[..n];
            while let Some(i) = memchr::memchr(b'\n', data) {
                self.take(&data[..i]);
                self.end_line(true);
                data = &data[i + 1..];
            }
            self.take(data);
            self.chunk = chunk;
        }
    }
}

/// Streams the rows of a CSV file as `(line, fields)`, skipping a copyright notice and, when
/// `header` is set, the header line (returned separately, lower-cased). Returns the line
/// numbers of lines longer than [`MAX_ROW_BYTES`], which were not read.
fn rows(
    file: &CsvFile,
    header: bool,
    mut row: impl FnMut(&[String], u64, &csv::ByteRecord) -> Result<()>,
) -> Result<Vec<u64>> {
    file.with_reader(|r: &mut dyn Read| {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(LineLimit::new(r));
        let mut names: Option<Vec<String>> = (!header).then(Vec::new);
        let mut record = csv::ByteRecord::new();
        let mut too_long = Vec::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(Error::database(&file.name, e)),
            }
            let line = record.position().map_or(0, csv::Position::line);
            if record.get(0) == Some(TOO_LONG) {
                too_long.push(line);
                continue;
            }
            let first = record.get(0).map(text).unwrap_or_default();
            let first = first.trim_start_matches('\u{feff}');
            if record.len() == 1 && first.to_ascii_lowercase().starts_with("copyright") {
                continue;
            }
            if record.len() == 1 && first.is_empty() {
                continue;
            }
            match &names {
                None => {
                    names = Some(
                        record
                            .iter()
                            .map(|f| text(f).trim_start_matches('\u{feff}').to_ascii_lowercase())
                            .collect(),
                    );
                }
                Some(n) => row(n, line, &record)?,
            }
        }
        Ok(too_long)
    })
}

/// The field `i` of a row as trimmed text.
fn field(record: &csv::ByteRecord, i: usize) -> String {
    record.get(i).map(text).unwrap_or_default()
}

/// A city name as the file has it: kept whole (a name may end in a line break), only an
/// all-blank field is no name.
fn city_field(record: &csv::ByteRecord, i: usize) -> String {
    let name = record.get(i).map(super::raw_text).unwrap_or_default();
    if name.trim().is_empty() {
        String::new()
    } else {
        name
    }
}

/// The whole row as text, for reports.
fn row_text(record: &csv::ByteRecord) -> String {
    record.iter().map(text).collect::<Vec<_>>().join(",")
}

/// Latitude and longitude from two fields: `Ok(None)` when both are empty, `Err` when only
/// one is given, either is not a number, or either is out of range.
fn coords(lat: &str, lon: &str) -> std::result::Result<Option<(f64, f64)>, ()> {
    if lat.is_empty() && lon.is_empty() {
        return Ok(None);
    }
    let (Ok(lat), Ok(lon)) = (lat.parse::<f64>(), lon.parse::<f64>()) else {
        return Err(());
    };
    if lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0 {
        Ok(Some((lat, lon)))
    } else {
        Err(())
    }
}

/// Legacy GeoLiteCity (2008 to 2014): `GeoLiteCity-Blocks.csv` (`startIpNum,endIpNum,locId`,
/// arbitrary ranges as integers) and `GeoLiteCity-Location.csv` (ISO-8859-1).
pub(super) fn legacy(label: &str, blocks: &CsvFile, locations: &CsvFile) -> Result<Source> {
    let mut source = Source::new(label.to_owned(), "GeoLiteCity".to_owned());
    let loc_file = source.file(locations.short());
    let mut by_loc: FxHashMap<u64, u32> = FxHashMap::default();
    let long = rows(locations, true, |names, line, r| {
        let at = (loc_file, line);
        let col = |name: &str| names.iter().position(|n| n == name);
        let (Some(id_col), Some(cc_col)) = (col("locid"), col("country")) else {
            return Err(Error::database(
                &locations.name,
                "the header has no locId and country columns",
            ));
        };
        let Ok(id) = field(r, id_col).parse::<u64>() else {
            source.problem(at, Problem::Malformed, &row_text(r));
            return Ok(());
        };
        if by_loc.contains_key(&id) {
            source.problem(at, Problem::DuplicateLocation, &row_text(r));
            return Ok(());
        }
        let (lat, lon) = (
            col("latitude").map(|i| field(r, i)).unwrap_or_default(),
            col("longitude").map(|i| field(r, i)).unwrap_or_default(),
        );
        let coords = match coords(&lat, &lon) {
            // The legacy files write 0,0 for "unknown" (the O1 and A1/A2 locations).
            Ok(Some((a, b))) if a == 0.0 && b == 0.0 => None,
            Ok(c) => c,
            Err(()) => {
                source.problem(at, Problem::BadCoordinates, &row_text(r));
                None
            }
        };
        let city = col("city")
            .map(|i| city_field(r, i))
            .filter(|c| !c.is_empty());
        let country = CountryCode::parse(&field(r, cc_col));
        // Legacy region codes are ISO 3166-2 only for the US and Canada (postal codes);
        // elsewhere they are FIPS 10-4 numbers, which would be mislabelled as ISO codes.
        let subdivision = col("region")
            .map(|i| field(r, i))
            .filter(|code| !code.is_empty())
            .filter(|_| country.is_some_and(|c| matches!(c.as_str(), "US" | "CA")))
            .map(|code| (Some(code), None));
        let record = Record {
            country,
            coords,
            city,
            subdivision,
            ..Record::default()
        };
        let rec = source.intern(record);
        by_loc.insert(id, rec);
        Ok(())
    })?;
    source.too_long(loc_file, &long);
    let block_file = source.file(blocks.short());
    let long = rows(blocks, true, |_, line, r| {
        let at = (block_file, line);
        let nums: Vec<Option<u64>> = (0..3).map(|i| field(r, i).parse::<u64>().ok()).collect();
        let (Some(start), Some(end), Some(loc)) = (nums[0], nums[1], nums[2]) else {
            source.problem(at, Problem::Malformed, &row_text(r));
            return Ok(());
        };
        let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end)) else {
            source.problem(at, Problem::BadAddress, &row_text(r));
            return Ok(());
        };
        if start > end {
            source.problem(at, Problem::StartAfterEnd, &row_text(r));
            return Ok(());
        }
        let Some(&rec) = by_loc.get(&loc) else {
            source.problem(at, Problem::UnknownLocation, &row_text(r));
            return Ok(());
        };
        source.push_v4(start, end, rec, at);
        Ok(())
    })?;
    source.too_long(block_file, &long);
    source.settle();
    Ok(source)
}

/// What a GeoLite2 locations row gives a block.
struct Geoname {
    country: Option<CountryCode>,
    city: Option<String>,
    subdivision: Option<(Option<String>, Option<String>)>,
}

/// GeoLite2 CSV, City or Country edition: blocks (IPv4 and/or IPv6) and one locations file.
pub(super) fn geolite2(label: &str, blocks: &[&CsvFile], locations: &CsvFile) -> Result<Source> {
    // The database type is the file names' prefix (`GeoLite2-City-Blocks-IPv4.csv`, or what
    // `ipatlas export` wrote: `<type>-Blocks-IPv4.csv`), so attributions follow the data.
    let prefix = blocks
        .first()
        .and_then(|b| b.short().split_once("-Blocks"))
        .map(|(p, _)| p.to_owned())
        .filter(|p| !p.is_empty());
    let country_edition = blocks
        .iter()
        .all(|b| b.short().to_ascii_lowercase().contains("country"));
    let kind = prefix.unwrap_or_else(|| {
        if country_edition {
            "GeoLite2-Country".to_owned()
        } else {
            "GeoLite2-City".to_owned()
        }
    });
    let mut source = Source::new(label.to_owned(), kind);
    let loc_file = source.file(locations.short());
    let mut geonames: FxHashMap<u64, Geoname> = FxHashMap::default();
    let long = rows(locations, true, |names, line, r| {
        let col = |name: &str| names.iter().position(|n| n == name);
        let Some(id_col) = col("geoname_id") else {
            return Err(Error::database(&locations.name, "no geoname_id column"));
        };
        let Ok(id) = field(r, id_col).parse::<u64>() else {
            source.problem((loc_file, line), Problem::Malformed, &row_text(r));
            return Ok(());
        };
        if geonames.contains_key(&id) {
            source.problem((loc_file, line), Problem::DuplicateLocation, &row_text(r));
            return Ok(());
        }
        geonames.insert(
            id,
            Geoname {
                country: col("country_iso_code").and_then(|i| CountryCode::parse(&field(r, i))),
                city: col("city_name")
                    .map(|i| city_field(r, i))
                    .filter(|c| !c.is_empty()),
                subdivision: {
                    let text =
                        |name: &str| col(name).map(|i| field(r, i)).filter(|t| !t.is_empty());
                    let (code, name) = (text("subdivision_1_iso_code"), text("subdivision_1_name"));
                    (code.is_some() || name.is_some()).then_some((code, name))
                },
            },
        );
        Ok(())
    })?;
    source.too_long(loc_file, &long);
    for blocks in blocks {
        let file = source.file(blocks.short());
        let long = rows(blocks, true, |names, line, r| {
            let at = (file, line);
            let col = |name: &str| names.iter().position(|n| n == name);
            let Some(net_col) = col("network") else {
                return Err(Error::database(&blocks.name, "no network column"));
            };
            let Ok(net) = field(r, net_col).parse::<IpNetwork>() else {
                source.problem(at, Problem::BadAddress, &row_text(r));
                return Ok(());
            };
            if net.network() != net.ip() {
                source.problem(at, Problem::BadAddress, &row_text(r));
                return Ok(());
            }
            // A geoname id, when given, must be in the locations file.
            let lookup = |name: &str| -> std::result::Result<Option<&Geoname>, ()> {
                let value = col(name).map(|i| field(r, i)).unwrap_or_default();
                if value.is_empty() {
                    return Ok(None);
                }
                value
                    .parse::<u64>()
                    .ok()
                    .and_then(|id| geonames.get(&id))
                    .map(Some)
                    .ok_or(())
            };
            let (Ok(place), Ok(registered)) = (
                lookup("geoname_id"),
                lookup("registered_country_geoname_id"),
            ) else {
                source.problem(at, Problem::UnknownLocation, &row_text(r));
                return Ok(());
            };
            let mut record = Record {
                country: place.and_then(|g| g.country),
                registered: registered.and_then(|g| g.country),
                city: place.and_then(|g| g.city.clone()),
                subdivision: place.and_then(|g| g.subdivision.clone()),
                ..Record::default()
            };
            let (lat, lon) = (
                col("latitude").map(|i| field(r, i)).unwrap_or_default(),
                col("longitude").map(|i| field(r, i)).unwrap_or_default(),
            );
            match coords(&lat, &lon) {
                Ok(c) => record.coords = c,
                Err(()) => source.problem(at, Problem::BadCoordinates, &row_text(r)),
            }
            let radius = col("accuracy_radius")
                .map(|i| field(r, i))
                .unwrap_or_default();
            record.accuracy_radius = if radius.is_empty() {
                None
            } else if let Ok(km) = radius.parse::<u32>() {
                Some(km)
            } else {
                source.problem(at, Problem::BadAccuracy, &row_text(r));
                return Ok(());
            }
            .filter(|_| record.coords.is_some());
            let rec = source.intern(record);
            source.push_network(net, rec, at);
            Ok(())
        })?;
        source.too_long(file, &long);
    }
    source.settle();
    Ok(source)
}

/// One end of an ip-location-db range: an address, or (the `*-num.csv` files) an address
/// as a decimal integer, IPv4 when it fits in 32 bits unless the file is an IPv6 one.
pub(crate) fn range_end(text: &str, ipv6: bool) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if text.is_empty() || text.len() > 39 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u128 = text.parse().ok()?;
    match u32::try_from(n) {
        Ok(v4) if !ipv6 => Some(IpAddr::V4(v4.into())),
        _ => Some(IpAddr::V6(n.into())),
    }
}

/// ip-location-db CSV: no header; `ip_range_start,ip_range_end,country_code`, or the city
/// layout `...,country_code,state1,state2,city,postcode,latitude,longitude,timezone`.
pub(super) fn ip_location_db(label: &str, files: &[&CsvFile]) -> Result<Source> {
    let stem = files.first().map_or("ip-location-db", |f| f.short());
    let stem = stem
        .trim_end_matches(".csv")
        .trim_end_matches(".CSV")
        .trim_end_matches("-num")
        .trim_end_matches("-ipv4")
        .trim_end_matches("-ipv6")
        .to_owned();
    let mut source = Source::new(label.to_owned(), format!("ip-location-db-{stem}"));
    for file in files {
        let index = source.file(file.short());
        // A `*-num.csv` file of IPv6 ranges says so in its name (its small numbers would
        // read as IPv4 otherwise).
        let ipv6 = file.short().to_ascii_lowercase().contains("ipv6");
        let long = rows(file, false, |_, line, r| {
            let at = (index, line);
            if r.len() < 3 {
                source.problem(at, Problem::Malformed, &row_text(r));
                return Ok(());
            }
            let (Some(start), Some(end)) =
                (range_end(&field(r, 0), ipv6), range_end(&field(r, 1), ipv6))
            else {
                source.problem(at, Problem::BadAddress, &row_text(r));
                return Ok(());
            };
            let mut record = Record {
                country: CountryCode::parse(&field(r, 2)),
                ..Record::default()
            };
            if r.len() >= 9 {
                match coords(&field(r, 7), &field(r, 8)) {
                    Ok(c) => record.coords = c,
                    Err(()) => source.problem(at, Problem::BadCoordinates, &row_text(r)),
                }
                record.city = Some(city_field(r, 5)).filter(|c| !c.is_empty());
                record.subdivision = Some(field(r, 3))
                    .filter(|s| !s.is_empty())
                    .map(|name| (None, Some(name)));
            }
            match (start, end) {
                (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => {
                    let rec = source.intern(record);
                    source.push_v4(u32::from(a), u32::from(b), rec, at);
                }
                (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => {
                    let rec = source.intern(record);
                    source.push_v6(u128::from(a), u128::from(b), rec, at);
                }
                (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                    source.problem(at, Problem::StartAfterEnd, &row_text(r));
                }
                _ => source.problem(at, Problem::BadAddress, &row_text(r)),
            }
            Ok(())
        })?;
        source.too_long(index, &long);
    }
    source.settle();
    Ok(source)
}
