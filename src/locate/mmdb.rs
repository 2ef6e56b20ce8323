//! One opened MaxMind DB file: metadata, detected schema, and decoding a record into a `Place`.

use super::embedded;
use super::names::Name;
use super::place::{CountryCode, CountrySource, Place, Subdivision};
use super::schema::{FieldOverrides, FieldPath, Scalar, Schema};
use crate::error::{Error, Result};
use maxminddb::{PathElement, Reader, WithinOptions};
use serde::Serialize;
use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The bytes behind a reader: a file read into memory, or the embedded database.
///
/// Files are read, not memory-mapped: a database replaced or truncated while a run is in
/// progress cannot crash the run or change its answers half-way (a mapped file could).
/// Shared, so the database can fingerprint its own bytes after handing them to the reader.
#[derive(Clone)]
pub struct DbBytes(Arc<Cow<'static, [u8]>>);

impl DbBytes {
    /// Bytes to read a database from.
    pub(crate) fn from_cow(bytes: Arc<Cow<'static, [u8]>>) -> Self {
        DbBytes(bytes)
    }
}

impl AsRef<[u8]> for DbBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The result of one lookup or one network of an iteration.
pub(crate) type MmdbResult<'a> = maxminddb::LookupResult<'a, DbBytes>;

/// What to do when a record has no `country` but has a `registered_country`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum CountryFallback {
    /// Leave the country unknown (the default: `registered_country` is where the
    /// network is registered, not where it is used).
    #[default]
    None,
    /// Use `registered_country`.
    Registered,
}

/// A database's MaxMind DB metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// What the database holds, e.g. `GeoLite2-City`.
    pub database_type: String,
    /// Build time, seconds since the Unix epoch.
    pub build_epoch: u64,
    /// 4 or 6 (an IPv6 database usually holds IPv4 as well).
    pub ip_version: u16,
    /// Bits per search-tree record: 24, 28 or 32.
    pub record_size: u16,
    /// Nodes in the search tree.
    pub node_count: u32,
    /// Locales the names are given in.
    pub languages: Vec<String>,
    /// Description by language.
    pub description: std::collections::BTreeMap<String, String>,
}

/// Networks with data in a database, by family (see [`Database::network_counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkCounts {
    /// IPv4 networks (of an IPv6 database too: its IPv4 subtree).
    pub ipv4: u64,
    /// IPv6 networks.
    pub ipv6: u64,
}

/// An opened database and how to read places from it.
pub struct Database {
    label: String,
    reader: Reader<DbBytes>,
    metadata: Metadata,
    schema: Schema,
    /// The schema is one of the standard layouts, so records decode in one typed pass.
    typed: bool,
    /// Where the data section lies in `bytes`, for reading GeoIP2-shaped records directly
    /// ([`super::record`]); `None` for other layouts.
    data_section: Option<std::ops::Range<usize>>,
    /// A number no other database of this process has (keys what [`super::record`] keeps).
    id: u64,
    attribution: Option<&'static str>,
    size_bytes: u64,
    bytes: DbBytes,
    fingerprint: OnceLock<u128>,
    aliases: OnceLock<Vec<(u128, u8)>>,
    /// For a database converted in memory from CSV: its data's date as text (`2013-01-01`,
    /// `2012`, `unknown`) and where that came from.
    data_date: Option<(String, &'static str)>,
}

/// What summaries, tallies and `info` say about a database.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct DatabaseInfo {
    /// The file it was read from, or `embedded:...` for the built-in database.
    pub path: String,
    /// The metadata's `database_type`, e.g. `GeoLite2-City`.
    #[serde(rename = "type")]
    pub database_type: String,
    /// Build time, seconds since the Unix epoch.
    pub build_epoch: u64,
    /// Build date as `YYYY-MM-DD` (UTC).
    pub build_date: String,
    /// 4 or 6.
    pub ip_version: u16,
    /// Record layout used: `nested` or `flat`.
    pub schema: String,
    /// Licence attribution to repeat wherever results are shown, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attribution: Option<String>,
    /// Where `build_date` came from when it is not the `.mmdb` metadata's (a CSV
    /// database's: `file name`, `zip entry date`, `copyright line`, `file modification
    /// time`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub date_from: Option<String>,
}

