//! Writing a [`Source`]: as an `.mmdb` (GeoLite2-shaped records) and as GeoLite2-style CSV;
//! and reading any opened `.mmdb` back into a `Source`.

use super::mmdb;
use super::{DataDate, Problem, Record, Source};
use crate::error::{Error, Result};
use crate::locate::{CountryFallback, Database};
use crate::util::{block_last, cidr_blocks};
use maxminddb::WithinOptions;
use rustc_hash::FxHashMap;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Writes a record GeoLite2-shaped: `country.iso_code`, `registered_country.iso_code`,
/// `location.{latitude,longitude,accuracy_radius}`, `city.names.en`,
/// `subdivisions[0].{iso_code,names.en}` (each only when known).
fn write_record(data: &mut mmdb::Data, record: &Record) {
    // `{"iso_code": code}`, shared by every record of the country.
    let code_map = |code: &crate::locate::CountryCode| {
        let mut d = mmdb::Data::default();
        d.map(1);
        d.plain_str("iso_code");
        d.plain_str(code.as_str());
        d.bytes
    };
    let n = usize::from(record.country.is_some())
        + usize::from(record.registered.is_some())
        + usize::from(record.coords.is_some())
        + usize::from(record.city.is_some())
        + usize::from(record.subdivision.is_some());
    data.map(n);
    // Keys in sorted order, as readers expect nothing else but tools diff nicer.
    if let Some(city) = &record.city {
        data.str("city");
        let mut d = mmdb::Data::default();
        d.map(1);
        d.plain_str("names");
        d.map(1);
        d.plain_str("en");
        d.plain_str(city);
        data.shared(d.bytes);
    }
    if let Some(c) = &record.country {
        data.str("country");
        data.shared(code_map(c));
    }
    if let Some((lat, lon)) = record.coords {
        data.str("location");
        data.map(2 + usize::from(record.accuracy_radius.is_some()));
        if let Some(r) = record.accuracy_radius {
            data.str("accuracy_radius");
            // uint16 as MaxMind writes it; wider radii are kept as uint32, not dropped.
            match u16::try_from(r) {
                Ok(small) => data.u16(small),
                Err(_) => data.u32(r),
            }
        }
        data.str("latitude");
        data.double(lat);
        data.str("longitude");
        data.double(lon);
    }
    if let Some(c) = &record.registered {
        data.str("registered_country");
        data.shared(code_map(c));
    }
    if let Some((code, name)) = &record.subdivision {
        data.str("subdivisions");
        let mut d = mmdb::Data::default();
        d.array(1);
        d.map(usize::from(code.is_some()) + usize::from(name.is_some()));
        if let Some(code) = code {
            d.plain_str("iso_code");
            d.plain_str(code);
        }
        if let Some(name) = name {
            d.plain_str("names");
            d.map(1);
            d.plain_str("en");
            d.plain_str(name);
        }
        data.shared(d.bytes);
    }
}

/// True when the IPv6 network `start/len` meets the IPv4 subtree of an IPv6 database
/// (`::/96`) or one of the networks MaxMind databases use as its aliases (`::ffff:0:0/96`,
/// `2002::/16`): addresses there are answered by the IPv4 data, and this writer installs
/// the aliases itself.
fn aliased(start: u128, len: u8) -> bool {
    mmdb::ipv4_answered_ranges()
        .iter()
        .any(|&(a, b)| start <= b && a <= block_last(start, len))
}

