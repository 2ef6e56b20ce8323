//! `Place`: the part of a database record that maps need (country, coordinates, accuracy).

use super::names::Name;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 3166-1 alpha-2 country code: two upper-case ASCII letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses a two-character code: ASCII letters (any case) or digits, as databases
    /// write in their country fields (`US`, and pseudo-codes such as `A1`); anything else is
    /// not a code. [`CountryCode::territory`] says which codes are countries.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.trim().as_bytes();
        match bytes {
            [a, b] if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => {
                Some(CountryCode([
                    a.to_ascii_uppercase(),
                    b.to_ascii_uppercase(),
                ]))
            }
            _ => None,
        }
    }

    /// A code that names a country or territory: [`CountryCode::parse`], less the
    /// pseudo-codes databases use for "no country" (legacy GeoLiteCity's `A1` anonymous
    /// proxy, `A2` satellite, `O1` other, `AP` Asia/Pacific, `EU` Europe; ip-location-db's
    /// `ZZ`; `XX` and `--` for unknown). Every reader, `.mmdb` or CSV, goes through this,
    /// so the same data answers the same in either form.
    #[must_use]
    pub fn territory(text: &str) -> Option<Self> {
        let code = Self::parse(text)?;
        match code.as_str() {
            "AP" | "EU" | "ZZ" | "XX" => None,
            // ISO 3166-1 alpha-2 codes are letters; `A1`, `A2`, `O1` and the like are not.
            c if !c.bytes().all(|b| b.is_ascii_alphabetic()) => None,
            _ => Some(code),
        }
    }

    /// Whether this is one of the pseudo-codes [`CountryCode::territory`] refuses.
    #[must_use]
    pub fn is_pseudo(&self) -> bool {
        Self::territory(self.as_str()).is_none()
    }

    /// The code as text, e.g. `"US"`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters or digits by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        CountryCode::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a country code: {text:?}")))
    }
}

/// Where a place's country came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountrySource {
    /// The record's own country field (`country.iso_code` or `country_code`).
    #[default]
    Country,
    /// `registered_country`, used because `--country-fallback registered` was given.
    Registered,
}

/// A located place: what a database record says about where an address is.
///
/// Many addresses share one place; tallies count per place, so every later binning
/// (countries, grid cells of any size) is a pass over places, not over addresses.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Place {
    /// ISO 3166-1 alpha-2 code, if the record has one.
    pub country: Option<CountryCode>,
    /// Where the country came from (only meaningful when `country` is set).
    #[serde(default, skip_serializing_if = "is_default_source")]
    pub country_source: CountrySource,
    /// Latitude in degrees, -90..=90, if the record has coordinates.
    pub lat: Option<f64>,
    /// Longitude in degrees, -180..=180, present exactly when `lat` is.
    pub lon: Option<f64>,
    /// The database's accuracy radius in kilometres, if it gives one.
    pub accuracy_radius: Option<u32>,
    /// The pseudo-code the record gave as its country (`EU`, `A1`, `ZZ`, ...; see
    /// [`CountryCode::territory`]), when that is why the place has no country: summaries
    /// count such addresses by code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudo_country: Option<CountryCode>,
    /// The named parts: subdivision, city, network ([`Place::subdivision`],
    /// [`Place::city`], [`Place::network`]), interned so that a place stays small.
    #[serde(default, skip_serializing_if = "Option::is_none", flatten)]
    pub details: Option<Details>,
}

/// What a place names beyond its country and coordinates.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct DetailsData {
    /// The first-level subdivision (state, province, region), when the record names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdivision: Option<Subdivision>,
    /// The city's name (English where the database has languages), when the record has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<Name>,
    /// The network (autonomous system) of the address, from `--asn-db`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
}

/// Every distinct [`DetailsData`] met by this process, held once (as names are): bounded
/// by what the databases name (and, with an ASN database, the networks met per place).
static DETAILS: std::sync::LazyLock<std::sync::Mutex<rustc_hash::FxHashSet<&'static DetailsData>>> =
    std::sync::LazyLock::new(std::sync::Mutex::default);