impl DatabaseInfo {
    /// The database's name for people: the metadata's type, or the product's name for the
    /// embedded database (whose type reads `country ipvAll`).
    #[must_use]
    pub fn display_name(&self) -> &str {
        if self.path.starts_with(super::embedded::LABEL) {
            "DB-IP IP to Country Lite"
        } else {
            &self.database_type
        }
    }
}

impl Database {
    /// Opens a database file. Any problem (missing, truncated, corrupt, not an MMDB,
    /// unrecognised record layout) is one clear [`Error::Database`].
    pub fn open(path: &Path, overrides: &FieldOverrides) -> Result<Self> {
        let label = path.display().to_string();
        // Fingerprinted as it is read (cache keys need it; hashing afterwards would read
        // all of it from memory again, on one core).
        let (bytes, fingerprint) =
            crate::util::read_fingerprinted(path).map_err(|e| match e.kind() {
                // Missing, or not a file: the database named is wrong (exit 2). Anything else
                // (too many open files, an I/O error, no permission) is reading failing (exit 1).
                std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidInput => {
                    Error::database(&label, e)
                }
                _ => Error::Input {
                    path: format!("database {label}"),
                    source: e,
                },
            })?;
        let db = Self::from_bytes(label, DbBytes(Arc::new(Cow::Owned(bytes))), overrides)?;
        let _ = db.fingerprint.set(fingerprint);
        Ok(db)
    }

    /// Opens a database held in memory (a CSV database converted by [`crate::formats`]).
    pub fn from_memory(label: String, bytes: Vec<u8>, overrides: &FieldOverrides) -> Result<Self> {
        Self::from_bytes(label, DbBytes(Arc::new(Cow::Owned(bytes))), overrides)
    }

    /// Opens the database compiled into the binary (DB-IP IP to Country Lite).
    pub fn embedded(overrides: &FieldOverrides) -> Result<Self> {
        Self::from_bytes(
            embedded::LABEL.to_owned(),
            DbBytes(Arc::new(Cow::Borrowed(embedded::BYTES))),
            overrides,
        )
    }

    fn from_bytes(label: String, bytes: DbBytes, overrides: &FieldOverrides) -> Result<Self> {
        let size_bytes = bytes.as_ref().len() as u64;
        if bytes.as_ref().is_empty() {
            return Err(Error::database(&label, "the file is empty"));
        }
        let reader = Reader::from_source(bytes.clone()).map_err(|e| Error::database(&label, e))?;
        let meta = reader.metadata();
        if meta.ip_version != 4 && meta.ip_version != 6 {
            return Err(Error::database(
                &label,
                format!("unsupported ip_version {} in metadata", meta.ip_version),
            ));
        }
        let kind = detect_kind(&reader).map_err(|e| Error::database(&label, e))?;
        let mut schema = match kind {
            Some(kind) => Schema::of_kind(kind),
            None if !overrides.is_empty() => Schema::of_kind(super::SchemaKind::Flat),
            None => {
                return Err(Error::database(
                    &label,
                    format!(
                        "records of type {:?} hold no country or location fields; \
                         name them with --country-field, --lat-field and --lon-field",
                        meta.database_type
                    ),
                ));
            }
        };
        overrides.apply(&mut schema);
        let typed = overrides.is_empty() && schema == Schema::of_kind(schema.kind);
        let data_section = (typed && schema.kind == super::SchemaKind::Nested)
            .then(|| data_section(bytes.as_ref(), meta.node_count, meta.record_size))
            .flatten();
        static OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let attribution = embedded::attribution_for(&label, &meta.database_type);
        let metadata = Metadata {
            database_type: meta.database_type.clone(),
            build_epoch: meta.build_epoch,
            ip_version: meta.ip_version,
            record_size: meta.record_size,
            node_count: meta.node_count,
            languages: meta.languages.clone(),
            description: meta.description.clone().into_iter().collect(),
        };
        Ok(Database {
            label,
            metadata,
            reader,
            schema,
            typed,
            data_section,
            id: OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            attribution,
            size_bytes,
            bytes,
            fingerprint: OnceLock::new(),
            aliases: OnceLock::new(),
            data_date: None,
        })
    }

