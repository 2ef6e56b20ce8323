//! `--asn-db`: the network (autonomous system) of each address, from a GeoLite2-ASN-shaped
//! `.mmdb` (`autonomous_system_number`, `autonomous_system_organization`) or an
//! ip-location-db ASN CSV (`start,end,asn,organization`, addresses or decimal integers),
//! held as sorted ranges so that a prefix splits along them exactly.

use super::mmdb::{DatabaseInfo, DbBytes};
use super::names::Name;
use super::place::Network;
use crate::error::{Error, Result};
use maxminddb::{Reader, WithinOptions};
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

/// The ranges of an ASN database, by family: `(first, last, network index)`, sorted and
/// disjoint.
pub struct AsnTable {
    v4: Vec<(u32, u32, u32)>,
    v6: Vec<(u128, u128, u32)>,
    networks: Vec<Network>,
    info: DatabaseInfo,
    /// Rows of a CSV file that were not ranges with an AS number (line numbers, first few).
    skipped: Vec<u64>,
    skipped_count: u64,
}

#[derive(serde::Deserialize)]
struct AsnRecord {
    autonomous_system_number: Option<super::Scalar>,
    autonomous_system_organization: Option<super::Scalar>,
}

impl AsnRecord {
    /// The AS number, when it is a whole number that fits 32 bits.
    fn asn(&self) -> Option<u32> {
        let n = self.autonomous_system_number.as_ref()?.as_f64()?;
        (n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n)).then_some(n as u32)
    }
}

