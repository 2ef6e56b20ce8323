//! Tables of subdivisions, cities and networks: CSV with a header, one row per place group
//! and unit, shares of all weight found in the unit (as in every table), and the unit.

use super::share;
use crate::locate::Name;
use crate::tally::Tally;
use std::io::{self, Write};

/// A CSV writer over `w` (names may hold commas, quotes and line breaks).
fn writer(w: &mut dyn Write) -> csv::Writer<&mut dyn Write> {
    csv::WriterBuilder::new().has_headers(false).from_writer(w)
}

fn io_err(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

fn text(name: Option<Name>) -> &'static str {
    name.map_or("", Name::as_str)
}

fn decimal(x: f64) -> String {
    crate::util::trim_decimal(x, 6)
}

/// `country,subdivision,name,count,share,unit`: the ISO 3166-2 code (`US-CA`, or empty when
/// the database gives only a name), the name, the weight; by unit, then count descending.
/// At most `top` rows per unit.
pub fn subdivisions_csv(tally: &Tally, top: Option<usize>, w: &mut dyn Write) -> io::Result<()> {
    let mut out = writer(w);
    out.write_record(["country", "subdivision", "name", "count", "share", "unit"])
        .map_err(io_err)?;
    for unit in tally.units() {
        let found = tally.located_unit(unit).found;
        for s in tally
            .subdivisions(unit)
            .into_iter()
            .take(top.unwrap_or(usize::MAX))
        {
            let code = s
                .subdivision
                .code
                .map_or(String::new(), |c| format!("{}-{c}", s.country));
            out.write_record([
                s.country.as_str(),
                &code,
                text(s.subdivision.name),
                &s.count.to_string(),
                &format!("{:.6}", share(s.count, found)),
                tally.unit_label(unit),
            ])
            .map_err(io_err)?;
        }
    }
    out.flush()
}

/// `country,subdivision,city,latitude,longitude,count,share,unit`, by unit, then count
/// descending; at most `top` rows per unit.
pub fn cities_csv(tally: &Tally, top: Option<usize>, w: &mut dyn Write) -> io::Result<()> {
    let mut out = writer(w);
    out.write_record([
        "country",
        "subdivision",
        "city",
        "latitude",
        "longitude",
        "count",
        "share",
        "unit",
    ])
    .map_err(io_err)?;
    for unit in tally.units() {
        let found = tally.located_unit(unit).found;
        for c in tally
            .cities(unit)
            .into_iter()
            .take(top.unwrap_or(usize::MAX))
        {
            let country = c.country.map_or(String::new(), |c| c.to_string());
            let sub = c
                .subdivision
                .map_or(String::new(), |s| match (s.code, c.country) {
                    (Some(code), Some(cc)) => format!("{cc}-{code}"),
                    _ => text(s.name).to_owned(),
                });
            let (lat, lon) = c.coords.map_or((String::new(), String::new()), |(a, b)| {
                (decimal(a), decimal(b))
            });
            out.write_record([
                country.as_str(),
                &sub,
                c.name.as_str(),
                &lat,
                &lon,
                &c.count.to_string(),
                &format!("{:.6}", share(c.count, found)),
                tally.unit_label(unit),
            ])
            .map_err(io_err)?;
        }
    }
    out.flush()
}

/// `asn,organization,count,share,unit` over all countries, by unit, then count descending;
/// at most `top` rows per unit.
pub fn asns_csv(tally: &Tally, top: Option<usize>, w: &mut dyn Write) -> io::Result<()> {
    let mut out = writer(w);
    out.write_record(["asn", "organization", "count", "share", "unit"])
        .map_err(io_err)?;
    for unit in tally.units() {
        let found = tally.located_unit(unit).found;
        for n in tally
            .networks(unit, false)
            .into_iter()
            .take(top.unwrap_or(usize::MAX))
        {
            out.write_record([
                &n.network.asn.to_string(),
                text(n.network.organization),
                &n.count.to_string(),
                &format!("{:.6}", share(n.count, found)),
                tally.unit_label(unit),
            ])
            .map_err(io_err)?;
        }
    }
    out.flush()
}

/// `country,rank,asn,organization,count,share,country_share,unit`: each country's networks
/// by count (at most `top` per country and unit), `share` of all weight found and
/// `country_share` of the country's weight with a network.
pub fn country_asns_csv(tally: &Tally, top: Option<usize>, w: &mut dyn Write) -> io::Result<()> {
    let mut out = writer(w);
    out.write_record([
        "country",
        "rank",
        "asn",
        "organization",
        "count",
        "share",
        "country_share",
        "unit",
    ])
    .map_err(io_err)?;
    for unit in tally.units() {
        let found = tally.located_unit(unit).found;
        let rows = tally.networks(unit, true);
        let mut start = 0;
        while start < rows.len() {
            let country = rows[start].country;
            let end = start
                + rows[start..]
                    .iter()
                    .take_while(|r| r.country == country)
                    .count();
            let group = &rows[start..end];
            let code = country.map_or(String::new(), |c| c.to_string());
            let total = group.iter().fold(0u128, |a, r| a.saturating_add(r.count));
            for (rank, n) in group.iter().take(top.unwrap_or(usize::MAX)).enumerate() {
                out.write_record([
                    code.as_str(),
                    &(rank + 1).to_string(),
                    &n.network.asn.to_string(),
                    text(n.network.organization),
                    &n.count.to_string(),
                    &format!("{:.6}", share(n.count, found)),
                    &format!("{:.6}", share(n.count, total)),
                    tally.unit_label(unit),
                ])
                .map_err(io_err)?;
            }
            start = end;
        }
    }
    out.flush()
}