    /// The path (or embedded label) this database was opened from.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The MaxMind DB metadata.
    #[must_use]
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Counts the networks with data, by family (IPv4 networks of an IPv6 database count
    /// as IPv4; aliases of the IPv4 space are not counted twice). Walks the whole tree.
    pub fn network_counts(&self) -> Result<NetworkCounts> {
        let root: ipnetwork::IpNetwork = if self.metadata.ip_version == 6 {
            "::/0"
        } else {
            "0.0.0.0/0"
        }
        .parse()
        .map_err(|_| Error::Internal("bad root network".into()))?;
        let err = |e| Error::database(&self.label, e);
        let mut counts = NetworkCounts::default();
        for item in self
            .reader
            .within(root, maxminddb::WithinOptions::default())
            .map_err(err)?
        {
            match item.map_err(err)?.network().map_err(err)? {
                ipnetwork::IpNetwork::V4(_) => counts.ipv4 += 1,
                ipnetwork::IpNetwork::V6(_) => counts.ipv6 += 1,
            }
        }
        Ok(counts)
    }

    /// The schema in use (detected, then overridden).
    #[must_use]
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Size of the database file in bytes.
    #[must_use]
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// A 128-bit hash of the database's bytes ([`crate::util::fingerprint`]): worked out
    /// while a file is read, else on first use.
    #[must_use]
    pub fn fingerprint(&self) -> u128 {
        *self
            .fingerprint
            .get_or_init(|| crate::util::fingerprint(self.bytes.as_ref()))
    }

    /// The underlying reader.
    #[must_use]
    pub(crate) fn reader(&self) -> &Reader<DbBytes> {
        &self.reader
    }

    /// Which of the usual IPv4 alias prefixes (`::ffff:0:0/96`, Teredo `2001::/32`, 6to4
    /// `2002::/16`) this database really aliases to its IPv4 data: a walk that skips
    /// aliases finds nothing there, not even empty networks. A database with records of its
    /// own there (DB-IP has one for `2002::/16`) does not alias it.
    pub fn ipv4_aliases(&self) -> &[(u128, u8)] {
        self.aliases.get_or_init(|| {
            super::IPV4_ALIASED_V6
                .iter()
                .copied()
                .filter(|&(base, _)| base != 0)
                .filter(|&(base, len)| {
                    let Ok(net) = ipnetwork::Ipv6Network::new(base.into(), len) else {
                        return false;
                    };
                    let options =
                        maxminddb::WithinOptions::default().include_networks_without_data();
                    self.reader
                        .within(ipnetwork::IpNetwork::V6(net), options)
                        .is_ok_and(|mut it| it.next().is_none())
                })
                .collect()
        })
    }

    /// Licence attribution, when the database is one we recognise.
    #[must_use]
    pub fn attribution(&self) -> Option<&'static str> {
        self.attribution
    }

    /// Records the date of a database converted in memory from CSV data, and where it came
    /// from (the in-memory metadata holds only a number).
    pub fn set_data_date(&mut self, text: String, from: &'static str) {
        self.data_date = Some((text, from));
    }

    /// What outputs say about this database.
    #[must_use]
    pub fn info(&self) -> DatabaseInfo {
        let meta = self.metadata();
        let (build_date, date_from) = match &self.data_date {
            Some((text, from)) => (text.clone(), (!from.is_empty()).then(|| (*from).to_owned())),
            None => (crate::util::utc_date(meta.build_epoch), None),
        };
        DatabaseInfo {
            path: self.label.clone(),
            database_type: meta.database_type.clone(),
            build_epoch: meta.build_epoch,
            build_date,
            ip_version: meta.ip_version,
            schema: self.schema.kind.name().to_owned(),
            attribution: self.attribution.map(str::to_owned),
            date_from,
        }
    }