/// Builds an `.mmdb` from a source. `description` goes into the metadata (with the
/// source's name); `epoch` is the build time to record. IPv6 networks inside the IPv4
/// subtree or its aliases are skipped and counted as problems.
pub fn to_mmdb(source: &mut Source, description: &str, epoch: u64) -> Result<Vec<u8>> {
    let mut data = mmdb::Data::default();
    let mut offsets = Vec::with_capacity(source.records.len());
    for record in &source.records {
        offsets.push(data.offset());
        write_record(&mut data, record);
    }
    let mut v4 = Vec::with_capacity(source.v4.len());
    for &(first, last, rec) in &source.v4 {
        for (start, len) in cidr_blocks(u128::from(first), u128::from(last), 32) {
            v4.push((start as u32, len, rec));
        }
    }
    let mut v6 = Vec::with_capacity(source.v6.len());
    let mut skipped = Vec::new();
    for &(first, last, rec) in &source.v6 {
        for (start, len) in cidr_blocks(first, last, 128) {
            if aliased(start, len) {
                skipped.push(format!("{}/{len}", Ipv6Addr::from(start)));
            } else {
                v6.push((start, len, rec));
            }
        }
    }
    for net in skipped {
        source.problems.add("", 0, Problem::AliasedNetwork, &net);
    }
    let meta = mmdb::Metadata {
        database_type: &source.database_type,
        description,
        build_epoch: epoch,
    };
    mmdb::write(&v4, &v6, &data.bytes, &offsets, &meta)
        .map_err(|e| Error::database(&source.label, e))
}

/// Reads every network of an opened database into a source (IPv4 networks from the IPv4
/// view, IPv6 ones outside the IPv4 subtree and its aliases).
pub fn from_database(db: &Database) -> Result<Source> {
    let label = db.label().to_owned();
    let mut source = Source::new(label.clone(), db.metadata().database_type.clone());
    source.date = DataDate::day(db.metadata().build_epoch, "metadata");
    let mut ids: FxHashMap<usize, u32> = FxHashMap::default();
    let err = |e: maxminddb::MaxMindDbError| Error::database(&label, e);
    let mut roots = vec!["0.0.0.0/0"];
    if db.metadata().ip_version == 6 {
        roots.push("::/0");
    }
    for root in roots {
        let root = root
            .parse()
            .map_err(|_| Error::Internal("bad root network".into()))?;
        for item in db
            .reader()
            .within(root, WithinOptions::default())
            .map_err(err)?
        {
            let found = item.map_err(err)?;
            let Some(offset) = found.offset() else {
                continue;
            };
            let network = found.network().map_err(err)?;
            let network = if root.is_ipv4() {
                match crate::locate::ipv4_part(network) {
                    Some(n) => ipnetwork::IpNetwork::V4(n),
                    None => continue,
                }
            } else if network.is_ipv4() {
                continue;
            } else {
                network
            };
            if let ipnetwork::IpNetwork::V6(n) = network
                && aliased(u128::from(n.network()), n.prefix())
            {
                continue;
            }
            let rec = match ids.get(&offset) {
                Some(id) => *id,
                None => {
                    let place = db.decode_place(&found, CountryFallback::None)?;
                    let registered = db.decode_registered(&found)?;
                    // A pseudo-code is written back as the source gave it.
                    let id = source.intern(Record {
                        country: place.country.or(place.pseudo_country),
                        registered,
                        coords: place.coords(),
                        accuracy_radius: place.accuracy_radius,
                        city: place.city().map(|c| c.as_str().to_owned()),
                        subdivision: place.subdivision().map(|s| {
                            (
                                s.code.map(|c| c.as_str().to_owned()),
                                s.name.map(|n| n.as_str().to_owned()),
                            )
                        }),
                    });
                    ids.insert(offset, id);
                    id
                }
            };
            source.push_network(network, rec, (0, 0));
        }
    }
    source.settle();
    Ok(source)
}

/// The three files of a GeoLite2-style CSV export.
pub struct CsvOut<'a> {
    /// `network,geoname_id,registered_country_geoname_id,...` for IPv4 networks.
    pub blocks_v4: &'a mut dyn Write,
    /// The same for IPv6 networks (may be the same writer as `blocks_v4`: then it gets one
    /// header and both families).
    pub blocks_v6: Option<&'a mut dyn Write>,
    /// `geoname_id,locale_code,...,country_iso_code,...,city_name,...`.
    pub locations: &'a mut dyn Write,
}

