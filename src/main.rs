//! The `ipatlas` binary: parse the command line, run the command, map errors to exit codes.
//! The command line lives here, not in the library: clap types, database discovery,
//! signals, progress bars and messages on stderr.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
