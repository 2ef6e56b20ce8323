//! `ipatlas lookup`: one row per input record, in input order.

use super::{DbArgs, InputArgs, with_threads};
use clap::Args;
use ipatlas::error::{Error, Result};
use ipatlas::pipeline::{self, Families, RowFormat};

/// `lookup` arguments.
#[derive(Args, Debug)]
pub struct LookupArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RowFormat::Csv)]
    format: RowFormat,
}

/// True when an argument reads as a file name rather than an address: it has a directory
/// separator, or an extension with a letter in it (`five.txt`, `ips.gz`).
fn looks_like_a_path(arg: &str) -> bool {
    arg.contains('/')
        || arg.rsplit_once('.').is_some_and(|(stem, ext)| {
            !stem.is_empty() && ext.bytes().any(|b| b.is_ascii_alphabetic()) && !ext.contains(':')
        })
}

/// Whether the arguments are the records themselves (`ipatlas lookup 8.8.8.8 ::1`) or name
/// inputs, decided before any work: a missing file is an error, and files and addresses
/// together are refused (rows would not line up with either).
fn arguments_are_records(inputs: &[std::path::PathBuf]) -> Result<bool> {
    let is_input = |a: &std::path::PathBuf| a.as_os_str() == "-" || a.exists();
    // An argument that is not UTF-8 can only be a file name.
    let text = |a: &std::path::PathBuf| a.to_str().map(str::to_owned);
    if let Some(missing) = inputs.iter().find(|a| {
        !is_input(a)
            && text(a).is_none_or(|t| {
                ipatlas::input::parse_item(t.as_bytes()).is_err() && looks_like_a_path(&t)
            })
    }) {
        return Err(ipatlas::Error::Input {
            path: missing.to_string_lossy().into_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file (and not an address)",
            ),
        });
    }
    let files = inputs.iter().filter(|a| is_input(a)).count();
    if files > 0 && files < inputs.len() {
        return Err(ipatlas::Error::Usage(
            "lookup takes input files or addresses, not both: put the addresses in a file, or pipe them in with `-`".into(),
        ));
    }
    Ok(!inputs.is_empty() && files == 0)
}

pub(super) fn run(args: &LookupArgs) -> Result<()> {
    if args.input.weight_column.is_some() {
        return Err(Error::Usage(
            "--weight-column weighs counts; lookup writes one row per record and counts nothing (aggregate, map and geojson take it)".into(),
        ));
    }
    let direct = arguments_are_records(&args.input.inputs)?;
    let atlas = args
        .db
        .open_strict(args.input.strict, args.input.cache_dir())?;
    let options = args.input.run_options(Families::All)?;
    let format = args.format;
    ipatlas::outputs::stdout_open().map_err(|e| ipatlas::Error::output("-", e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    let inputs = &args.input.inputs;
    with_threads(args.input.threads, || {
        if direct {
            let text: String = inputs
                .iter()
                .map(|a| format!("{}\n", a.to_string_lossy()))
                .collect();
            pipeline::lookup_text(&atlas, text.as_bytes(), &options, format, &mut out)?;
        } else {
            pipeline::lookup(
                &atlas,
                &args.input.input_list()?,
                &options,
                format,
                &mut out,
            )?;
        }
        Ok(())
    })
}