    /// Decodes the place a found record describes.
    pub(crate) fn decode_place(
        &self,
        found: &MmdbResult<'_>,
        fallback: CountryFallback,
    ) -> Result<Place> {
        match found
            .offset()
            .and_then(|offset| self.direct_place(offset, fallback))
        {
            Some(place) => Ok(place),
            None => self.decode_place_generally(found, fallback),
        }
    }

    /// [`decode_place`](Self::decode_place) of the record at `offset` in the data section
    /// through the direct reader, when it can read it.
    pub(crate) fn direct_place(&self, offset: usize, fallback: CountryFallback) -> Option<Place> {
        let fields = self.direct_fields(offset)?;
        let place = place_of(
            fields.country.code,
            fields.registered.territory,
            [fields.latitude, fields.longitude, fields.radius],
            fallback,
        );
        Some(place.with_names(fields.subdivision, fields.city))
    }

    /// [`decode_place`](Self::decode_place) through the general (serde) decoder.
    fn decode_place_generally(
        &self,
        found: &MmdbResult<'_>,
        fallback: CountryFallback,
    ) -> Result<Place> {
        let raw = if self.typed {
            self.raw_typed(found)?
        } else {
            self.raw_by_paths(found, fallback)?
        };
        let number = |v: &Option<Scalar>| v.as_ref().and_then(Scalar::as_f64);
        let place = place_of(
            raw.country
                .as_ref()
                .and_then(Scalar::as_text)
                .and_then(CountryCode::parse),
            raw.registered
                .as_ref()
                .and_then(Scalar::as_text)
                .and_then(CountryCode::territory),
            [number(&raw.lat), number(&raw.lon), number(&raw.radius)],
            fallback,
        );
        Ok(match raw.names {
            Some(names) => place.with_names(
                Subdivision::new(
                    names.subdivision_code.as_deref(),
                    names.subdivision_name.as_deref(),
                ),
                names.city.as_deref().and_then(Name::new),
            ),
            None => {
                let mut place = place;
                self.decode_names(found, &mut place);
                place
            }
        })
    }

    /// A GeoIP2-shaped record's fields read directly ([`super::record`]), when this
    /// database's layout allows and the record is as usual; `None` sends it to the general
    /// decoder.
    fn direct_fields(&self, offset: usize) -> Option<super::record::Fields> {
        thread_local! {
            static POINTED: std::cell::RefCell<super::record::Pointed> =
                std::cell::RefCell::default();
        }
        let data = self.bytes.as_ref().get(self.data_section.clone()?)?;
        POINTED.with(|p| super::record::nested(data, offset, p.borrow_mut().of(self.id)))
    }

    /// Checks that the direct reader gives what the general decoder gives for the records of
    /// the first `networks` networks (both country fallbacks): the count of records it read,
    /// or the first difference. For tests and the fuzz targets.
    #[doc(hidden)]
    pub fn check_direct_reader(&self, networks: usize) -> std::result::Result<usize, String> {
        let Ok(walk) = self.reader.networks(WithinOptions::default()) else {
            return Ok(0);
        };
        let mut read = 0;
        for item in walk.take(networks) {
            let Ok(found) = item else { break };
            for fallback in [CountryFallback::None, CountryFallback::Registered] {
                let Some(direct) = found
                    .offset()
                    .and_then(|offset| self.direct_place(offset, fallback))
                else {
                    continue;
                };
                read += 1;
                match self.decode_place_generally(&found, fallback) {
                    Ok(general) if general == direct => {}
                    other => {
                        return Err(format!(
                            "record at {:?}: directly {direct:?}, generally {other:?}",
                            found.offset()
                        ));
                    }
                }
            }
        }
        Ok(read)
    }

