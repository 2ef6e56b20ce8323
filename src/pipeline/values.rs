//! Records held in memory one per value (a column of strings: an Arrow array, a list),
//! each read as a line of a file would be: counted by [`Atlas::aggregate_values`], looked
//! up by [`super::lookup_values`]. The Python bindings call these.

use super::RunOptions;
use crate::error::Result;
use crate::input::{self, InputMode};
use crate::locate::Atlas;
use crate::tally::Tally;

/// Values indexed from 0, each one record (or, in [`InputMode::Extract`], a text to find
/// addresses in); `None` is a null (counted as skipped, like a blank line).
pub trait Values: Sync {
    /// How many values there are.
    fn len(&self) -> usize;

    /// True when there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of value `i` (`i < len()`), or `None` for a null.
    fn value(&self, i: usize) -> Option<&[u8]>;
}

macro_rules! values_of {
    ($($t:ty),*) => {$(
        impl Values for [$t] {
            fn len(&self) -> usize {
                <[$t]>::len(self)
            }

            fn value(&self, i: usize) -> Option<&[u8]> {
                self.get(i).map(|v| v.as_ref())
            }
        }

        impl Values for [Option<$t>] {
            fn len(&self) -> usize {
                <[Option<$t>]>::len(self)
            }

            fn value(&self, i: usize) -> Option<&[u8]> {
                self.get(i).and_then(|v| v.as_ref().map(|v| v.as_ref()))
            }
        }
    )*};
}

values_of!(&str, String, &[u8], Vec<u8>);

/// Values handed to one worker at a time.
pub(super) const VALUES_PER_TASK: usize = 4096;

/// How values are read: as lines, or searched for addresses; a column does not apply (a
/// value is one field already).
pub(super) fn value_mode(mode: &InputMode) -> InputMode {
    match mode {
        InputMode::Extract => InputMode::Extract,
        _ => InputMode::Lines,
    }
}

impl Atlas {
    /// Counts records held in memory, one per value (see [`Values`]), in parallel, as the
    /// lines of a file with these values would be counted (nulls count as skipped).
    ///
    /// ```
    /// use ipatlas::locate::{Atlas, OpenOptions};
    /// use ipatlas::pipeline::RunOptions;
    /// use ipatlas::tally::Unit;
    ///
    /// let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
    /// let values = [Some("8.8.8.8"), None, Some("2001:4860::/32"), Some("bogus")];
    /// let tally = atlas.aggregate_values(&values[..], &RunOptions::default())?;
    /// assert_eq!(tally.located_unit(Unit::Addresses).found, 1);
    /// assert_eq!((tally.counters.skipped, tally.counters.invalid_total()), (1, 1));
    /// # Ok::<(), ipatlas::Error>(())
    /// ```
    pub fn aggregate_values<V: Values + ?Sized>(
        &self,
        values: &V,
        options: &RunOptions,
    ) -> Result<Tally> {
        let mode = value_mode(&options.mode);
        let lines = mode == InputMode::Lines;
        super::count_parallel(self, values.len(), options, |w, i| {
            let line = i as u64 + 1;
            match values.value(i) {
                None => {
                    w.tally.counters.skipped += 1;
                    Ok(())
                }
                Some(v) => {
                    // A bare dotted quad (most values) skips the general parser, with the
                    // same outcome.
                    if lines
                        && let Some((ip, end)) = input::ipv4_line(v, 0)
                        && end == v.len()
                    {
                        return w.item(input::Item::Addr(std::net::Ipv4Addr::from(ip).into()));
                    }
                    input::scan_line(line, v, &mode, input::Columns::default(), &mut |line, e| {
                        w.event("values", line, e, None)
                    })
                }
            }
        })
    }
}
