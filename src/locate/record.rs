//! A direct reader for what a place takes from a GeoIP2-shaped record (`country`,
//! `registered_country`, `location`, the first of `subdivisions`, `city`), straight from
//! the bytes of the database's data section in one pass over the values it needs: the
//! MaxMind DB data format (<https://maxmind.github.io/MaxMind-DB/>).
//!
//! It is the fast path of [`super::Database::decode_place`]. MaxMind's writer stores a
//! country, a city or a list of subdivisions once and points to it from every record that
//! shares it, so what a pointed-to value gives (a country code, an interned city name, a
//! subdivision) is kept by where it lies ([`Pointed`]) and read once. The reader takes the
//! usual types only (strings, doubles, unsigned integers, maps, arrays, pointers to them)
//! and gives up, returning `None`, at anything else or anything out of place; the general
//! (serde) decoder then reads the record, so a record gives the same place either way,
//! errors included. Tests compare the two on every record of the fixture databases, and the
//! `mmdb` fuzz target on damaged ones.

use super::names::Name;
use super::place::{CountryCode, Subdivision};
use super::schema::Scalar;
use rustc_hash::FxHashMap;

/// What a record gives a place (as [`super::Database::decode_place`] reads it from the
/// general decoder's values).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Fields {
    /// `country.iso_code` as a code, and as a territory.
    pub country: Codes,
    /// `registered_country.iso_code` as a code, and as a territory.
    pub registered: Codes,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub radius: Option<f64>,
    /// The first subdivision's code and English name.
    pub subdivision: Option<Subdivision>,
    /// The city's English name.
    pub city: Option<Name>,
}

/// An `iso_code` read as [`CountryCode::parse`] and [`CountryCode::territory`] read it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Codes {
    pub code: Option<CountryCode>,
    pub territory: Option<CountryCode>,
}

/// What the pointed-to values of one database gave, by where they lie in its data section.
#[derive(Default)]
pub(super) struct Pointed {
    /// The database they belong to (see [`Pointed::of`]).
    db: u64,
    codes: FxHashMap<usize, Codes>,
    subdivisions: FxHashMap<usize, Option<Subdivision>>,
    cities: FxHashMap<usize, Option<Name>>,
}

impl Pointed {
    /// This cache for database `db` (a process-unique number): emptied when it held
    /// another's.
    pub(super) fn of(&mut self, db: u64) -> &mut Self {
        if self.db != db {
            *self = Pointed {
                db,
                ..Pointed::default()
            };
        }
        self
    }
}

/// Values read before giving up (a record of the usual layout takes a few dozen): bounds
/// the work a damaged or hostile record can cause.
const BUDGET: u32 = 4096;

/// Bytes of strings (and byte arrays) passed before giving up. The general decoder refuses
/// a record past its own limits (65,536 values, 2 MiB of strings); with at most five kept
/// values behind a record, each read within these budgets, a record read directly stays
/// well inside them.
const TEXT_BUDGET: usize = 64 << 10;

/// How deep skipped maps and arrays may nest before giving up.
const MAX_DEPTH: u32 = 8;

const POINTER: u8 = 1;
const STRING: u8 = 2;
const DOUBLE: u8 = 3;
const BYTES: u8 = 4;
const UINT16: u8 = 5;
const UINT32: u8 = 6;
const MAP: u8 = 7;
const INT32: u8 = 8;
const UINT64: u8 = 9;
const UINT128: u8 = 10;
const ARRAY: u8 = 11;
const BOOLEAN: u8 = 14;
const FLOAT: u8 = 15;

/// The fields of the record at `offset` in `data` (the data section), or `None` where the
/// general decoder must read it.
pub(super) fn nested(data: &[u8], offset: usize, pointed: &mut Pointed) -> Option<Fields> {
    let mut r = Reader {
        data,
        budget: BUDGET,
        text_budget: TEXT_BUDGET,
    };
    let mut out = Fields::default();
    let wanted: &[&[u8]] = &[
        b"country",
        b"registered_country",
        b"location",
        b"subdivisions",
        b"city",
    ];
    r.map(offset, wanted, |r, i, at| {
        Some(match i {
            0 | 1 => {
                let (codes, end) = r.cached(at, &mut pointed.codes, Reader::codes)?;
                *(if i == 0 {
                    &mut out.country
                } else {
                    &mut out.registered
                }) = codes;
                end
            }
            2 => {
                let ([lat, lon, radius], end) = r.location(at)?;
                (out.latitude, out.longitude, out.radius) = (lat, lon, radius);
                end
            }
            3 => {
                let (subdivision, end) =
                    r.cached(at, &mut pointed.subdivisions, Reader::subdivision)?;
                out.subdivision = subdivision;
                end
            }
            _ => {
                let (city, end) = r.cached(at, &mut pointed.cities, Reader::city)?;
                out.city = city;
                end
            }
        })
    })?;
    Some(out)
}

