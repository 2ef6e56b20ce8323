//! A tally's compact binary form, for shuffles between processes (Spark, Dask): the tally
//! file's header (databases, counters) as JSON, then every place as a few bytes (flags,
//! codes, coordinates as exact `f64` bits, weights as LEB128 varints), deflated. Read back,
//! it goes through the same checks as a tally file.

use super::{PlaceRow, Tally};
use crate::error::{Error, Result};
use crate::locate::{CountryCode, CountrySource, DatabaseInfo, Name, Network, Subdivision};
use std::io::{Read, Write};

/// The first bytes of the binary form.
const MAGIC: &[u8] = b"IPATLAS-TALLY-BIN-2\n";

const COUNTRY: u8 = 1;
const LAT: u8 = 2;
const LON: u8 = 4;
const RADIUS: u8 = 8;
const PSEUDO: u8 = 16;
const REGISTERED: u8 = 32;
/// A second flags byte follows, for the named parts of a place.
const DETAILS: u8 = 64;

const SUBDIVISION_CODE: u8 = 1;
const SUBDIVISION_NAME: u8 = 2;
const CITY: u8 = 4;
const NETWORK: u8 = 8;
const ORGANIZATION: u8 = 16;

fn put_name(out: &mut Vec<u8>, name: Name) {
    put_varint(out, name.as_str().len() as u128);
    out.extend_from_slice(name.as_str().as_bytes());
}

fn put_varint(out: &mut Vec<u8>, mut v: u128) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_code(out: &mut Vec<u8>, code: CountryCode) {
    out.extend_from_slice(code.as_str().as_bytes());
}

fn encode(out: &mut Vec<u8>, row: &PlaceRow) {
    let mut flags = 0;
    for (present, flag) in [
        (row.country.is_some(), COUNTRY),
        (row.lat.is_some(), LAT),
        (row.lon.is_some(), LON),
        (row.accuracy_radius.is_some(), RADIUS),
        (row.pseudo_country.is_some(), PSEUDO),
        (row.country_source == CountrySource::Registered, REGISTERED),
        (row.is_detailed(), DETAILS),
    ] {
        if present {
            flags |= flag;
        }
    }
    out.push(flags);
    let code = row.subdivision.and_then(|s| s.code);
    let sub_name = row.subdivision.and_then(|s| s.name);
    let organization = row.network.and_then(|n| n.organization);
    if row.is_detailed() {
        let mut details = 0;
        for (present, flag) in [
            (code.is_some(), SUBDIVISION_CODE),
            (sub_name.is_some(), SUBDIVISION_NAME),
            (row.city.is_some(), CITY),
            (row.network.is_some(), NETWORK),
            (organization.is_some(), ORGANIZATION),
        ] {
            if present {
                details |= flag;
            }
        }
        out.push(details);
    }
    if let Some(c) = row.country {
        put_code(out, c);
    }
    if let Some(c) = row.pseudo_country {
        put_code(out, c);
    }
    for v in [row.lat, row.lon].into_iter().flatten() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if let Some(r) = row.accuracy_radius {
        out.extend_from_slice(&r.to_le_bytes());
    }
    for name in [code, sub_name, row.city].into_iter().flatten() {
        put_name(out, name);
    }
    if let Some(n) = row.network {
        out.extend_from_slice(&n.asn.to_le_bytes());
    }
    if let Some(name) = organization {
        put_name(out, name);
    }
    for w in [row.ipv4, row.ipv6, row.subnets_64] {
        put_varint(out, w);
    }
}

