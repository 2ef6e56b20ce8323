//! `Tally`: the mergeable aggregate of a run (counters plus weights per interned place),
//! from which country and grid-cell tables are derived, and its versioned file format.

use crate::error::{Error, Result};

mod bytes;
pub mod compare;
mod details;
mod file;
mod grid;
mod merge;

use crate::input::{Family, InvalidReason};
pub use crate::locate::PlaceDetail;
use crate::locate::{CountryCode, CountrySource, NotFound, Place, place_order};
pub use details::{CityCount, NetworkCount, SubdivisionCount};
pub use file::{CountersFile, PlaceRow, TALLY_FORMAT, TALLY_VERSION, TallyFile};
pub use grid::{CellGrid, h3_resolution};
pub use merge::{Merge, MixedDatabases, weighting};
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::Serialize;
use std::collections::BTreeMap;
use std::hash::BuildHasher;

/// Checked addition for the counter types.
mod num {
    pub trait CheckedAdd: Sized {
        fn checked(&self, other: Self) -> Option<Self>;
    }
    impl CheckedAdd for u64 {
        fn checked(&self, other: Self) -> Option<Self> {
            self.checked_add(other)
        }
    }
    impl CheckedAdd for u128 {
        fn checked(&self, other: Self) -> Option<Self> {
            self.checked_add(other)
        }
    }
}

/// A weight column of a place: what a record adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// IPv4 addresses (of addresses and prefixes alike).
    Ipv4,
    /// Single IPv6 addresses.
    Ipv6,
    /// The /64 subnets of IPv6 prefixes.
    Subnets64,
}

/// Weight columns per place: IPv4 addresses, IPv6 addresses, IPv6 /64 subnets.
pub const COLUMNS: usize = 3;

impl Column {
    /// Every column, in storage order.
    pub const ALL: [Column; COLUMNS] = [Column::Ipv4, Column::Ipv6, Column::Subnets64];

    /// The column a record adds to: IPv4 records count addresses, single IPv6 addresses
    /// count addresses, IPv6 prefixes count /64 subnets.
    #[must_use]
    pub const fn of(family: Family, prefix: bool) -> Column {
        match (family, prefix) {
            (Family::Ipv4, _) => Column::Ipv4,
            (Family::Ipv6, false) => Column::Ipv6,
            (Family::Ipv6, true) => Column::Subnets64,
        }
    }

    /// Position in per-column arrays (`[u128; COLUMNS]`).
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// What a count counts. No output adds the two: a table holds a `unit` column, a map or a
/// GeoJSON layer shows one unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Unit {
    /// IPv4 addresses and single IPv6 addresses.
    Addresses,
    /// The /64 subnets of IPv6 prefixes (and of `--whole-db`'s IPv6 networks).
    #[cfg_attr(feature = "cli", value(name = "subnets"))]
    Subnets64,
}

impl Unit {
    /// Both units, in output order.
    pub const ALL: [Unit; 2] = [Unit::Addresses, Unit::Subnets64];