/// Interned [`DetailsData`]: compared and hashed by address, ordered by value.
#[derive(Clone, Copy)]
pub struct Details(&'static DetailsData);

impl Details {
    /// The interned details; `None` when they name nothing.
    #[must_use]
    pub fn new(data: DetailsData) -> Option<Details> {
        if data == DetailsData::default() {
            return None;
        }
        thread_local! {
            static SEEN: std::cell::RefCell<rustc_hash::FxHashMap<DetailsData, Details>> =
                std::cell::RefCell::default();
        }
        if let Some(d) = SEEN.with(|seen| seen.borrow().get(&data).copied()) {
            return Some(d);
        }
        let details = Details::new_kept(data)?;
        SEEN.with(|seen| seen.borrow_mut().insert(data, details));
        Some(details)
    }

    /// [`Details::new`] for a caller that keeps what it gets (asks once per details, not
    /// once per record): the pool is asked directly, without the thread's cache.
    #[must_use]
    pub fn new_kept(data: DetailsData) -> Option<Details> {
        if data == DetailsData::default() {
            return None;
        }
        let mut pool = DETAILS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(match pool.get(&data) {
            Some(&kept) => Details(kept),
            None => {
                let kept: &'static DetailsData = Box::leak(Box::new(data));
                pool.insert(kept);
                Details(kept)
            }
        })
    }

    /// What they say.
    #[must_use]
    pub fn data(self) -> &'static DetailsData {
        self.0
    }
}

impl PartialEq for Details {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Details {}

impl std::hash::Hash for Details {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state);
    }
}

impl PartialOrd for Details {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Details {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(other.0)
    }
}

impl fmt::Debug for Details {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl Serialize for Details {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A first-level subdivision as a record gives it: its ISO 3166-2 code (the part after the
/// country and hyphen: `CA` of `US-CA`), its name, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subdivision {
    /// The ISO 3166-2 code without the country (`CA`, `BE`, `ENG`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Name>,
    /// The name (`California`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
}

impl Subdivision {
    /// A subdivision from an optional code and name; `None` when both are blank. A code is
    /// kept only when it looks like one (1 to 3 ASCII letters or digits).
    #[must_use]
    pub fn new(code: Option<&str>, name: Option<&str>) -> Option<Subdivision> {
        let code = code
            .map(str::trim)
            .filter(|c| (1..=3).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric()))
            .and_then(|c| Name::new(&c.to_ascii_uppercase()));
        let name = name.and_then(Name::new);
        Subdivision::of(code, name)
    }

    /// A subdivision of names already made; `None` when it has neither.
    #[must_use]
    pub fn of(code: Option<Name>, name: Option<Name>) -> Option<Subdivision> {
        (code.is_some() || name.is_some()).then_some(Subdivision { code, name })
    }
}

/// An autonomous system: its number and the organisation the ASN database names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Network {
    /// The AS number.
    pub asn: u32,
    /// The organisation, when the database names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Name>,
}

/// How much of each place a tally keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceDetail {
    /// All of it: country, coordinates, accuracy radius, subdivision, city and network.
    #[default]
    Full,
    /// The country (with its source, or the pseudo-code given instead) and the
    /// coordinates: what the countries and cells tables and the summary read. Places that
    /// differ only in the rest are one place, so a run keeps fewer places and never names
    /// a city; its subdivisions, cities and networks tables are empty.
    Coarse,
}

impl PlaceDetail {
    /// What a tally of this detail keeps of `place`.
    #[must_use]
    #[inline]
    pub fn keep(self, place: Place) -> Place {
        match self {
            PlaceDetail::Full => place,
            PlaceDetail::Coarse => Place {
                accuracy_radius: None,
                details: None,
                ..place
            },
        }
    }
}

fn is_default_source(source: &CountrySource) -> bool {
    *source == CountrySource::Country
}

impl Place {
    /// A found record that carries neither a country nor coordinates.
    pub const EMPTY: Place = Place {
        country: None,
        country_source: CountrySource::Country,
        lat: None,
        lon: None,
        accuracy_radius: None,
        pseudo_country: None,
        details: None,
    };