impl AsnTable {
    /// Opens an ASN database: a `.mmdb` file, else a CSV file.
    pub fn open(path: &Path) -> Result<AsnTable> {
        let label = path.display().to_string();
        let bytes = crate::util::read_file(path).map_err(|e| Error::database(&label, e))?;
        if bytes.is_empty() {
            return Err(Error::database(&label, "the file is empty"));
        }
        let is_mmdb = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("mmdb"));
        if is_mmdb {
            Self::from_mmdb(label, bytes)
        } else {
            Self::from_csv(label, &bytes)
        }
    }

    fn from_mmdb(label: String, bytes: Vec<u8>) -> Result<AsnTable> {
        let bytes = DbBytes::from_cow(Arc::new(Cow::Owned(bytes)));
        let reader = Reader::from_source(bytes).map_err(|e| Error::database(&label, e))?;
        let err = |e: maxminddb::MaxMindDbError| Error::database(&label, e);
        let meta = reader.metadata();
        let mut table = AsnTable::empty(DatabaseInfo {
            path: label.clone(),
            database_type: meta.database_type.clone(),
            build_epoch: meta.build_epoch,
            build_date: crate::util::utc_date(meta.build_epoch),
            ip_version: meta.ip_version,
            schema: "asn".to_owned(),
            attribution: super::embedded::attribution_for(&label, &meta.database_type)
                .map(str::to_owned),
            date_from: None,
        });
        let mut by_offset: FxHashMap<usize, Option<u32>> = FxHashMap::default();
        let mut by_network: FxHashMap<Network, u32> = FxHashMap::default();
        let mut any_record = false;
        for root in ["0.0.0.0/0", "::/0"] {
            let root: ipnetwork::IpNetwork = root
                .parse()
                .map_err(|_| Error::Internal("bad root network".into()))?;
            if root.is_ipv6() && meta.ip_version != 6 {
                continue;
            }
            for item in reader.within(root, WithinOptions::default()).map_err(err)? {
                let found = item.map_err(err)?;
                let Some(offset) = found.offset() else {
                    continue;
                };
                let network = found.network().map_err(err)?;
                let id = match by_offset.get(&offset) {
                    Some(id) => *id,
                    None => {
                        let record = found.decode::<AsnRecord>().map_err(|e| {
                            Error::database(
                                &label,
                                format!("not an ASN database (autonomous_system_number): {e}"),
                            )
                        })?;
                        any_record |= record.as_ref().is_some_and(|r| r.asn().is_some());
                        let id = record.and_then(|r| {
                            let network = Network {
                                asn: r.asn()?,
                                organization: r
                                    .autonomous_system_organization
                                    .as_ref()
                                    .and_then(super::Scalar::as_text)
                                    .and_then(Name::new),
                            };
                            Some(table.intern(&mut by_network, network))
                        });
                        by_offset.insert(offset, id);
                        id
                    }
                };
                let Some(id) = id else { continue };
                if root.is_ipv4() {
                    if let Some(n) = super::ipv4_part(network) {
                        table
                            .v4
                            .push((u32::from(n.network()), u32::from(n.broadcast()), id));
                    }
                } else if let ipnetwork::IpNetwork::V6(n) = network
                    && !super::in_ipv4_alias(n)
                {
                    let first = u128::from(n.network());
                    table
                        .v6
                        .push((first, crate::util::block_last(first, n.prefix()), id));
                }
            }
        }
        if !any_record && !by_offset.is_empty() {
            return Err(Error::database(
                &label,
                "no record has an autonomous_system_number: not an ASN database",
            ));
        }
        table.settle();
        Ok(table)
    }

    fn from_csv(label: String, bytes: &[u8]) -> Result<AsnTable> {
        let mut table = AsnTable::empty(DatabaseInfo {
            path: label.clone(),
            database_type: "ip-location-db-asn".to_owned(),
            build_epoch: 0,
            build_date: "unknown".to_owned(),
            ip_version: 6,
            schema: "asn".to_owned(),
            attribution: None,
            date_from: None,
        });
        let name_ipv6 = label.to_ascii_lowercase().contains("ipv6");
        let mut by_network: FxHashMap<Network, u32> = FxHashMap::default();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(Error::database(&label, e)),
            }
            let line = record.position().map_or(0, csv::Position::line);
            let field = |i: usize| {
                record
                    .get(i)
                    .map(|f| String::from_utf8_lossy(f).trim().to_owned())
                    .unwrap_or_default()
            };
            let start = crate::formats::range_end(&field(0), name_ipv6);
            let end = crate::formats::range_end(&field(1), name_ipv6);
            let asn = field(2).parse::<u32>().ok();
            let organization = record
                .get(3)
                .and_then(|f| Name::new(&String::from_utf8_lossy(f)));
            let (Some(start), Some(end), Some(asn)) = (start, end, asn) else {
                // A header line, or a row that is not a range with an AS number.
                if !(line == 1 && asn.is_none()) {
                    table.skip(line);
                }
                continue;
            };
            let id = table.intern(&mut by_network, Network { asn, organization });
            match (start, end) {
                (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => {
                    table.v4.push((u32::from(a), u32::from(b), id));
                }
                (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => {
                    table.v6.push((u128::from(a), u128::from(b), id));
                }
                _ => table.skip(line),
            }
        }
        if table.v4.is_empty() && table.v6.is_empty() {
            return Err(Error::database(
                &label,
                "no row is a range with an AS number (start,end,asn,organization)",
            ));
        }
        table.settle();
        Ok(table)
    }

    fn empty(info: DatabaseInfo) -> AsnTable {
        AsnTable {
            v4: Vec::new(),
            v6: Vec::new(),
            networks: Vec::new(),
            info,
            skipped: Vec::new(),
            skipped_count: 0,
        }
    }

    fn skip(&mut self, line: u64) {
        self.skipped_count += 1;
        if self.skipped.len() < 5 {
            self.skipped.push(line);
        }
    }

    fn intern(&mut self, by: &mut FxHashMap<Network, u32>, network: Network) -> u32 {
        *by.entry(network).or_insert_with(|| {
            self.networks.push(network);
            (self.networks.len() - 1) as u32
        })
    }

    /// Sorts the ranges and drops the overlapping parts of later ones (a CSV file may
    /// overlap itself; the first range read wins).
    fn settle(&mut self) {
        fn settle<T: Copy + Ord + num::One>(v: &mut Vec<(T, T, u32)>) {
            v.sort_by_key(|r| r.0);
            let mut out: Vec<(T, T, u32)> = Vec::with_capacity(v.len());
            for &(a, b, id) in v.iter() {
                match out.last() {
                    Some(&(_, last, _)) if a <= last => {
                        if b > last {
                            out.push((last.plus_one(), b, id));
                        }
                    }
                    _ => out.push((a, b, id)),
                }
            }
            *v = out;
        }
        settle(&mut self.v4);
        settle(&mut self.v6);
    }

    /// What outputs say about the ASN database.
    #[must_use]
    pub fn info(&self) -> DatabaseInfo {
        self.info.clone()
    }

    /// Rows of a CSV ASN database that were skipped: how many, and the first line numbers.
    #[must_use]
    pub fn skipped(&self) -> (u64, &[u64]) {
        (self.skipped_count, &self.skipped)
    }

    /// The network of an address (IPv4-mapped IPv6 as IPv4), if the database has one.
    #[must_use]
    pub fn lookup(&self, ip: IpAddr) -> Option<Network> {
        match super::canonical(ip) {
            IpAddr::V4(v4) => find(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => find(&self.v6, u128::from(v6)),
        }
        .map(|id| self.networks[id as usize])
    }

    /// Splits the IPv4 range `first..=last` along the database's ranges: each part's size
    /// in addresses and its network (`None` where the database has none). The sizes add up
    /// to the range's.
    #[must_use]
    pub fn split_v4(&self, first: u32, last: u32) -> Vec<(u128, Option<Network>)> {
        split(&self.v4, first, last)
            .into_iter()
            .map(|(a, b, id)| (u128::from(b - a) + 1, id.map(|i| self.networks[i as usize])))
            .collect()
    }

    /// Splits the IPv6 network `first..=last` (a /64 or wider, /64-aligned) along the
    /// database's ranges, in /64 subnets: each /64 goes to the range that holds its first
    /// address (the rule of [`super::ipv6_part_weight`]); parts holding no /64 start are left
    /// out. The weights add up to the network's /64s.
    #[must_use]
    pub fn split_v6(&self, first: u128, last: u128) -> Vec<(u128, Option<Network>)> {
        let starts = |a: u128, b: u128| -> u128 {
            let lo = (a >> 64) + u128::from(a & u128::from(u64::MAX) != 0);
            let hi = b >> 64;
            (hi + 1).saturating_sub(lo)
        };
        split(&self.v6, first, last)
            .into_iter()
            .map(|(a, b, id)| (starts(a, b), id.map(|i| self.networks[i as usize])))
            .filter(|(n, _)| *n > 0)
            .collect()
    }
}

