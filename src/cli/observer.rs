//! What the command line shows while a run works: a progress bar on a terminal, and
//! warnings on stderr (the library reports both through [`ipatlas::observe::Observer`]).

use ipatlas::observe::{Observer, Observers, Progress, Warning};
use std::sync::{Arc, Mutex};

/// Draws the progress bar (when asked to) and writes warnings.
pub(crate) struct CliObserver {
    show_bar: bool,
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

impl CliObserver {
    /// An observer for a run; `show_bar` draws the progress bar.
    pub(crate) fn handle(show_bar: bool) -> Observers {
        Observers::new(Arc::new(CliObserver {
            show_bar,
            bar: Mutex::new(None),
        }))
    }
}

fn new_bar(total: Option<u64>) -> Option<indicatif::ProgressBar> {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = match total {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {msg} {binary_bytes_per_sec} ETA {eta}",
            )
            .ok()?,
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {bytes} read, {msg}, {binary_bytes_per_sec}")
                .ok()?,
        ),
    };
    Some(bar)
}

impl Observer for CliObserver {
    fn progress(&self, p: Progress) {
        if !self.show_bar {
            return;
        }
        let mut bar = self
            .bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if bar.is_none() {
            *bar = new_bar(p.total_bytes);
        }
        if let Some(b) = bar.as_ref() {
            b.set_position(p.bytes);
            b.set_message(format!("{} lines", p.lines));
        }
    }

    fn finished(&self) {
        let bar = self
            .bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(b) = bar {
            b.finish_and_clear();
        }
    }

    fn warning(&self, w: &Warning) {
        let text = ipatlas::util::escape_controls(&w.to_string());
        // The library names no flag; the command line says which one asked for this.
        let flag = match w {
            Warning::DamagedInput { .. } => " (--keep-going)",
            Warning::CacheRefused { .. } => "",
        };
        crate::cli::say!("ipatlas: warning: {text}{flag}");
    }
}
