//! Adding tallies together, with `ipatlas merge`'s rules.

use super::Tally;
use crate::error::Result;
use crate::locate::DatabaseInfo;

/// Adds tallies together as `ipatlas merge` does: exactly, naming every database once (in
/// the order first met), and refusing tallies of other data than the first's unless mixed
/// databases are allowed.
///
/// ```
/// use ipatlas::locate::{Atlas, OpenOptions};
/// use ipatlas::pipeline::RunOptions;
/// use ipatlas::tally::{Merge, Unit};
///
/// let atlas = Atlas::open(&["embedded"], &OpenOptions::default())?;
/// let a = atlas.aggregate_lines(["8.8.8.8"], &RunOptions::default())?;
/// let b = atlas.aggregate_lines(["1.1.1.1"], &RunOptions::default())?;
/// let mut merge = Merge::new(false);
/// merge.add(&a, &atlas.infos()).unwrap();
/// merge.add(&b, &atlas.infos()).unwrap();
/// let (total, databases) = merge.finish()?;
/// assert_eq!(total.located_unit(Unit::Addresses).found, 2);
/// assert_eq!(databases.len(), 1);
/// # Ok::<(), ipatlas::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Merge {
    tally: Tally,
    databases: Vec<DatabaseInfo>,
    first: Option<(Vec<DatabaseInfo>, Option<String>)>,
    allow_mixed: bool,
}

/// A tally refused by [`Merge::add`]: made with other data than the first, or weighted
/// otherwise (never allowed: a sum of weights and a count of addresses do not add).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MixedDatabases {
    /// The first tally's databases (`GeoLite2-City built 2018-07-03`), or its weighting.
    pub first: String,
    /// This tally's databases, or its weighting.
    pub this: String,
    /// The weightings differ (`first` and `this` describe them), not the databases.
    pub weights: bool,
}

impl std::fmt::Display for MixedDatabases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.weights {
            write!(
                f,
                "{}, but the first tally is {}: weighted and unweighted counts never add",
                self.this, self.first
            )
        } else {
            write!(
                f,
                "made with database {}, but the first tally was made with {}",
                self.this, self.first
            )
        }
    }
}

/// A tally's weighting, for messages: `weighted by column 2` or `not weighted`.
#[must_use]
pub fn weighting(weight: Option<&str>) -> String {
    weight.map_or_else(|| "not weighted".to_owned(), |w| format!("weighted by {w}"))
}

impl Merge {
    /// An empty merge; `allow_mixed` lets tallies of different databases in (their counts
    /// are then not comparable).
    #[must_use]
    pub fn new(allow_mixed: bool) -> Self {
        Merge {
            allow_mixed,
            ..Merge::default()
        }
    }

    /// Adds a tally made with `databases`.
    pub fn add(
        &mut self,
        tally: &Tally,
        databases: &[DatabaseInfo],
    ) -> std::result::Result<(), MixedDatabases> {
        match &self.first {
            Some((_, weight)) if *weight != tally.weight => {
                return Err(MixedDatabases {
                    first: weighting(weight.as_deref()),
                    this: weighting(tally.weight.as_deref()),
                    weights: true,
                });
            }
            Some((first, _)) if !same_data(first, databases) && !self.allow_mixed => {
                return Err(MixedDatabases {
                    first: describe(first),
                    this: describe(databases),
                    weights: false,
                });
            }
            Some(_) => {}
            None => self.first = Some((databases.to_vec(), tally.weight.clone())),
        }
        // The merged tally names every database (and so credits every attribution).
        for d in databases {
            if !self
                .databases
                .iter()
                .any(|k| same_data(std::slice::from_ref(k), std::slice::from_ref(d)))
            {
                self.databases.push(d.clone());
            }
        }
        self.tally.merge(tally);
        Ok(())
    }

    /// The sum and its databases, or the error naming the count that overflowed.
    pub fn finish(self) -> Result<(Tally, Vec<DatabaseInfo>)> {
        Ok((self.tally.checked()?, self.databases))
    }
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

fn describe(dbs: &[DatabaseInfo]) -> String {
    dbs.iter()
        .map(|d| format!("{} built {}", d.database_type, d.build_date))
        .collect::<Vec<_>>()
        .join(" + ")
}
