//! `ipatlas info`: describe a database.

use super::DbArgs;
use clap::Args;
use ipatlas::error::Result;
use ipatlas::outputs::write_output;
use serde::Serialize;
use std::collections::BTreeMap;

/// `info` arguments.
#[derive(Args, Debug)]
pub struct InfoArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Also count the IPv4 and IPv6 networks (walks the whole tree).
    #[arg(long)]
    networks: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Info {
    path: String,
    #[serde(rename = "type")]
    database_type: String,
    build_epoch: u64,
    build_date: String,
    /// Where the date came from: the metadata, or for CSV data its names, zip entries,
    /// copyright notice or file times.
    date_from: String,
    ip_version: u16,
    record_size: u16,
    node_count: u32,
    size_bytes: u64,
    languages: Vec<String>,
    description: BTreeMap<String, String>,
    schema: String,
    country_field: String,
    lat_field: String,
    lon_field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    attribution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv4_networks: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6_networks: Option<u64>,
}

pub(super) fn run(args: &InfoArgs) -> Result<()> {
    super::refuse_asn_db(&args.db, "info")?;
    let atlas = args.db.open()?;
    let mut infos = Vec::new();
    for db in atlas.databases() {
        let meta = db.metadata();
        let schema = db.schema();
        let dated = db.info();
        let (mut v4, mut v6) = (None, None);
        if args.networks {
            let counts = db.network_counts()?;
            v4 = Some(counts.ipv4);
            v6 = Some(counts.ipv6);
        }
        infos.push(Info {
            path: db.label().to_owned(),
            database_type: meta.database_type.clone(),
            build_epoch: meta.build_epoch,
            build_date: dated.build_date,
            date_from: dated.date_from.unwrap_or_else(|| "metadata".to_owned()),
            ip_version: meta.ip_version,
            record_size: meta.record_size,
            node_count: meta.node_count,
            size_bytes: db.size_bytes(),
            languages: meta.languages.clone(),
            description: meta.description.clone(),
            schema: schema.kind.name().to_owned(),
            country_field: schema.country.to_string(),
            lat_field: schema.lat.to_string(),
            lon_field: schema.lon.to_string(),
            attribution: db.attribution().map(str::to_owned),
            ipv4_networks: v4,
            ipv6_networks: v6,
        });
    }
    write_output("-", |w| {
        if args.json {
            let value = if infos.len() == 1 {
                serde_json::to_value(&infos[0])
            } else {
                serde_json::to_value(&infos)
            };
            serde_json::to_writer_pretty(&mut *w, &value.map_err(std::io::Error::other)?)?;
            return writeln!(w);
        }
        for (i, info) in infos.iter().enumerate() {
            if i > 0 {
                writeln!(w)?;
            }
            let value = serde_json::to_value(info).map_err(std::io::Error::other)?;
            if let serde_json::Value::Object(map) = value {
                for (k, v) in map {
                    let text = match v {
                        // Metadata is outside text: no terminal escapes or line breaks.
                        serde_json::Value::String(s) => ipatlas::util::escape_controls(&s),
                        other => other.to_string(),
                    };
                    writeln!(w, "{k}: {text}")?;
                }
            }
        }
        Ok(())
    })
}