    /// The weight columns counted in this unit.
    #[must_use]
    pub fn columns(self) -> &'static [Column] {
        match self {
            Unit::Addresses => &[Column::Ipv4, Column::Ipv6],
            Unit::Subnets64 => &[Column::Subnets64],
        }
    }

    /// The label written beside counts (`unit` columns and properties, legends).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Unit::Addresses => "addresses",
            Unit::Subnets64 => "/64 subnets",
        }
    }

    /// The label for `n` of the unit: singular for one ("1 address", "1 /64 subnet").
    #[must_use]
    pub fn noun(self, n: u128) -> &'static str {
        match (self, n) {
            (Unit::Addresses, 1) => "address",
            (Unit::Subnets64, 1) => "/64 subnet",
            _ => self.label(),
        }
    }

    /// The label of counts that are sums of weights (`--weight-column`) when `weighted`:
    /// `weighted addresses`, `weighted /64 subnets`.
    #[must_use]
    pub fn label_of(self, weighted: bool) -> &'static str {
        match (self, weighted) {
            (u, false) => u.label(),
            (Unit::Addresses, true) => "weighted addresses",
            (Unit::Subnets64, true) => "weighted /64 subnets",
        }
    }

    /// [`Unit::noun`] of weighted counts when `weighted`.
    #[must_use]
    pub fn noun_of(self, n: u128, weighted: bool) -> &'static str {
        match (self, n, weighted) {
            (u, n, false) => u.noun(n),
            (Unit::Addresses, 1, true) => "weighted address",
            (Unit::Subnets64, 1, true) => "weighted /64 subnet",
            (u, _, true) => u.label_of(true),
        }
    }

    /// The word that names the unit on the command line (`--unit addresses|subnets`).
    #[must_use]
    pub fn flag(self) -> &'static str {
        match self {
            Unit::Addresses => "addresses",
            Unit::Subnets64 => "subnets",
        }
    }

    /// The unit's name as a JSON key.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Unit::Addresses => "addresses",
            Unit::Subnets64 => "subnets_64",
        }
    }

    /// The weight of a place's columns in this unit.
    #[must_use]
    pub fn of(self, w: &[u128; COLUMNS]) -> u128 {
        self.columns()
            .iter()
            .fold(0u128, |a, c| a.saturating_add(w[c.index()]))
    }
}

/// Counters of a run that are not per place.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counters {
    /// Lines read from all inputs.
    pub lines: u64,
    /// Blank lines, `#` comments and CSV header lines.
    pub skipped: u64,
    /// Records that parsed as an address or a prefix.
    pub parsed: u64,
    /// Parsed records of a family left out by `--family`.
    pub excluded: u64,
    /// Invalid records, by reason.
    pub invalid: [u64; InvalidReason::ALL.len()],
    /// Parsed records by family (addresses and prefixes), indexed by [`Family::index`].
    pub records: [u64; 2],
    /// Parsed prefixes (CIDR records, or the whole address space) by family.
    pub prefixes: [u64; 2],
    /// Weight not located, by weight column ([`Column::index`]) and reason (exact, as weights
    /// can exceed 2^64).
    pub not_found: [[u128; NotFound::ALL.len()]; COLUMNS],
    /// Inputs that ended in damage (a truncated or corrupt compressed stream) and were
    /// counted up to it under `--keep-going`.
    pub truncated_inputs: u64,
    /// The sum of the counted records' weights (`--weight-column`; 0 when unweighted).
    pub weight: u128,
}

impl Counters {
    /// Total invalid records.
    #[must_use]
    pub fn invalid_total(&self) -> u64 {
        self.invalid.iter().sum()
    }

    /// Weight not located in one weight column.
    #[must_use]
    pub fn not_found_total(&self, column: Column) -> u128 {
        self.not_found[column.index()]
            .iter()
            .fold(0, |a, b| a.saturating_add(*b))
    }

    /// Weight not located in one unit, by reason.
    #[must_use]
    pub fn not_found_unit(&self, unit: Unit) -> [u128; NotFound::ALL.len()] {
        let mut out = [0u128; NotFound::ALL.len()];
        for c in unit.columns() {
            for (o, n) in out.iter_mut().zip(self.not_found[c.index()]) {
                *o = o.saturating_add(n);
            }
        }
        out
    }

    /// Adds another run's counters; on overflow, names the counter that would wrap (the
    /// counters are then not usable).
    fn add(&mut self, other: &Counters) -> std::result::Result<(), &'static str> {
        fn add<T: num::CheckedAdd>(
            a: &mut T,
            b: T,
            name: &'static str,
        ) -> std::result::Result<(), &'static str> {
            *a = a.checked(b).ok_or(name)?;
            Ok(())
        }
        add(&mut self.lines, other.lines, "lines")?;
        add(&mut self.skipped, other.skipped, "skipped")?;
        add(&mut self.parsed, other.parsed, "parsed")?;
        add(&mut self.excluded, other.excluded, "excluded")?;
        add(
            &mut self.truncated_inputs,
            other.truncated_inputs,
            "truncated_inputs",
        )?;
        for (a, b) in self.invalid.iter_mut().zip(other.invalid) {
            add(a, b, "invalid")?;
        }
        for f in 0..Family::ALL.len() {
            add(&mut self.records[f], other.records[f], "records")?;
            add(&mut self.prefixes[f], other.prefixes[f], "prefixes")?;
        }
        for c in 0..COLUMNS {
            for (a, b) in self.not_found[c].iter_mut().zip(other.not_found[c]) {
                add(a, b, "not_found")?;
            }
        }
        add(&mut self.weight, other.weight, "weight")?;
        Ok(())
    }
}