    /// The named parts of a place: the first subdivision's code and name and the city's
    /// name (GeoIP2: `subdivisions[0].iso_code`, `subdivisions[0].names.en`,
    /// `city.names.en`; flat: `state1`, `city`). A value of an unexpected type is no value:
    /// these never fail a record.
    fn decode_names(&self, found: &MmdbResult<'_>, place: &mut Place) {
        use PathElement::{Index, Key};
        let text = |path: &[PathElement<'_>]| -> Option<Name> {
            match found.decode_path::<Scalar>(path) {
                Ok(Some(Scalar::Text(t))) => Name::new(&t),
                _ => None,
            }
        };
        match self.schema.kind {
            super::SchemaKind::Nested => {
                let code = text(&[Key("subdivisions"), Index(0), Key("iso_code")]);
                let name = text(&[Key("subdivisions"), Index(0), Key("names"), Key("en")]);
                *place = place.with_names(
                    Subdivision::new(code.map(Name::as_str), name.map(Name::as_str)),
                    text(&[Key("city"), Key("names"), Key("en")]),
                );
            }
            super::SchemaKind::Flat => {
                let name = text(&[Key("state1")]);
                *place = place.with_names(
                    Subdivision::new(None, name.map(Name::as_str)),
                    text(&[Key("city")]),
                );
            }
        }
    }

    /// One serde pass over the record (standard layouts): unneeded fields are skipped.
    fn raw_typed<'a>(&self, found: &'a MmdbResult<'_>) -> Result<RawPlace<'a>> {
        let err = |e: maxminddb::MaxMindDbError| {
            Error::database(&self.label, format!("cannot decode a record: {e}"))
        };
        Ok(match self.schema.kind {
            super::SchemaKind::Nested => {
                // With the names in the same pass; a record whose names are of unexpected
                // types is read again without them (its names then go field by field).
                if let Ok(full) = found.decode::<NestedWithNames>() {
                    let Some(r) = full else {
                        return Ok(RawPlace::default());
                    };
                    let first = r.subdivisions.and_then(|s| s.0);
                    let (code, name) =
                        first.map_or((None, None), |s| (s.iso_code, s.names.and_then(|n| n.en)));
                    let names = RawNames {
                        subdivision_code: code.map(Cow::Borrowed),
                        subdivision_name: name.map(Cow::Borrowed),
                        city: r
                            .city
                            .and_then(|c| c.names)
                            .and_then(|n| n.en)
                            .map(Cow::Borrowed),
                    };
                    return Ok(nested_place(
                        r.country,
                        r.registered_country,
                        r.location,
                        Some(names),
                    ));
                }
                let Some(r) = found.decode::<NestedRecord>().map_err(err)? else {
                    return Ok(RawPlace::default());
                };
                nested_place(r.country, r.registered_country, r.location, None)
            }
            super::SchemaKind::Flat => {
                let Some(r) = found.decode::<FlatRecord>().map_err(err)? else {
                    return Ok(RawPlace::default());
                };
                RawPlace {
                    country: r.country_code,
                    registered: None,
                    lat: r.latitude,
                    lon: r.longitude,
                    radius: None,
                    names: Some(RawNames {
                        subdivision_code: None,
                        subdivision_name: owned_text(r.state1),
                        city: owned_text(r.city),
                    }),
                }
            }
        })
    }

    /// The registered country a record gives, for rewriting it (`build-db`, `export`).
    pub(crate) fn decode_registered(&self, found: &MmdbResult<'_>) -> Result<Option<CountryCode>> {
        let registered = match &self.schema.registered_country {
            Some(path) => self.scalar_at(found, path)?,
            None => None,
        };
        Ok(registered
            .as_ref()
            .and_then(Scalar::as_text)
            .and_then(CountryCode::parse))
    }

