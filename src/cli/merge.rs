//! `ipatlas merge`: add tally files together.

use clap::Args;
use ipatlas::error::{Error, Result};
use ipatlas::locate::DatabaseInfo;
use ipatlas::tally::Tally;

/// `merge` arguments.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Tally files written by `aggregate --tally`.
    #[arg(value_name = "TALLY", required = true)]
    tallies: Vec<std::path::PathBuf>,
    /// The merged tally; `-` for stdout.
    #[arg(short, long, value_name = "OUT")]
    output: std::path::PathBuf,
    /// Merge tallies made with different databases (their counts are then not comparable).
    #[arg(long)]
    allow_mixed_databases: bool,
}

/// Two database descriptions name the same data when type, build and IP version agree
/// (the path may differ between machines).
fn same_data(a: &[DatabaseInfo], b: &[DatabaseInfo]) -> bool {
    let key = |v: &[DatabaseInfo]| {
        let mut k: Vec<(String, u64, u16)> = v
            .iter()
            .map(|d| (d.database_type.clone(), d.build_epoch, d.ip_version))
            .collect();
        k.sort();
        k
    };
    key(a) == key(b)
}

pub(super) fn run(args: &MergeArgs) -> Result<()> {
    let mut paths = super::guard::Paths::default();
    for t in &args.tallies {
        paths.input("TALLY", t);
    }
    let mut outputs = paths.output("-o", &args.output).check()?;
    let mut merged = Tally::new();
    let mut first: Option<Vec<DatabaseInfo>> = None;
    let mut databases: Vec<DatabaseInfo> = Vec::new();
    for file in &args.tallies {
        let path = &file.to_string_lossy().into_owned();
        let (tally, dbs) = Tally::read(file)?;
        match &first {
            Some(first) if !same_data(first, &dbs) && !args.allow_mixed_databases => {
                return Err(Error::Tally {
                    path: path.clone(),
                    message: format!(
                        "made with database {}, but {} was made with {}; pass --allow-mixed-databases to merge anyway",
                        describe(&dbs),
                        args.tallies[0].to_string_lossy(),
                        describe(first)
                    ),
                });
            }
            Some(_) => {}
            None => first = Some(dbs.clone()),
        }
        // The merged tally names every database (and so credits every attribution), in
        // the order first met.
        for d in dbs {
            if !databases
                .iter()
                .any(|k| same_data(std::slice::from_ref(k), std::slice::from_ref(&d)))
            {
                databases.push(d);
            }
        }
        merged.merge(&tally);
    }
    let merged = merged.checked()?;
    outputs.write(&args.output, |w| merged.write(databases, w));
    outputs.commit()
}

fn describe(dbs: &[DatabaseInfo]) -> String {
    dbs.iter()
        .map(|d| format!("{} built {}", d.database_type, d.build_date))
        .collect::<Vec<_>>()
        .join(" + ")
}