/// Located weights of one column or unit, derived from the places.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Located {
    /// Weight with a record in the database.
    pub found: u128,
    /// Of which with a country.
    pub with_country: u128,
    /// Of which with coordinates.
    pub with_coords: u128,
    /// Of which with a record but neither country nor coordinates.
    pub without_location: u128,
    /// Of which whose country came from `registered_country`.
    pub country_from_registered: u128,
}

/// The hash [`Tally::slot`] files a slot's place under (a slot past the places, which the
/// index never holds, hashes as 0).
fn slot_hash(places: &[Place], slot: u32) -> u64 {
    places.get(slot as usize).map_or(0, Tally::place_hash)
}

/// The aggregate of a run: counters, and weights per place and weight column.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Per-run counters.
    pub counters: Counters,
    places: Vec<Place>,
    weights: Vec<[u128; COLUMNS]>,
    /// Each place's slot, found by the place's key: the table holds slots only (4 bytes
    /// each), the keys are made from `places` when compared or rehashed.
    index: hashbrown::HashTable<u32>,
    /// The first counter or weight whose addition overflowed (see [`Tally::checked`]).
    overflow: Option<&'static str>,
    /// Lines not read as addresses whose first field, cut at a tab (0) or a comma (1), is
    /// one: the input is probably a table read without `--column`. Not saved in tally files.
    pub separated_addresses: [u64; 2],
    /// The weight column records were counted by (`column 2`, or its header name), when
    /// records were weighted: every count is then a sum of weights ("weighted addresses").
    pub weight: Option<String>,
    /// What the tally keeps of each place (set when it is made; merging a coarse tally in
    /// makes it coarse).
    detail: PlaceDetail,
}

impl Tally {
    /// An empty tally.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tally that keeps `detail` of each place.
    #[must_use]
    pub fn with_detail(detail: PlaceDetail) -> Self {
        Tally {
            detail,
            ..Self::default()
        }
    }

    /// What the tally keeps of each place.
    #[must_use]
    pub fn detail(&self) -> PlaceDetail {
        self.detail
    }

    /// Keeps only the country and coordinates of each place from now on: places that
    /// differ only in the rest become one, their weights added.
    pub fn coarsen(&mut self) {
        if self.detail == PlaceDetail::Coarse {
            return;
        }
        self.detail = PlaceDetail::Coarse;
        let places = std::mem::take(&mut self.places);
        let weights = std::mem::take(&mut self.weights);
        self.index.clear();
        for (place, w) in places.into_iter().zip(weights) {
            self.add_weights(place, &w);
        }
    }

    /// Adds a place's weights in every column (the place filed as [`Tally::slot`] files
    /// it).
    fn add_weights(&mut self, place: Place, weights: &[u128; COLUMNS]) {
        let slot = self.slot(place);
        for (c, n) in Column::ALL.into_iter().zip(weights) {
            self.add(slot, c, *n);
        }
    }