/// Reads the binary form, checking every length.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let bytes = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn varint(&mut self) -> Option<u128> {
        let mut v = 0u128;
        for shift in (0..128).step_by(7) {
            let b = self.byte()?;
            let bits = u128::from(b & 0x7f);
            if shift > 0 && bits >> (128 - shift) != 0 {
                return None;
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn f64(&mut self) -> Option<f64> {
        Some(f64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn name(&mut self) -> Option<Name> {
        let len = usize::try_from(self.varint()?).ok()?;
        Name::new(std::str::from_utf8(self.take(len)?).ok()?)
    }

    fn code(&mut self) -> Option<CountryCode> {
        CountryCode::parse(std::str::from_utf8(self.take(2)?).ok()?)
    }

    fn row(&mut self) -> Option<PlaceRow> {
        let flags = self.byte()?;
        let has = |f: u8| flags & f != 0;
        let details = if has(DETAILS) { self.byte()? } else { 0 };
        let detail = |f: u8| details & f != 0;
        let country = if has(COUNTRY) {
            Some(self.code()?)
        } else {
            None
        };
        let pseudo_country = if has(PSEUDO) {
            Some(self.code()?)
        } else {
            None
        };
        let lat = if has(LAT) { Some(self.f64()?) } else { None };
        let lon = if has(LON) { Some(self.f64()?) } else { None };
        let accuracy_radius = if has(RADIUS) {
            Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
        } else {
            None
        };
        let mut name_if = |f: u8| -> Option<Option<Name>> {
            if detail(f) {
                self.name().map(Some)
            } else {
                Some(None)
            }
        };
        let code = name_if(SUBDIVISION_CODE)?;
        let sub_name = name_if(SUBDIVISION_NAME)?;
        let city = name_if(CITY)?;
        let asn = if detail(NETWORK) {
            Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
        } else {
            None
        };
        let organization = if detail(ORGANIZATION) {
            Some(self.name()?)
        } else {
            None
        };
        if has(DETAILS) && details == 0 || organization.is_some() && asn.is_none() {
            return None;
        }
        Some(PlaceRow {
            country,
            country_source: if has(REGISTERED) {
                CountrySource::Registered
            } else {
                CountrySource::Country
            },
            lat,
            lon,
            accuracy_radius,
            pseudo_country,
            subdivision: Subdivision::of(code, sub_name),
            city,
            network: asn.map(|asn| Network { asn, organization }),
            ipv4: self.varint()?,
            ipv6: self.varint()?,
            subnets_64: self.varint()?,
        })
    }
}

impl Tally {
    /// The tally in a compact binary form (for shuffles between processes: about a tenth
    /// of the tally file's JSON, and several times faster to write and read);
    /// [`Tally::from_bytes`] reads it back exactly.
    #[must_use]
    pub fn to_bytes(&self, databases: Vec<DatabaseInfo>) -> Vec<u8> {
        // The header holds strings and numbers only: serialising it cannot fail.
        let header = serde_json::to_vec(&self.file_header(databases)).unwrap_or_default();
        // Places in slot order (a tally file sorts them; here order does not matter).
        let places: Vec<(&crate::locate::Place, &[u128; super::COLUMNS])> = self
            .places
            .iter()
            .zip(&self.weights)
            .filter(|(_, w)| w.iter().any(|n| *n > 0))
            .collect();
        let mut body = Vec::with_capacity(header.len() + 16 + places.len() * 32);
        put_varint(&mut body, header.len() as u128);
        body.extend_from_slice(&header);
        put_varint(&mut body, places.len() as u128);
        for (place, w) in places {
            encode(&mut body, &PlaceRow::new(place, w));
        }
        let mut out =
            flate2::write::DeflateEncoder::new(MAGIC.to_vec(), flate2::Compression::fast());
        // Writing into memory cannot fail.
        let _ = out.write_all(&body);
        out.finish().unwrap_or_default()
    }

    /// Reads what [`Tally::to_bytes`] wrote (or a tally file's JSON text), with the checks
    /// of a tally file; damaged bytes are an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Tally, Vec<DatabaseInfo>)> {
        let Some(deflated) = bytes.strip_prefix(MAGIC) else {
            return Tally::from_json("bytes", bytes);
        };
        let bad = |message: &str| Error::Tally {
            path: "bytes".into(),
            message: format!("damaged tally bytes: {message}"),
        };
        let mut body = Vec::new();
        flate2::read::DeflateDecoder::new(deflated)
            .read_to_end(&mut body)
            .map_err(|e| bad(&e.to_string()))?;
        let mut cursor = Cursor {
            data: &body,
            pos: 0,
        };
        let header_len = cursor
            .varint()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| bad("no header"))?;
        let header = cursor.take(header_len).ok_or_else(|| bad("short header"))?;
        let mut file = Tally::parse_file("bytes", header)?;
        let count = cursor
            .varint()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| bad("no place count"))?;
        // Each place takes at least four bytes: a count past that is damage, not memory
        // to reserve.
        file.places = Vec::with_capacity(count.min(body.len() / 4));
        for _ in 0..count {
            file.places
                .push(cursor.row().ok_or_else(|| bad("a place is cut short"))?);
        }
        if cursor.pos != body.len() {
            return Err(bad("bytes after the last place"));
        }

        Tally::from_file("bytes", file)
    }
}