    /// Latitude and longitude in degrees, when both are known.
    #[must_use]
    pub fn coords(&self) -> Option<(f64, f64)> {
        self.lat.zip(self.lon)
    }

    /// The first-level subdivision, when the record names one.
    #[must_use]
    pub fn subdivision(&self) -> Option<Subdivision> {
        self.details.and_then(|d| d.data().subdivision)
    }

    /// The city's name, when the record names one.
    #[must_use]
    pub fn city(&self) -> Option<Name> {
        self.details.and_then(|d| d.data().city)
    }

    /// The network (autonomous system), with `--asn-db`.
    #[must_use]
    pub fn network(&self) -> Option<Network> {
        self.details.and_then(|d| d.data().network)
    }

    /// This place with its subdivision and city replaced.
    #[must_use]
    pub fn with_names(self, subdivision: Option<Subdivision>, city: Option<Name>) -> Place {
        let data = DetailsData {
            subdivision,
            city,
            network: self.network(),
        };
        Place {
            details: Details::new(data),
            ..self
        }
    }

    /// This place with its network replaced.
    #[must_use]
    pub fn with_network(self, network: Option<Network>) -> Place {
        let data = DetailsData {
            subdivision: self.subdivision(),
            city: self.city(),
            network,
        };
        Place {
            details: Details::new(data),
            ..self
        }
    }

    /// A hashable identity: two places with the same key are the same place.
    #[must_use]
    pub fn key(&self) -> PlaceKey {
        PlaceKey {
            country: self.country,
            source: self.country_source,
            lat: self.lat.map(f64::to_bits),
            lon: self.lon.map(f64::to_bits),
            accuracy_radius: self.accuracy_radius,
            pseudo_country: self.pseudo_country,
            details: self.details,
        }
    }
}

/// The identity of a [`Place`], with coordinates compared bit for bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlaceKey {
    country: Option<CountryCode>,
    source: CountrySource,
    lat: Option<u64>,
    lon: Option<u64>,
    accuracy_radius: Option<u32>,
    pseudo_country: Option<CountryCode>,
    details: Option<Details>,
}

/// Orders places for stable output: by country, then latitude, longitude and radius, then
/// subdivision, city and network.
#[must_use]
pub fn place_order(a: &Place, b: &Place) -> std::cmp::Ordering {
    let as_tuple = |p: &Place| {
        (
            p.country,
            p.country_source == CountrySource::Registered,
            p.lat.map(ordered),
            p.lon.map(ordered),
            p.accuracy_radius,
            p.pseudo_country,
            p.details,
        )
    };
    as_tuple(a).cmp(&as_tuple(b))
}

/// Maps an f64 to an integer with the same total order (for sorting only).
fn ordered(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_two_letters_upper_cased() {
        assert_eq!(
            CountryCode::parse("us").map(|c| c.to_string()),
            Some("US".into())
        );
        assert_eq!(
            CountryCode::parse(" DE ").map(|c| c.to_string()),
            Some("DE".into())
        );
        assert!(CountryCode::parse("").is_none());
        assert!(CountryCode::parse("USA").is_none());
        assert_eq!(
            CountryCode::parse("a1").map(|c| c.to_string()),
            Some("A1".into())
        );
        assert!(CountryCode::territory("A1").is_none());
        assert!(CountryCode::territory("1A").is_none());
        assert!(CountryCode::territory("EU").is_none());
        assert!(CountryCode::territory("--").is_none());
        assert_eq!(
            CountryCode::territory("fr").map(|c| c.to_string()),
            Some("FR".into())
        );
        assert!(CountryCode::parse("é").is_none());
    }

    #[test]
    fn place_order_sorts_negative_coordinates_numerically() {
        let p = |lat: f64| Place {
            lat: Some(lat),
            lon: Some(0.0),
            ..Place::EMPTY
        };
        let mut v = [p(10.0), p(-5.0), p(-50.0), p(0.0)];
        v.sort_by(place_order);
        let lats: Vec<f64> = v.iter().filter_map(|p| p.lat).collect();
        assert_eq!(lats, vec![-50.0, -5.0, 0.0, 10.0]);
    }
}
