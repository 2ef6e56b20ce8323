//! What a tally says beyond countries and cells: counts per subdivision, per city and per
//! network (autonomous system), from the named parts of its places.

use super::{Tally, Unit};
use crate::locate::{CountryCode, Name, Network, Subdivision};
use rustc_hash::FxHashMap;
use std::hash::Hash;

/// One subdivision's count: the country, the subdivision (its code and the name given
/// with the most weight), the weight in the unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SubdivisionCount {
    /// The country the subdivision is in.
    pub country: CountryCode,
    /// The subdivision's code and name.
    pub subdivision: Subdivision,
    /// Weight in the unit.
    pub count: u128,
}

/// One city's count. A city is its name within its country and subdivision; its
/// coordinates are those of its place with the most weight (databases give a city several
/// points, one per record).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CityCount {
    /// The country, when the records give one.
    pub country: Option<CountryCode>,
    /// The subdivision, when the records give one.
    pub subdivision: Option<Subdivision>,
    /// The city's name.
    pub name: Name,
    /// Latitude and longitude of the city's heaviest place, when it has coordinates.
    pub coords: Option<(f64, f64)>,
    /// Weight in the unit.
    pub count: u128,
}

/// One network's count, within a country or over all.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetworkCount {
    /// The country (per-country tables), else `None`.
    pub country: Option<CountryCode>,
    /// The autonomous system and (of its places with the most weight) its organisation.
    pub network: Network,
    /// Weight in the unit.
    pub count: u128,
}

/// Sums weights by key, keeping for each key the value of its heaviest contributor (of
/// contributors of equal weight, the least value: the same whatever order places come in).
struct Grouped<K, V> {
    groups: FxHashMap<K, (u128, V, u128)>,
}

impl<K: Hash + Eq, V: Copy + PartialOrd> Grouped<K, V> {
    fn new() -> Self {
        Grouped {
            groups: FxHashMap::default(),
        }
    }

    fn add(&mut self, key: K, value: V, weight: u128) {
        if weight == 0 {
            return;
        }
        let e = self.groups.entry(key).or_insert((0, value, 0));
        e.0 = e.0.saturating_add(weight);
        if weight > e.2 || (weight == e.2 && value < e.1) {
            e.1 = value;
            e.2 = weight;
        }
    }

    fn into_sorted<T>(
        self,
        make: impl Fn(K, V, u128) -> T,
        order: impl Fn(&T, &T) -> std::cmp::Ordering,
    ) -> Vec<T> {
        let mut v: Vec<T> = self
            .groups
            .into_iter()
            .map(|(k, (n, v, _))| make(k, v, n))
            .collect();
        v.sort_by(order);
        v
    }
}

/// A subdivision's identity within its country: its code when the database gives one,
/// else its name.
fn subdivision_key(s: Subdivision) -> Option<Name> {
    s.code.or(s.name)
}

impl Tally {
    /// Weight per first-level subdivision in one unit, by count descending, then country
    /// and code. Places without a country or a subdivision are in no row.
    #[must_use]
    pub fn subdivisions(&self, unit: Unit) -> Vec<SubdivisionCount> {
        let mut g = Grouped::new();
        for (place, w) in self.places.iter().zip(&self.weights) {
            if let (Some(country), Some(sub)) = (place.country, place.subdivision())
                && let Some(key) = subdivision_key(sub)
            {
                g.add((country, key), sub, unit.of(w));
            }
        }
        g.into_sorted(
            |(country, _), subdivision, count| SubdivisionCount {
                country,
                subdivision,
                count,
            },
            |a, b| {
                b.count.cmp(&a.count).then_with(|| {
                    (a.country, subdivision_key(a.subdivision))
                        .cmp(&(b.country, subdivision_key(b.subdivision)))
                })
            },
        )
    }

    /// Weight per city in one unit, by count descending, then country, subdivision and
    /// name. Places without a city name are in no row.
    #[must_use]
    pub fn cities(&self, unit: Unit) -> Vec<CityCount> {
        let mut g = Grouped::new();
        for (place, w) in self.places.iter().zip(&self.weights) {
            if let Some(city) = place.city() {
                let key = (
                    place.country,
                    place.subdivision().and_then(subdivision_key),
                    city,
                );
                g.add(key, (place.subdivision(), place.coords()), unit.of(w));
            }
        }
        g.into_sorted(
            |(country, _, name), (subdivision, coords), count| CityCount {
                country,
                subdivision,
                name,
                coords,
                count,
            },
            |a, b| {
                b.count.cmp(&a.count).then_with(|| {
                    (a.country, a.subdivision.and_then(subdivision_key), a.name).cmp(&(
                        b.country,
                        b.subdivision.and_then(subdivision_key),
                        b.name,
                    ))
                })
            },
        )
    }

    /// Weight per network in one unit, over all countries (`by_country` false) or per
    /// country (places without a country are then in no row); by count descending
    /// (per country: by country, then count descending), then AS number.
    #[must_use]
    pub fn networks(&self, unit: Unit, by_country: bool) -> Vec<NetworkCount> {
        let mut g = Grouped::new();
        for (place, w) in self.places.iter().zip(&self.weights) {
            let Some(network) = place.network() else {
                continue;
            };
            if by_country && place.country.is_none() {
                continue;
            }
            let country = place.country.filter(|_| by_country);
            g.add((country, network.asn), network, unit.of(w));
        }
        g.into_sorted(
            |(country, _), network, count| NetworkCount {
                country,
                network,
                count,
            },
            |a, b| {
                a.country
                    .cmp(&b.country)
                    .then(b.count.cmp(&a.count))
                    .then(a.network.asn.cmp(&b.network.asn))
            },
        )
    }

    /// Whether any place has a subdivision, a city or a network.
    #[must_use]
    pub fn has_details(&self) -> (bool, bool, bool) {
        let mut out = (false, false, false);
        for (place, w) in self.places.iter().zip(&self.weights) {
            if w.iter().all(|n| *n == 0) {
                continue;
            }
            out.0 |= place.subdivision().is_some();
            out.1 |= place.city().is_some();
            out.2 |= place.network().is_some();
        }
        out
    }
}