    /// What counts in `unit` are called in this tally: [`Unit::label_of`], weighted when
    /// its records were.
    #[must_use]
    pub fn unit_label(&self, unit: Unit) -> &'static str {
        unit.label_of(self.weight.is_some())
    }

    /// [`Unit::noun_of`] for this tally.
    #[must_use]
    pub fn unit_noun(&self, unit: Unit, n: u128) -> &'static str {
        unit.noun_of(n, self.weight.is_some())
    }

    /// Makes room for `additional` more places.
    pub fn reserve(&mut self, additional: usize) {
        let places = &self.places;
        self.index
            .reserve(additional, |slot| slot_hash(places, *slot));
        self.places.reserve(additional);
        self.weights.reserve(additional);
    }

    /// The slot of a place (of what the tally keeps of it: see [`Tally::detail`]), adding
    /// it if new.
    pub fn slot(&mut self, place: Place) -> u32 {
        let place = self.detail.keep(place);
        self.slot_hashed(place, Tally::place_hash(&place))
    }

    /// What [`Tally::slot_hashed`] wants with a place: its hash, which callers may work out
    /// ahead (on other threads) of the slot.
    #[must_use]
    pub fn place_hash(place: &Place) -> u64 {
        FxBuildHasher.hash_one(place.key())
    }

    /// [`Tally::slot`] of a place whose [`Tally::place_hash`] is `hash`: a place as the
    /// tally keeps it ([`PlaceDetail::keep`] of [`Tally::detail`]).
    pub fn slot_hashed(&mut self, place: Place, hash: u64) -> u32 {
        debug_assert!(
            self.detail.keep(place).key() == place.key(),
            "a place the tally does not keep"
        );
        let key = place.key();
        let places = &self.places;
        let entry = self.index.entry(
            hash,
            |slot| places.get(*slot as usize).map(Place::key) == Some(key),
            |slot| slot_hash(places, *slot),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(known) => *known.get(),
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                let next = self.places.len() as u32;
                vacant.insert(next);
                self.places.push(place);
                self.weights.push([0; COLUMNS]);
                next
            }
        }
    }

    /// The place of a slot returned by [`Tally::slot`].
    #[must_use]
    pub fn place(&self, slot: u32) -> Option<&Place> {
        self.places.get(slot as usize)
    }

    /// Adds weight to a slot returned by [`Tally::slot`], in a weight column (see
    /// [`Column::of`]). Additions are checked: an overflow is recorded and reported by
    /// [`Tally::checked`], never wrapped.
    #[inline]
    pub fn add(&mut self, slot: u32, column: Column, weight: u128) {
        let w = &mut self.weights[slot as usize][column.index()];
        match w.checked_add(weight) {
            Some(sum) => *w = sum,
            None => self.note_overflow("place weight"),
        }
    }

    /// Adds weight to a not-found counter of a weight column, checked like [`Tally::add`].
    pub fn add_not_found(&mut self, column: Column, reason: NotFound, weight: u128) {
        let c = &mut self.counters.not_found[column.index()][reason.index()];
        match c.checked_add(weight) {
            Some(sum) => *c = sum,
            None => self.note_overflow("not_found"),
        }
    }

    fn note_overflow(&mut self, what: &'static str) {
        self.overflow.get_or_insert(what);
    }

    /// Adds another tally into this one (checked: see [`Tally::checked`]).
    pub fn merge(&mut self, other: &Tally) {
        for (a, b) in self
            .separated_addresses
            .iter_mut()
            .zip(other.separated_addresses)
        {
            *a = a.saturating_add(b);
        }
        if let Some(what) = other.overflow {
            self.note_overflow(what);
        }
        if self.weight.is_none() {
            self.weight.clone_from(&other.weight);
        }
        if let Err(what) = self.counters.add(&other.counters) {
            self.note_overflow(what);
        }
        if other.detail == PlaceDetail::Coarse {
            self.coarsen();
        }
        for (place, w) in other.places.iter().zip(&other.weights) {
            self.add_weights(*place, w);
        }
    }

    /// The tally, or an error naming the counter whose addition overflowed: counts never
    /// wrap or saturate silently.
    pub fn checked(self) -> Result<Self> {
        match self.overflow {
            None => Ok(self),
            Some(what) => Err(Error::Overflow(format!(
                "the {what} count does not fit in its counter (an addition overflowed); nothing was written"
            ))),
        }
    }

    /// Places and their weights per column (`[IPv4 addresses, IPv6 addresses, IPv6 /64
    /// subnets]`), in a stable order.
    #[must_use]
    pub fn places(&self) -> Vec<(Place, [u128; COLUMNS])> {
        let mut v: Vec<(Place, [u128; COLUMNS])> = self
            .places
            .iter()
            .copied()
            .zip(self.weights.iter().copied())
            .filter(|(_, w)| w.iter().any(|n| *n > 0))
            .collect();
        v.sort_by(|a, b| place_order(&a.0, &b.0));
        v
    }

    /// A tally of the places `keep` accepts, with their weights (counters are not
    /// copied). `keep` sees each place with weight once, in a stable order.
    #[must_use]
    pub fn filtered(&self, mut keep: impl FnMut(&Place, &[u128; COLUMNS]) -> bool) -> Tally {
        let mut out = Tally {
            weight: self.weight.clone(),
            ..Tally::with_detail(self.detail)
        };
        for (place, w) in self.places() {
            if keep(&place, &w) {
                out.add_weights(place, &w);
            }
        }
        out
    }

    /// Located weights of one weight column.
    #[must_use]
    pub fn located(&self, column: Column) -> Located {
        self.located_by(|w| w[column.index()])
    }

    /// Located weights in one unit.
    #[must_use]
    pub fn located_unit(&self, unit: Unit) -> Located {
        self.located_by(|w| unit.of(w))
    }

    /// Whether the run counted anything (located or not) in a unit.
    #[must_use]
    pub fn has(&self, unit: Unit) -> bool {
        // Found weight is a sum of weights: positive when any one is (no full sum needed).
        self.weights.iter().any(|w| unit.of(w) > 0)
            || self.counters.not_found_unit(unit).iter().any(|n| *n > 0)
    }

    /// The units this tally counted anything in (addresses first); empty for an empty run.
    #[must_use]
    pub fn units(&self) -> Vec<Unit> {
        Unit::ALL.into_iter().filter(|u| self.has(*u)).collect()
    }

    fn located_by(&self, weight: impl Fn(&[u128; COLUMNS]) -> u128) -> Located {
        let mut l = Located::default();
        for (place, w) in self.places.iter().zip(&self.weights) {
            let w = weight(w);
            l.found = l.found.saturating_add(w);
            if place.country.is_some() {
                l.with_country = l.with_country.saturating_add(w);
                if place.country_source == CountrySource::Registered {
                    l.country_from_registered = l.country_from_registered.saturating_add(w);
                }
            }
            if place.coords().is_some() {
                l.with_coords = l.with_coords.saturating_add(w);
            }
            if place.country.is_none() && place.coords().is_none() {
                l.without_location = l.without_location.saturating_add(w);
            }
        }
        l
    }

    /// Weight per country in one unit, by count descending, then code.
    #[must_use]
    pub fn countries(&self, unit: Unit) -> Vec<(CountryCode, u128)> {
        let mut by: FxHashMap<CountryCode, u128> = FxHashMap::default();
        for (place, w) in self.places.iter().zip(&self.weights) {
            if let Some(c) = place.country {
                let e = by.entry(c).or_default();
                *e = e.saturating_add(unit.of(w));
            }
        }
        let mut v: Vec<(CountryCode, u128)> = by.into_iter().filter(|(_, n)| *n > 0).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// Located weight in one unit whose record gave a pseudo-code instead of a country
    /// (`EU`, `A1`, `ZZ`, ...), by code.
    #[must_use]
    pub fn pseudo_countries(&self, unit: Unit) -> BTreeMap<CountryCode, u128> {
        let mut by = BTreeMap::new();
        for (place, w) in self.places.iter().zip(&self.weights) {
            if let Some(code) = place.pseudo_country {
                let n = unit.of(w);
                if n > 0 {
                    let e = by.entry(code).or_insert(0u128);
                    *e = e.saturating_add(n);
                }
            }
        }
        by
    }

    /// Weight per non-empty grid cell in one unit, ordered by row then column.
    #[must_use]
    pub fn cells(&self, grid: &CellGrid, unit: Unit) -> BTreeMap<(u32, u32), u128> {
        // Summed in a hash map and ordered once at the end: a tree insert per place costs
        // more than the rest of it on a large tally.
        let mut cells: FxHashMap<(u32, u32), u128> = FxHashMap::default();
        for (place, w) in self.places.iter().zip(&self.weights) {
            let total = unit.of(w);
            if let (true, Some((lat, lon))) = (total > 0, place.coords()) {
                let e = cells.entry(grid.cell(lat, lon)).or_insert(0u128);
                *e = e.saturating_add(total);
            }
        }
        cells.into_iter().collect()
    }
}

