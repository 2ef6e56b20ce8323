//! SIGINT and SIGTERM: a run that is interrupted removes the temporary files of the outputs
//! it was writing (so no partial file is left, and earlier outputs stay as they were) and
//! exits with 128 + the signal number (130 for SIGINT, 143 for SIGTERM), as shells expect.

/// Starts the thread that waits for SIGINT and SIGTERM. Without it (a failure to install
/// the handlers) signals keep their default effect, which is to end the process.
pub fn install() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                ipatlas::util::remove_temporaries();
                let name = if signal == SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                crate::cli::say!(
                    "ipatlas: interrupted ({name}); outputs not yet complete were removed"
                );
                std::process::exit(128 + signal);
            }
        });
}
