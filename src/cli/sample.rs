//! `ipatlas sample`: synthetic dumps for benchmarks.

use super::DbArgs;
use clap::Args;
use ipatlas::error::Result;
use ipatlas::sample::Sampler;

/// `sample` arguments.
#[derive(Args, Debug)]
pub struct SampleArgs {
    #[command(flatten)]
    db: DbArgs,
    /// How many addresses.
    #[arg(
        short = 'n',
        long = "count",
        value_name = "N",
        allow_hyphen_values = true
    )]
    n: u64,
    /// Random seed; the same seed and database give the same addresses.
    #[arg(long, default_value_t = 7, allow_hyphen_values = true)]
    seed: u64,
    /// Fraction of IPv6 addresses (0 to 1).
    #[arg(
        long,
        value_name = "F",
        default_value_t = 0.0,
        allow_hyphen_values = true
    )]
    ipv6_share: f64,
    /// Output file; `-` (default) for stdout.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    output: std::path::PathBuf,
}

pub(super) fn run(args: &SampleArgs) -> Result<()> {
    let mut paths = super::guard::Paths::default();
    args.db.declare(&mut paths);
    let mut outputs = paths.output("-o", &args.output).check()?;
    let atlas = args.db.open()?;
    let sampler = Sampler::new(&atlas)?;
    let mut result = Ok(());
    outputs.write(&args.output, |w| {
        result = sampler.write(args.n, args.seed, args.ipv6_share, w);
        match &result {
            Err(ipatlas::Error::Output { source, .. }) => {
                Err(std::io::Error::new(source.kind(), source.to_string()))
            }
            Err(e) => Err(std::io::Error::other(e.to_string())),
            Ok(()) => Ok(()),
        }
    });
    outputs.commit().map_err(|e| match result {
        Err(inner) if !matches!(inner, ipatlas::Error::Output { .. }) => inner,
        _ => e,
    })
}