impl Tally {
    /// Weight per H3 cell at a resolution (0 to 15) in one unit, ordered by index.
    #[must_use]
    pub fn hex_cells(
        &self,
        resolution: h3o::Resolution,
        unit: Unit,
    ) -> BTreeMap<h3o::CellIndex, u128> {
        let mut cells = BTreeMap::new();
        for (place, w) in self.places.iter().zip(&self.weights) {
            let total = unit.of(w);
            let Some((lat, lon)) = place.coords() else {
                continue;
            };
            let Ok(ll) = h3o::LatLng::new(lat, lon) else {
                continue;
            };
            if total > 0 {
                let e = cells.entry(ll.to_cell(resolution)).or_insert(0u128);
                *e = e.saturating_add(total);
            }
        }
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locate::DatabaseInfo;

    fn place(cc: &str, lat: f64, lon: f64) -> Place {
        Place {
            country: CountryCode::parse(cc),
            lat: Some(lat),
            lon: Some(lon),
            ..Place::EMPTY
        }
    }

    #[test]
    fn cells_are_half_open_and_clamped_at_the_edges() {
        let g = CellGrid::new(1.0).unwrap();
        assert_eq!(g.cell(-90.0, -180.0), (0, 0));
        assert_eq!(g.cell(90.0, 180.0), (179, 359));
        assert_eq!(g.cell(0.0, 0.0), (90, 180));
        assert_eq!(g.cell(-0.5, -0.5), (89, 179));
        assert_eq!(g.cell(37.751, -97.822), (127, 82));
        let fine = CellGrid::new(0.1).unwrap();
        assert_eq!(fine.cell(-89.9, 0.0).0, 1);
        assert_eq!(fine.cell(90.0, 0.0).0, 1799);
        let odd = CellGrid::new(7.0).unwrap();
        assert_eq!(odd.cell(90.0, 180.0), (25, 51));
        assert_eq!(odd.bounds(25, 51), (85.0, 177.0, 90.0, 180.0));
        assert!(CellGrid::new(0.001).is_err());
        assert!(CellGrid::new(f64::NAN).is_err());
    }

    #[test]
    fn bytes_round_trip_exactly_and_are_small() {
        let mut t = Tally::new();
        for i in 0..2000 {
            let (lat, lon) = (f64::from(i % 170) - 84.9, f64::from(i) * 0.17 - 179.9);
            let s = t.slot(place("US", lat, lon));
            t.add(s, Column::Ipv4, u128::from(i as u32) * 7 + 1);
            t.add(s, Column::Subnets64, u128::MAX / 3);
        }
        t.counters.lines = 99;
        let info = |kind: &str| DatabaseInfo {
            path: "x.mmdb".into(),
            database_type: kind.into(),
            build_epoch: 1,
            build_date: "1970-01-01".into(),
            ip_version: 6,
            schema: "nested".into(),
            attribution: None,
            date_from: None,
        };
        let bytes = t.to_bytes(vec![info("A")]);
        let mut json = Vec::new();
        t.write(vec![info("A")], &mut json).unwrap();
        assert!(
            bytes.len() * 3 < json.len(),
            "{} vs {}",
            bytes.len(),
            json.len()
        );
        let (back, dbs) = Tally::from_bytes(&bytes).unwrap();
        let mut again = Vec::new();
        back.write(dbs.clone(), &mut again).unwrap();
        assert_eq!(again, json);
        // The JSON text reads too; damage is an error, never a panic.
        assert_eq!(Tally::from_bytes(&json).unwrap().0.counters, t.counters);
        let cut = &bytes[..bytes.len() / 2];
        assert_eq!(
            Tally::from_bytes(cut).unwrap_err().kind(),
            crate::ErrorKind::Tally
        );

        // Merging: exact, and other data refused unless allowed.
        let mut m = Merge::new(false);
        m.add(&t, &dbs).unwrap();
        m.add(&back, &dbs).unwrap();
        let err = m.add(&t, &[info("B")]).unwrap_err();
        assert_eq!(err.first, "A built 1970-01-01");
        let (sum, names) = m.finish().unwrap();
        assert_eq!(sum.counters.lines, 198);
        assert_eq!(names.len(), 1);
        let mut mixed = Merge::new(true);
        mixed.add(&t, &dbs).unwrap();
        mixed.add(&t, &[info("B")]).unwrap();
        assert_eq!(mixed.finish().unwrap().1.len(), 2);
    }

    #[test]
    fn a_coarse_tally_keeps_country_and_coordinates_and_stays_coarse() {
        let named = |city: &str, radius: u32| {
            Place {
                accuracy_radius: Some(radius),
                ..place("NL", 52.0, 5.0)
            }
            .with_names(None, crate::locate::Name::new(city))
        };
        let mut full = Tally::new();
        for (city, radius, n) in [("Ede", 10, 1), ("Epe", 20, 2), ("Ede", 10, 4)] {
            let s = full.slot(named(city, radius));
            full.add(s, Column::Ipv4, n);
        }
        let s = full.slot(place("DE", 51.0, 9.0));
        full.add(s, Column::Ipv6, 8);
        assert_eq!(full.places().len(), 3);
        assert_eq!(full.detail(), PlaceDetail::Full);

        let mut coarse = Tally::with_detail(PlaceDetail::Coarse);
        coarse.merge(&full);
        let expected = vec![
            (place("DE", 51.0, 9.0), [0, 8, 0]),
            (place("NL", 52.0, 5.0), [7, 0, 0]),
        ];
        assert_eq!(coarse.places(), expected);
        for unit in [Unit::Addresses, Unit::Subnets64] {
            assert_eq!(coarse.countries(unit), full.countries(unit));
            assert_eq!(coarse.located_unit(unit), full.located_unit(unit));
        }
        assert!(coarse.cities(Unit::Addresses).is_empty());

        // A coarse tally merged in makes the whole coarse: a count is never split between
        // a place with a city and the same place without.
        let mut merged = full.clone();
        merged.merge(&coarse);
        assert_eq!(merged.detail(), PlaceDetail::Coarse);
        let doubled: Vec<_> = expected
            .iter()
            .map(|(p, w)| (*p, w.map(|n| 2 * n)))
            .collect();
        assert_eq!(merged.places(), doubled);

        // The file and binary forms say so, and read back as they were.
        let mut text = Vec::new();
        coarse.write(Vec::new(), &mut text).unwrap();
        assert!(String::from_utf8_lossy(&text).contains("\"detail\":\"coarse\""));
        let (back, _) = Tally::from_json("memory", &text).unwrap();
        assert_eq!(back.detail(), PlaceDetail::Coarse);
        assert_eq!(back.places(), expected);
        let (back, _) = Tally::from_bytes(&coarse.to_bytes(Vec::new())).unwrap();
        assert_eq!(back.detail(), PlaceDetail::Coarse);
        let mut text = Vec::new();
        full.write(Vec::new(), &mut text).unwrap();
        assert!(!String::from_utf8_lossy(&text).contains("detail"));
        let (back, _) = Tally::from_bytes(&full.to_bytes(Vec::new())).unwrap();
        assert_eq!((back.detail(), back.places().len()), (PlaceDetail::Full, 3));
    }

    #[test]
    fn a_city_row_is_the_same_whatever_order_its_places_come_in() {
        let city = |lat: f64| {
            place("NL", lat, 6.0).with_names(
                crate::locate::Subdivision::new(Some("LI"), None),
                crate::locate::Name::new("Palemig"),
            )
        };
        let rows = |lats: &[f64]| {
            let mut t = Tally::new();
            for &lat in lats {
                let s = t.slot(city(lat));
                t.add(s, Column::Ipv4, 5);
            }
            t.cities(Unit::Addresses)
                .iter()
                .map(|c| (c.count, c.coords))
                .collect::<Vec<_>>()
        };
        // Equal weights: the row takes the least coordinates, not the first place counted.
        let first = rows(&[50.9, 50.8, 51.0]);
        assert_eq!(first, vec![(15, Some((50.8, 6.0)))]);
        assert_eq!(rows(&[51.0, 50.9, 50.8]), first);
        assert_eq!(rows(&[50.8, 51.0, 50.9]), first);
    }

    #[test]
    fn merge_adds_weights_and_counters() {
        let mut a = Tally::new();
        let s = a.slot(place("US", 37.751, -97.822));
        a.add(s, Column::Ipv4, 3);
        a.counters.lines = 5;
        let mut b = Tally::new();
        let s = b.slot(place("DE", 51.0, 9.0));
        b.add(s, Column::Ipv6, 2);
        let s = b.slot(place("US", 37.751, -97.822));
        b.add(s, Column::Ipv4, 1);
        b.counters.lines = 7;
        a.merge(&b);
        assert_eq!(a.counters.lines, 12);
        let names: Vec<(String, u128)> = a
            .countries(Unit::Addresses)
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect();
        assert_eq!(names, vec![("US".to_string(), 4), ("DE".to_string(), 2)]);
        assert_eq!(a.located(Column::Ipv4).found, 4);
        assert_eq!(a.located(Column::Ipv6).with_coords, 2);
    }

    #[test]
    fn tally_files_round_trip_and_refuse_other_versions() {
        let mut t = Tally::new();
        let s = t.slot(place("FR", 48.85, 2.35));
        t.add(s, Column::Ipv4, 10);
        t.counters.invalid[InvalidReason::BadIpv4.index()] = 2;
        t.counters.not_found[Column::Ipv6.index()][NotFound::Reserved.index()] = 1;
        let json = serde_json::to_vec(&t.to_file(vec![])).unwrap();
        let (back, _) = Tally::from_json("t", &json).unwrap();
        assert_eq!(back.counters, t.counters);
        assert_eq!(back.places(), t.places());
        let newer = String::from_utf8(json)
            .unwrap()
            .replace("\"version\":2", "\"version\":99");
        let err = Tally::from_json("t", newer.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("version 99"), "{err}");
        assert!(Tally::from_json("t", b"{\"format\":\"x\"}").is_err());
        let v1 = |prefixes: u32, records: u32| {
            format!(
                r#"{{"format":"ipatlas-tally","version":1,"generator":"g","databases":[],
                "counters":{{"lines":1,"skipped":0,"parsed":1,"invalid_reasons":{{}},
                "ipv4_records":0,"ipv6_records":{records},"ipv4_prefixes":0,"ipv6_prefixes":{prefixes},
                "ipv4_not_found":{{}},"ipv6_not_found":{{"reserved":3}}}},
                "places":[{{"country":"FR","lat":null,"lon":null,"accuracy_radius":null,"ipv4":0,"ipv6":7}}]}}"#
            )
        };
        // Version 1 put /64 subnets in the ipv6 column when the run had IPv6 prefixes.
        let (subnets, _) = Tally::from_json("t", v1(1, 1).as_bytes()).unwrap();
        assert_eq!(subnets.located(Column::Subnets64).found, 7);
        assert_eq!(subnets.located(Column::Ipv6).found, 0);
        assert_eq!(subnets.counters.not_found_total(Column::Subnets64), 3);
        let (addresses, _) = Tally::from_json("t", v1(0, 2).as_bytes()).unwrap();
        assert_eq!(addresses.located_unit(Unit::Addresses).found, 7);
        let mixed = Tally::from_json("t", v1(1, 2).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(mixed.contains("cannot be taken apart"), "{mixed}");
        assert!(Tally::from_json("t", &b"{\"format\":\"ipatlas-tally\",\"ver"[..]).is_err());
    }
}
