//! `ipatlas lookup`: one row per input record, in input order.

use super::{DbArgs, InputArgs, with_threads};
use crate::error::Result;
use crate::pipeline::{self, Family, RowFormat};
use clap::{Args, ValueEnum};

/// `lookup` arguments.
#[derive(Args, Debug)]
pub struct LookupArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Jsonl,
}

pub(super) fn run(args: &LookupArgs) -> Result<()> {
    let atlas = args.db.open_strict(args.input.strict)?;
    let options = args.input.run_options(Family::Both)?;
    let format = match args.format {
        Format::Csv => RowFormat::Csv,
        Format::Jsonl => RowFormat::Jsonl,
    };
    crate::export::stdout_open().map_err(|e| crate::Error::output("-", e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    // When no argument is an existing file and some are addresses or prefixes, the arguments
    // are the records (`ipatlas lookup 8.8.8.8 2001:db8::/32`); otherwise they name inputs.
    let inputs = &args.input.inputs;
    let direct = inputs
        .iter()
        .all(|a| a != "-" && !std::path::Path::new(a).exists())
        && inputs
            .iter()
            .any(|a| crate::input::parse_item(a.as_bytes()).is_ok());
    with_threads(args.input.threads, || {
        if direct {
            let text: String = inputs.iter().map(|a| format!("{a}\n")).collect();
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