    /// Field by field along the (overridden) paths.
    fn raw_by_paths(
        &self,
        found: &MmdbResult<'_>,
        fallback: CountryFallback,
    ) -> Result<RawPlace<'static>> {
        let schema = &self.schema;
        let registered = match (&schema.registered_country, fallback) {
            (Some(path), CountryFallback::Registered) => self.scalar_at(found, path)?,
            _ => None,
        };
        let radius = match &schema.accuracy_radius {
            Some(path) => self.scalar_at(found, path)?,
            None => None,
        };
        Ok(RawPlace {
            country: self.scalar_at(found, &schema.country)?,
            registered,
            lat: self.scalar_at(found, &schema.lat)?,
            lon: self.scalar_at(found, &schema.lon)?,
            radius,
            names: None,
        })
    }

    fn scalar_at(&self, found: &MmdbResult<'_>, path: &FieldPath) -> Result<Option<Scalar>> {
        let elements: Vec<PathElement<'_>> = path
            .segments()
            .iter()
            .map(|s| PathElement::Key(s.as_str()))
            .collect();
        match found.decode_path::<Scalar>(&elements) {
            Ok(value) => Ok(value),
            Err(e) => Err(Error::database(
                &self.label,
                format!("cannot decode field {path}: {e}"),
            )),
        }
    }
}

/// The raw values a place is made of.
#[derive(Default)]
struct RawPlace<'a> {
    country: Option<Scalar>,
    registered: Option<Scalar>,
    lat: Option<Scalar>,
    lon: Option<Scalar>,
    radius: Option<Scalar>,
    /// The names, when the same pass read them.
    names: Option<RawNames<'a>>,
}

/// The raw values of a GeoIP2-shaped record's place, however it was read.
fn nested_place<'a>(
    country: Option<CodeField>,
    registered: Option<CodeField>,
    location: Option<LocationField>,
    names: Option<RawNames<'a>>,
) -> RawPlace<'a> {
    let loc = location.unwrap_or_default();
    RawPlace {
        country: country.and_then(|c| c.iso_code),
        registered: registered.and_then(|c| c.iso_code),
        lat: loc.latitude,
        lon: loc.longitude,
        radius: loc.accuracy_radius,
        names,
    }
}

/// A place's names as the record's bytes hold them.
struct RawNames<'a> {
    subdivision_code: Option<Cow<'a, str>>,
    subdivision_name: Option<Cow<'a, str>>,
    city: Option<Cow<'a, str>>,
}

/// A value's text, when it is a string.
fn owned_text(value: Option<Scalar>) -> Option<Cow<'static, str>> {
    match value {
        Some(Scalar::Text(t)) => Some(Cow::Owned(t)),
        _ => None,
    }
}

#[derive(serde::Deserialize)]
struct NestedWithNames<'a> {
    country: Option<CodeField>,
    registered_country: Option<CodeField>,
    location: Option<LocationField>,
    #[serde(borrow)]
    subdivisions: Option<FirstOf<SubdivisionField<'a>>>,
    #[serde(borrow)]
    city: Option<CityField<'a>>,
}

#[derive(serde::Deserialize)]
struct SubdivisionField<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
    #[serde(borrow)]
    names: Option<NamesField<'a>>,
}

#[derive(serde::Deserialize)]
struct CityField<'a> {
    #[serde(borrow)]
    names: Option<NamesField<'a>>,
}

#[derive(serde::Deserialize)]
struct NamesField<'a> {
    #[serde(borrow)]
    en: Option<&'a str>,
}

/// The first element of an array (the rest skipped, nothing collected).
struct FirstOf<T>(Option<T>);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for FirstOf<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = FirstOf<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let first = seq.next_element::<T>()?;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(FirstOf(first))
            }
        }
        d.deserialize_seq(Visit(std::marker::PhantomData))
    }
}

#[derive(serde::Deserialize)]
struct NestedRecord {
    country: Option<CodeField>,
    registered_country: Option<CodeField>,
    location: Option<LocationField>,
}

#[derive(serde::Deserialize)]
struct CodeField {
    iso_code: Option<Scalar>,
}

