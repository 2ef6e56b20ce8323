//! `ipatlas merge`: add tally files together.

use clap::Args;
use ipatlas::error::{Error, Result};
use ipatlas::tally::{Merge, Tally};

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

pub(super) fn run(args: &MergeArgs) -> Result<()> {
    let mut paths = super::guard::Paths::default();
    for t in &args.tallies {
        paths.input("TALLY", t);
    }
    let mut outputs = paths.output("-o", &args.output).check()?;
    let mut merge = Merge::new(args.allow_mixed_databases);
    for file in &args.tallies {
        let (tally, dbs) = Tally::read(file)?;
        merge.add(&tally, &dbs).map_err(|mixed| Error::Tally {
            path: file.to_string_lossy().into_owned(),
            message: if mixed.weights {
                format!(
                    "{}, but {} is {}: weighted and unweighted counts never add",
                    mixed.this,
                    args.tallies[0].to_string_lossy(),
                    mixed.first
                )
            } else {
                format!(
                    "made with database {}, but {} was made with {}; pass --allow-mixed-databases to merge anyway",
                    mixed.this,
                    args.tallies[0].to_string_lossy(),
                    mixed.first
                )
            },
        })?;
    }
    let (merged, databases) = merge.finish()?;
    outputs.write(&args.output, |w| merged.write(databases, w));
    outputs.commit()
}