/// Integer types of range ends.
mod num {
    pub trait One {
        fn plus_one(self) -> Self;
        fn minus_one(self) -> Self;
    }
    impl One for u32 {
        fn plus_one(self) -> Self {
            self.saturating_add(1)
        }
        fn minus_one(self) -> Self {
            self.saturating_sub(1)
        }
    }
    impl One for u128 {
        fn plus_one(self) -> Self {
            self.saturating_add(1)
        }
        fn minus_one(self) -> Self {
            self.saturating_sub(1)
        }
    }
}

fn find<T: Copy + Ord>(ranges: &[(T, T, u32)], ip: T) -> Option<u32> {
    let i = ranges.partition_point(|r| r.0 <= ip);
    let &(_, last, id) = ranges.get(i.checked_sub(1)?)?;
    (ip <= last).then_some(id)
}

/// `first..=last` cut along the ranges: `(a, b, range id or None)`, in order, covering it.
fn split<T: Copy + Ord + num::One>(
    ranges: &[(T, T, u32)],
    first: T,
    last: T,
) -> Vec<(T, T, Option<u32>)> {
    let mut out = Vec::new();
    let mut at = first;
    let mut i = ranges.partition_point(|r| r.1 < first);
    loop {
        match ranges.get(i) {
            Some(&(a, b, id)) if a <= last => {
                if a > at {
                    out.push((at, a.minus_one(), None));
                }
                let end = if b < last { b } else { last };
                let start = if a > at { a } else { at };
                out.push((start, end, Some(id)));
                if end >= last {
                    return out;
                }
                at = end.plus_one();
                i += 1;
            }
            _ => {
                out.push((at, last, None));
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_exactly_and_gaps_have_no_network() {
        let r = vec![(10u32, 19, 0), (30, 39, 1)];
        assert_eq!(
            split(&r, 0, 50),
            vec![
                (0, 9, None),
                (10, 19, Some(0)),
                (20, 29, None),
                (30, 39, Some(1)),
                (40, 50, None)
            ]
        );
        assert_eq!(split(&r, 12, 14), vec![(12, 14, Some(0))]);
        assert_eq!(
            split(&r, 15, 32),
            vec![(15, 19, Some(0)), (20, 29, None), (30, 32, Some(1))]
        );
        assert_eq!(
            split(&r, u32::MAX - 1, u32::MAX),
            vec![(u32::MAX - 1, u32::MAX, None)]
        );
        assert_eq!(find(&r, 19), Some(0));
        assert_eq!(find(&r, 20), None);
        assert_eq!(find(&r, 5), None);
    }
}