#[derive(serde::Deserialize, Default)]
struct LocationField {
    latitude: Option<Scalar>,
    longitude: Option<Scalar>,
    accuracy_radius: Option<Scalar>,
}

#[derive(serde::Deserialize)]
struct FlatRecord {
    country_code: Option<Scalar>,
    latitude: Option<Scalar>,
    longitude: Option<Scalar>,
    state1: Option<Scalar>,
    city: Option<Scalar>,
}

/// A place from a record's values: `given` (`country.iso_code` as a code), `registered`
/// (`registered_country.iso_code` as a territory), and latitude, longitude and accuracy
/// radius as numbers; out-of-range values are no values.
fn place_of(
    given: Option<CountryCode>,
    registered: Option<CountryCode>,
    [lat, lon, radius]: [Option<f64>; 3],
    fallback: CountryFallback,
) -> Place {
    let mut place = Place::EMPTY;
    place.country = given.filter(|c| !c.is_pseudo());
    if place.country.is_none() && fallback == CountryFallback::Registered {
        place.country = registered;
        if place.country.is_some() {
            place.country_source = CountrySource::Registered;
        }
    }
    if place.country.is_none() {
        place.pseudo_country = given.filter(CountryCode::is_pseudo);
    }
    if let (Some(lat), Some(lon)) = (lat, lon)
        && lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
    {
        place.lat = Some(lat);
        place.lon = Some(lon);
    }
    place.accuracy_radius = radius
        .filter(|r| r.is_finite() && *r >= 0.0 && *r <= f64::from(u32::MAX))
        .map(|r| r as u32);
    place
}

/// Where the data section of a database lies: after the search tree and its 16-byte
/// separator, up to the metadata marker (as the reader finds them; `None` if they do not
/// fit, which the reader has refused already).
fn data_section(bytes: &[u8], node_count: u32, record_size: u16) -> Option<std::ops::Range<usize>> {
    let tree = usize::try_from(node_count)
        .ok()?
        .checked_mul(usize::from(record_size))?
        / 4;
    let start = tree.checked_add(16)?;
    let end = memchr::memmem::rfind(bytes, b"\xAB\xCD\xEFMaxMind.com")?;
    (start <= end).then_some(start..end)
}

/// Reads the top-level keys of the first records to tell the layout apart.
fn detect_kind(reader: &Reader<DbBytes>) -> Result<Option<super::SchemaKind>, String> {
    use std::collections::BTreeMap;
    let meta = reader.metadata();
    // MaxMind's location databases (and what build-db writes from them) are nested; their
    // ASN, ISP, domain... databases are not location databases at all.
    let t = &meta.database_type;
    let hinted = ((t.contains("GeoIP2") || t.contains("GeoLite2") || t.contains("GeoLiteCity"))
        && (t.contains("City") || t.contains("Country") || t.contains("Enterprise")))
    .then_some(super::SchemaKind::Nested);
    let networks = reader
        .networks(WithinOptions::default())
        .map_err(|e| e.to_string())?;
    let mut seen_records = 0;
    for item in networks.take(64) {
        let found = item.map_err(|e| e.to_string())?;
        let Ok(Some(keys)) = found.decode::<BTreeMap<String, serde::de::IgnoredAny>>() else {
            continue;
        };
        // An empty record (a network known to exist, nothing known about it) says nothing
        // about the layout.
        if keys.is_empty() {
            continue;
        }
        seen_records += 1;
        if let Some(kind) = Schema::detect(keys.keys().map(String::as_str)) {
            return Ok(Some(kind));
        }
    }
    if seen_records == 0 {
        // An empty database, or one whose records are not maps: assume MaxMind's layout,
        // under which such records simply have no country and no location.
        return Ok(Some(hinted.unwrap_or(super::SchemaKind::Nested)));
    }
    // Map records, none with a location field (an ASN or ISP database, say), unless the
    // type says it is MaxMind's layout.
    Ok(hinted)
}