/// A cursor-free reader over the data section: each step takes a position and returns
/// what it read with the position after it. Every value is read once.
struct Reader<'a> {
    data: &'a [u8],
    budget: u32,
    text_budget: usize,
}

/// A scalar as the general decoder gives it to a place: text, or a number.
enum Value<'a> {
    Text(&'a str),
    Number(f64),
}

/// A value's type, its size (entries of a map or array, bytes of the rest), where its
/// payload starts, and where it ends when that is known without reading the payload (a
/// value reached through a pointer ends after the pointer).
type Opened = (u8, usize, usize, Option<usize>);

impl<'a> Reader<'a> {
    fn byte(&self, at: usize) -> Option<u8> {
        self.data.get(at).copied()
    }

    fn bytes(&self, at: usize, n: usize) -> Option<&'a [u8]> {
        self.data.get(at..at.checked_add(n)?)
    }

    /// The control bytes at `at`: type, size (for a pointer, its target) and where the
    /// payload starts.
    fn head(&mut self, at: usize) -> Option<(u8, usize, usize)> {
        self.budget = self.budget.checked_sub(1)?;
        let control = self.byte(at)?;
        let mut kind = control >> 5;
        let mut at = at + 1;
        if kind == POINTER {
            // A 32-bit pointer whose three unused bits are not all zero reads differently
            // in the general decoder (which takes them for a size); real files leave
            // them zero.
            if control & 0x1f >= 29 {
                return None;
            }
            let size = usize::from((control >> 3) & 0x3) + 1;
            let b = self.bytes(at, size)?;
            let low = usize::from(control & 0x7);
            let target = match *b {
                [b0] => (low << 8) | usize::from(b0),
                [b0, b1] => ((low << 16) | (usize::from(b0) << 8) | usize::from(b1)) + 2048,
                [b0, b1, b2] => {
                    ((low << 24)
                        | (usize::from(b0) << 16)
                        | (usize::from(b1) << 8)
                        | usize::from(b2))
                        + 526_336
                }
                [b0, b1, b2, b3] => u32::from_be_bytes([b0, b1, b2, b3]) as usize,
                _ => return None,
            };
            return Some((POINTER, target, at + size));
        }
        if kind == 0 {
            kind = self.byte(at)?.checked_add(7)?;
            at += 1;
        }
        let mut size = usize::from(control & 0x1f);
        if size >= 29 {
            let n = size - 28;
            let b = self.bytes(at, n)?;
            at += n;
            size = match *b {
                [b0] => 29 + usize::from(b0),
                [b0, b1] => 285 + ((usize::from(b0) << 8) | usize::from(b1)),
                [b0, b1, b2] => {
                    65_821 + ((usize::from(b0) << 16) | (usize::from(b1) << 8) | usize::from(b2))
                }
                _ => return None,
            };
        }
        if kind == STRING || kind == BYTES {
            self.text_budget = self.text_budget.checked_sub(size)?;
        }
        Some((kind, size, at))
    }

    /// The value at `at`, through a pointer (see [`Opened`]).
    fn open(&mut self, at: usize) -> Option<Opened> {
        let (kind, size, payload) = self.head(at)?;
        if kind != POINTER {
            return Some((kind, size, payload, None));
        }
        match self.head(size)? {
            (POINTER, ..) => None,
            (kind, size, target) => Some((kind, size, target, Some(payload))),
        }
    }

    /// The payload length of a scalar (not a map or array).
    fn scalar_len(kind: u8, size: usize) -> Option<usize> {
        let fixed = |n: usize| (size <= n).then_some(size);
        match kind {
            STRING | BYTES => Some(size),
            DOUBLE => (size == 8).then_some(8),
            FLOAT => (size == 4).then_some(4),
            UINT16 => fixed(2),
            UINT32 | INT32 => fixed(4),
            UINT64 => fixed(8),
            UINT128 => fixed(16),
            BOOLEAN => (size <= 1).then_some(0),
            _ => None,
        }
    }

    /// Where the value at `at` ends (a pointer ends after itself: its target is not read).
    fn skip(&mut self, at: usize, depth: u32) -> Option<usize> {
        let (kind, size, payload) = self.head(at)?;
        match kind {
            POINTER => Some(payload),
            MAP | ARRAY if depth < MAX_DEPTH => {
                let mut end = payload;
                let items = if kind == MAP {
                    size.checked_mul(2)?
                } else {
                    size
                };
                for _ in 0..items {
                    end = self.skip(end, depth + 1)?;
                }
                Some(end)
            }
            _ => {
                let len = Self::scalar_len(kind, size)?;
                self.bytes(payload, len)?;
                Some(payload + len)
            }
        }
    }

    /// Walks the map at `at` (or behind a pointer there), handing the position of each
    /// value under one of the `wanted` keys to `field`, which reads it and says where it
    /// ends; skips the others. Returns where the map ends; `None` when a wanted key repeats
    /// or anything is not as expected.
    fn map(
        &mut self,
        at: usize,
        wanted: &[&[u8]],
        mut field: impl FnMut(&mut Self, usize, usize) -> Option<usize>,
    ) -> Option<usize> {
        let (kind, size, payload, known) = self.open(at)?;
        if kind != MAP {
            return None;
        }
        let mut seen = 0u32;
        let mut at = payload;
        for _ in 0..size {
            let (kind, len, key_at, key_end) = self.open(at)?;
            if kind != STRING {
                return None;
            }
            // Compared as bytes, as the general decoder compares field names.
            let key = self.bytes(key_at, len)?;
            at = key_end.unwrap_or(key_at + len);
            at = match wanted.iter().position(|w| *w == key) {
                Some(i) if seen & (1 << i) != 0 => return None,
                Some(i) => {
                    seen |= 1 << i;
                    field(self, i, at)?
                }
                None => self.skip(at, 0)?,
            };
        }
        Some(known.unwrap_or(at))
    }

    /// The string at `at` (valid UTF-8, as the general decoder requires) and its end.
    fn text(&mut self, at: usize) -> Option<(&'a str, usize)> {
        let (kind, size, payload, known) = self.open(at)?;
        if kind != STRING {
            return None;
        }
        let text = std::str::from_utf8(self.bytes(payload, size)?).ok()?;
        Some((text, known.unwrap_or(payload + size)))
    }

    /// What the value at `at` gave before, when it is a pointer to a value read before;
    /// else `read` reads it (through the pointer) and, behind a pointer, it is kept.
    fn cached<T: Copy>(
        &mut self,
        at: usize,
        kept: &mut FxHashMap<usize, T>,
        read: impl FnOnce(&mut Self, usize) -> Option<(T, usize)>,
    ) -> Option<(T, usize)> {
        let (kind, target, after) = self.head(at)?;
        if kind != POINTER {
            return read(self, at);
        }
        if let Some(&value) = kept.get(&target) {
            return Some((value, after));
        }
        let (value, end) = read(self, at)?;
        kept.insert(target, value);
        Some((value, end))
    }

    /// A scalar the general decoder reads as text or a number, and its end: strings,
    /// doubles and unsigned integers of 16 and 32 bits; other types give up.
    fn scalar(&mut self, at: usize) -> Option<(Value<'a>, usize)> {
        let (kind, size, payload, known) = self.open(at)?;
        let b = self.bytes(payload, size)?;
        let unsigned = |n: usize| {
            (size <= n)
                .then(|| Value::Number(b.iter().fold(0u64, |v, &x| (v << 8) | u64::from(x)) as f64))
        };
        let value = match kind {
            DOUBLE if size == 8 => Value::Number(f64::from_be_bytes(b.try_into().ok()?)),
            UINT16 => unsigned(2)?,
            UINT32 => unsigned(4)?,
            STRING => Value::Text(std::str::from_utf8(b).ok()?),
            _ => return None,
        };
        Some((value, known.unwrap_or(payload + size)))
    }

    /// A number as [`Scalar::as_f64`] reads the general decoder's value (numbers, numeric
    /// text), and its end; other types give up.
    fn number(&mut self, at: usize) -> Option<(Option<f64>, usize)> {
        let (value, end) = self.scalar(at)?;
        let number = match value {
            Value::Number(x) => Some(x),
            Value::Text(t) => Scalar::Text(t.to_owned()).as_f64(),
        };
        Some((number, end))
    }

    /// The map at `at` under one wanted key: `read` of the key's value (`None` when the
    /// map has none), and the map's end.
    fn field<T>(
        &mut self,
        at: usize,
        key: &[u8],
        read: impl Fn(&mut Self, usize) -> Option<(T, usize)>,
    ) -> Option<(Option<T>, usize)> {
        let mut value = None;
        let end = self.map(at, &[key], |r, _, at| {
            let (v, end) = read(r, at)?;
            value = Some(v);
            Some(end)
        })?;
        Some((value, end))
    }

    /// `{iso_code: ...}`: the code (text; a number is no code), and the map's end.
    fn codes(&mut self, at: usize) -> Option<(Codes, usize)> {
        let (value, end) = self.field(at, b"iso_code", Self::scalar)?;
        let codes = match value {
            Some(Value::Text(text)) => Codes {
                code: CountryCode::parse(text),
                territory: CountryCode::territory(text),
            },
            _ => Codes::default(),
        };
        Some((codes, end))
    }

    /// `{latitude, longitude, accuracy_radius}`, and the map's end.
    fn location(&mut self, at: usize) -> Option<([Option<f64>; 3], usize)> {
        let mut out = [None; 3];
        let wanted: &[&[u8]] = &[b"latitude", b"longitude", b"accuracy_radius"];
        let end = self.map(at, wanted, |r, i, at| {
            let (value, end) = r.number(at)?;
            out[i] = value;
            Some(end)
        })?;
        Some((out, end))
    }

    /// `{en: ...}` (a `names` map): the English name's text, and the map's end.
    fn en(&mut self, at: usize) -> Option<(Option<&'a str>, usize)> {
        self.field(at, b"en", Self::text)
    }

    /// `{names: {en: ...}, ...}`: the English name's text, and the map's end.
    fn names_en(&mut self, at: usize) -> Option<(Option<&'a str>, usize)> {
        let (name, end) = self.field(at, b"names", Self::en)?;
        Some((name.flatten(), end))
    }

    /// `{names: {en: ...}, ...}`: the city's name, and the map's end.
    fn city(&mut self, at: usize) -> Option<(Option<Name>, usize)> {
        let (name, end) = self.names_en(at)?;
        Some((name.and_then(Name::new), end))
    }

    /// `[{iso_code, names: {en}}, ...]`: the first subdivision, and the array's end (the
    /// rest of it skipped, as the general decoder skips it).
    fn subdivision(&mut self, at: usize) -> Option<(Option<Subdivision>, usize)> {
        let (kind, size, payload, known) = self.open(at)?;
        if kind != ARRAY {
            return None;
        }
        let (mut code, mut name) = (None, None);
        let mut end = payload;
        if size > 0 {
            end = self.map(payload, &[b"iso_code", b"names"], |r, i, at| {
                if i == 0 {
                    let (text, end) = r.text(at)?;
                    code = Some(text);
                    return Some(end);
                }
                let (en, end) = r.en(at)?;
                name = en;
                Some(end)
            })?;
        }
        for _ in 1..size {
            end = self.skip(end, 0)?;
        }
        Some((Subdivision::new(code, name), known.unwrap_or(end)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Vec<u8> {
        let mut v = vec![(STRING << 5) | s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn double(x: f64) -> Vec<u8> {
        let mut v = vec![(DOUBLE << 5) | 8];
        v.extend_from_slice(&x.to_be_bytes());
        v
    }

    fn map(pairs: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut v = vec![(MAP << 5) | pairs.len() as u8];
        for (k, value) in pairs {
            v.extend(text(k));
            v.extend_from_slice(value);
        }
        v
    }

    #[test]
    fn reads_a_record_and_gives_up_where_the_general_decoder_reads_otherwise() {
        let location = map(&[("latitude", double(52.5)), ("longitude", double(13.4))]);
        let country = map(&[("iso_code", text("DE"))]);
        let record = map(&[("country", country.clone()), ("location", location.clone())]);
        let fields = nested(&record, 0, &mut Pointed::default()).unwrap();
        assert_eq!(fields.country.code, CountryCode::parse("DE"));
        assert_eq!(
            (fields.latitude, fields.longitude),
            (Some(52.5), Some(13.4))
        );
        assert_eq!(fields.registered, Codes::default());

        // The country behind a pointer (to offset 0, where it is put first).
        let mut data = country.clone();
        let at = data.len();
        data.extend(map(&[("country", vec![POINTER << 5, 0])]));
        let fields = nested(&data, at, &mut Pointed::default()).unwrap();
        assert_eq!(fields.country.code, CountryCode::parse("DE"));

        // A 32-bit pointer with its unused bits set: the general decoder reads a size
        // there, so this reader leaves it to it.
        let mut data = country.clone();
        let at = data.len();
        data.extend(map(&[("country", vec![(POINTER << 5) | 0x1d, 0, 0, 0, 0])]));
        assert!(nested(&data, at, &mut Pointed::default()).is_none());
        data[at + 1 + 8] = (POINTER << 5) | 0x18; // the same pointer, unused bits clear
        assert!(nested(&data, at, &mut Pointed::default()).is_some());

        // A repeated field, a latitude of another type, a cut-off record: the general
        // decoder's to read.
        let twice = map(&[("country", country.clone()), ("country", country)]);
        assert!(nested(&twice, 0, &mut Pointed::default()).is_none());
        let float = map(&[(
            "location",
            map(&[("latitude", vec![0x04, 0x08, 0, 0, 0, 0])]),
        )]);
        assert!(nested(&float, 0, &mut Pointed::default()).is_none());
        assert!(nested(&record[..record.len() - 1], 0, &mut Pointed::default()).is_none());
    }
}
