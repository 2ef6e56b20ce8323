//! Then versus now: two tallies side by side, per country and per grid cell, by share (the
//! default: the totals of two studies differ) or by count.

use super::{CellGrid, Tally, Unit};
use crate::locate::CountryCode;
use crate::outputs::share;
use std::collections::BTreeMap;

/// What is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Measure {
    /// Each side's share of its own located total: `change` is `share_b - share_a`,
    /// `ratio` is `share_b / share_a`.
    #[default]
    Shares,
    /// The counts themselves: `change` is `count_b - count_a`, `ratio` is
    /// `count_b / count_a`.
    Counts,
}

/// One country or cell of two tallies.
#[derive(Clone, Debug, PartialEq)]
pub struct Row<K> {
    /// The country code or the cell (row, column of the grid).
    pub key: K,
    /// Weight in A and in B.
    pub count_a: u128,
    /// Weight in B.
    pub count_b: u128,
    /// Share of A's located weight (in the unit), and of B's.
    pub share_a: f64,
    /// Share of B's located weight.
    pub share_b: f64,
    /// B minus A, in the measure (a share difference is a fraction: 0.01 is one
    /// percentage point).
    pub change: f64,
    /// B over A in the measure; `None` where A has none.
    pub ratio: Option<f64>,
}

/// Two tallies compared in one unit.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The unit both sides count.
    pub unit: Unit,
    /// What `change` and `ratio` compare.
    pub measure: Measure,
    /// A's and B's located weight in the unit (the shares' denominators).
    pub found_a: u128,
    /// B's located weight.
    pub found_b: u128,
    /// The counts are sums of weights (`--weight-column`) on either side.
    pub weighted: bool,
}

impl Comparison {
    /// Compares `a` and `b` in `unit` by `measure`.
    #[must_use]
    pub fn new(a: &Tally, b: &Tally, unit: Unit, measure: Measure) -> Self {
        Comparison {
            unit,
            measure,
            found_a: a.located_unit(unit).found,
            found_b: b.located_unit(unit).found,
            weighted: a.weight.is_some() || b.weight.is_some(),
        }
    }

    /// The unit two tallies are compared in when none is asked for: addresses when both
    /// located any, else /64 subnets when both did; `None` when they have no unit in common.
    #[must_use]
    pub fn unit_for(a: &Tally, b: &Tally) -> Option<Unit> {
        Unit::ALL
            .into_iter()
            .find(|u| a.located_unit(*u).found > 0 && b.located_unit(*u).found > 0)
    }

    fn row<K>(&self, key: K, count_a: u128, count_b: u128) -> Row<K> {
        let (share_a, share_b) = (share(count_a, self.found_a), share(count_b, self.found_b));
        let (a, b) = match self.measure {
            Measure::Shares => (share_a, share_b),
            Measure::Counts => (count_a as f64, count_b as f64),
        };
        Row {
            key,
            count_a,
            count_b,
            share_a,
            share_b,
            change: b - a,
            ratio: (a > 0.0).then(|| b / a),
        }
    }

    /// Every country either side counts, the largest gain first, then code.
    #[must_use]
    pub fn countries(&self, a: &Tally, b: &Tally) -> Vec<Row<CountryCode>> {
        let mut both: BTreeMap<CountryCode, (u128, u128)> = BTreeMap::new();
        for (code, n) in a.countries(self.unit) {
            both.entry(code).or_default().0 = n;
        }
        for (code, n) in b.countries(self.unit) {
            both.entry(code).or_default().1 = n;
        }
        let mut rows: Vec<Row<CountryCode>> = both
            .into_iter()
            .map(|(code, (na, nb))| self.row(code, na, nb))
            .collect();
        // By the change as the table prints it (6 decimals): equal printed changes sort by
        // code, whatever the last bits of the subtraction.
        let printed = |r: &Row<CountryCode>| (r.change * 1e6).round();
        rows.sort_by(|x, y| printed(y).total_cmp(&printed(x)).then(x.key.cmp(&y.key)));
        rows
    }

    /// Every grid cell either side counts, south to north, then west to east.
    #[must_use]
    pub fn cells(&self, a: &Tally, b: &Tally, grid: &CellGrid) -> Vec<Row<(u32, u32)>> {
        let mut both: BTreeMap<(u32, u32), (u128, u128)> = BTreeMap::new();
        for (cell, n) in a.cells(grid, self.unit) {
            both.entry(cell).or_default().0 = n;
        }
        for (cell, n) in b.cells(grid, self.unit) {
            both.entry(cell).or_default().1 = n;
        }
        both.into_iter()
            .map(|(cell, (na, nb))| self.row(cell, na, nb))
            .collect()
    }
}

/// A number for a comparison table: at most 6 decimals, no trailing zeros.
fn num(v: f64) -> String {
    crate::util::trim_decimal(v, 6)
}

/// The shared tail of a comparison row: counts, shares, change, ratio and unit.
fn row_tail<K>(r: &Row<K>, cmp: &Comparison) -> String {
    format!(
        "{},{},{:.6},{:.6},{},{},{}",
        r.count_a,
        r.count_b,
        r.share_a,
        r.share_b,
        num(r.change),
        r.ratio.map(num).unwrap_or_default(),
        cmp.unit.label_of(cmp.weighted)
    )
}

/// `country,count_a,count_b,share_a,share_b,change,ratio,unit`, the largest gain first
/// (`ratio` is empty where A has none).
pub fn countries_csv(
    cmp: &Comparison,
    a: &Tally,
    b: &Tally,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    writeln!(
        w,
        "country,count_a,count_b,share_a,share_b,change,ratio,unit"
    )?;
    for r in cmp.countries(a, b) {
        writeln!(w, "{},{}", r.key, row_tail(&r, cmp))?;
    }
    Ok(())
}

/// `lat_min,lon_min,lat_max,lon_max,count_a,count_b,share_a,share_b,change,ratio,unit`,
/// south to north, then west to east.
pub fn cells_csv(
    cmp: &Comparison,
    a: &Tally,
    b: &Tally,
    grid: &CellGrid,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    writeln!(
        w,
        "lat_min,lon_min,lat_max,lon_max,count_a,count_b,share_a,share_b,change,ratio,unit"
    )?;
    for r in cmp.cells(a, b, grid) {
        let (lat0, lon0, lat1, lon1) = grid.bounds(r.key.0, r.key.1);
        writeln!(
            w,
            "{},{},{},{},{}",
            num(lat0),
            num(lon0),
            num(lat1),
            num(lon1),
            row_tail(&r, cmp)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_counts_compare_as_documented() {
        let c = Comparison {
            unit: Unit::Addresses,
            measure: Measure::Shares,
            found_a: 100,
            found_b: 1000,
            weighted: false,
        };
        let r = c.row("FR", 10, 200);
        assert_eq!((r.share_a, r.share_b), (0.1, 0.2));
        assert!((r.change - 0.1).abs() < 1e-12);
        assert!((r.ratio.unwrap() - 2.0).abs() < 1e-12);
        assert_eq!(c.row("DE", 0, 5).ratio, None);
        let c = Comparison {
            measure: Measure::Counts,
            ..c
        };
        let r = c.row("FR", 10, 200);
        assert_eq!((r.change, r.ratio), (190.0, Some(20.0)));
    }
}