const BLOCKS_HEADER: &str = "network,geoname_id,registered_country_geoname_id,\
represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider,postal_code,\
latitude,longitude,accuracy_radius\n";
const LOCATIONS_HEADER: &str = "geoname_id,locale_code,continent_code,continent_name,\
country_iso_code,country_name,subdivision_1_iso_code,subdivision_1_name,\
subdivision_2_iso_code,subdivision_2_name,city_name,metro_code,time_zone,\
is_in_european_union\n";

/// Writes a source as GeoLite2 CSV. Locations get ids of their own (1, 2, ...): one per
/// distinct country and city, and one per country alone for registered countries.
pub fn export_csv(source: &Source, out: CsvOut<'_>) -> std::io::Result<()> {
    type Subdivision = Option<(Option<String>, Option<String>)>;
    type Location = (Option<String>, Option<String>, Subdivision);
    let mut geonames: FxHashMap<Location, u64> = FxHashMap::default();
    let mut rows: Vec<Location> = Vec::new();
    let mut geoname =
        |country: Option<&str>, city: Option<&str>, sub: &Subdivision| -> Option<u64> {
            if country.is_none() && city.is_none() && sub.is_none() {
                return None;
            }
            let key = (
                country.map(str::to_owned),
                city.map(str::to_owned),
                sub.clone(),
            );
            Some(*geonames.entry(key.clone()).or_insert_with(|| {
                rows.push(key);
                rows.len() as u64
            }))
        };
    let ids: Vec<(Option<u64>, Option<u64>)> = source
        .records
        .iter()
        .map(|r| {
            (
                geoname(
                    r.country.as_ref().map(|c| c.as_str()),
                    r.city.as_deref(),
                    &r.subdivision,
                ),
                geoname(r.registered.as_ref().map(|c| c.as_str()), None, &None),
            )
        })
        .collect();
    let row = |net: String, rec: u32| -> String {
        let r = &source.records[rec as usize];
        let (place, registered) = ids[rec as usize];
        let id = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
        let (lat, lon) = r.coords.map_or((String::new(), String::new()), |(a, b)| {
            (a.to_string(), b.to_string())
        });
        let radius = r.accuracy_radius.map_or(String::new(), |v| v.to_string());
        format!(
            "{net},{},{},,0,0,,{lat},{lon},{radius}\n",
            id(place),
            id(registered)
        )
    };
    out.blocks_v4.write_all(BLOCKS_HEADER.as_bytes())?;
    for &(first, last, rec) in &source.v4 {
        for (start, len) in cidr_blocks(u128::from(first), u128::from(last), 32) {
            let net = format!("{}/{len}", Ipv4Addr::from(start as u32));
            out.blocks_v4.write_all(row(net, rec).as_bytes())?;
        }
    }
    let v6: &mut dyn Write = match out.blocks_v6 {
        Some(w) => {
            w.write_all(BLOCKS_HEADER.as_bytes())?;
            w
        }
        None => out.blocks_v4,
    };
    for &(first, last, rec) in &source.v6 {
        for (start, len) in cidr_blocks(first, last, 128) {
            let net = format!("{}/{len}", Ipv6Addr::from(start));
            v6.write_all(row(net, rec).as_bytes())?;
        }
    }
    out.locations.write_all(LOCATIONS_HEADER.as_bytes())?;
    let mut csv = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(&mut *out.locations);
    for (i, (country, city, sub)) in rows.iter().enumerate() {
        let id = (i + 1).to_string();
        let country = country.as_deref().unwrap_or("");
        let city = city.as_deref().unwrap_or("");
        let (sub_code, sub_name) = sub.as_ref().map_or(("", ""), |(c, n)| {
            (c.as_deref().unwrap_or(""), n.as_deref().unwrap_or(""))
        });
        csv.write_record([
            id.as_str(),
            "en",
            "",
            "",
            country,
            "",
            sub_code,
            sub_name,
            "",
            "",
            city,
            "",
            "",
            "0",
        ])
        .map_err(std::io::Error::other)?;
    }
    csv.flush()
}
