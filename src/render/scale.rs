//! Colour scales: counts to positions in a colour map, and back (for legend tick labels).

/// How counts map onto the colour map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ScaleKind {
    /// Histogram equalisation (as datashader's `eq_hist`): each colour covers about as many
    /// pixels as any other, so both sparse and dense regions show structure.
    EqHist,
    /// The logarithm of the count, from the smallest count drawn (the bottom of the bar) to
    /// the largest (the top).
    Log,
    /// Cube root of the count.
    Cbrt,
    /// The count itself.
    Linear,
}

/// A scale fitted to the non-zero values of one map.
#[derive(Clone, Debug)]
pub struct ColorScale {
    kind: ScaleKind,
    max: f64,
    /// The smallest value drawn.
    min: f64,
    /// Every value drawn is a whole number (counts, not blurred densities or rates).
    integers: bool,
    /// Distinct values, ascending, with their equalised position (eq-hist only).
    levels: Vec<(f64, f64)>,
}

impl ColorScale {
    /// Fits a scale to the values to be drawn (zeros and negatives are ignored: they are
    /// transparent).
    #[must_use]
    pub fn fit(kind: ScaleKind, values: impl Iterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = values.filter(|x| *x > 0.0 && x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let max = v.last().copied().unwrap_or(0.0);
        let min = v.first().copied().unwrap_or(0.0);
        let integers = v.iter().all(|x| x.fract() == 0.0);
        let mut levels = Vec::new();
        if kind == ScaleKind::EqHist && !v.is_empty() {
            // Cumulative share of samples at or below each distinct value, rescaled so the
            // smallest value sits at 0 and the largest at 1.
            let n = v.len() as f64;
            let mut i = 0;
            while i < v.len() {
                let mut j = i;
                while j < v.len() && v[j] == v[i] {
                    j += 1;
                }
                levels.push((v[i], j as f64 / n));
                i = j;
            }
            let first = levels[0].1;
            let span = 1.0 - first;
            for l in &mut levels {
                l.1 = if span > 0.0 {
                    (l.1 - first) / span
                } else {
                    1.0
                };
            }
        }
        ColorScale {
            kind,
            max,
            min,
            integers,
            levels,
        }
    }

    /// The largest value.
    #[must_use]
    pub fn max(&self) -> f64 {
        self.max
    }

    /// Position in the colour map (0 to 1) for a value; `None` for zero (not drawn).
    #[must_use]
    pub fn position(&self, value: f64) -> Option<f64> {
        // NaN, zero and negatives are not drawn.
        if value.is_nan() || value <= 0.0 || self.max <= 0.0 {
            return None;
        }
        let v = value.min(self.max);
        let t = match self.kind {
            ScaleKind::Linear => v / self.max,
            ScaleKind::Log if self.max > self.min => {
                (v.max(self.min).ln() - self.min.ln()) / (self.max.ln() - self.min.ln())
            }
            ScaleKind::Log => 1.0,
            ScaleKind::Cbrt => v.cbrt() / self.max.cbrt(),
            ScaleKind::EqHist => {
                let k = self.levels.partition_point(|(x, _)| *x < v);
                match (k.checked_sub(1).map(|i| self.levels[i]), self.levels.get(k)) {
                    (_, Some((x, t))) if *x == v => *t,
                    (Some((x0, t0)), Some(&(x1, t1))) => t0 + (t1 - t0) * (v - x0) / (x1 - x0),
                    (None, Some((_, t))) => *t,
                    (Some((_, t)), None) => t,
                    (None, None) => 1.0,
                }
            }
        };
        Some(t.clamp(0.0, 1.0))
    }

    /// The value drawn at a position (the inverse of [`ColorScale::position`]), for labels.
    #[must_use]
    pub fn value_at(&self, t: f64) -> f64 {
        let t = t.clamp(0.0, 1.0);
        match self.kind {
            ScaleKind::Linear => t * self.max,
            ScaleKind::Log => (self.min.ln() + t * (self.max.ln() - self.min.ln())).exp(),
            ScaleKind::Cbrt => (t * self.max.cbrt()).powi(3),
            ScaleKind::EqHist => {
                let k = self.levels.partition_point(|(_, p)| *p < t);
                match (k.checked_sub(1).map(|i| self.levels[i]), self.levels.get(k)) {
                    (Some((x0, t0)), Some(&(x1, t1))) if t1 > t0 => {
                        x0 + (x1 - x0) * (t - t0) / (t1 - t0)
                    }
                    (_, Some((x, _))) => *x,
                    (Some((x, _)), None) => x,
                    (None, None) => 0.0,
                }
            }
        }
    }
}

impl ColorScale {
    /// The smallest value drawn.
    #[must_use]
    pub fn min(&self) -> f64 {
        self.min
    }

    /// Round-number ticks for the colour bar: values of 1, 2 and 5 times a power of ten
    /// (or every whole step of one, when those are too few) between the smallest and the
    /// largest value drawn, whole numbers only when every value is one, at least a tenth of
    /// the bar apart, no two with the same label; each with its position and label.
    #[must_use]
    pub fn ticks(&self) -> Vec<(f64, String)> {
        self.ticks_spaced(0.1)
    }

    /// [`ColorScale::ticks`] at least `gap` of the bar apart (a short bar needs more room
    /// between its labels).
    #[must_use]
    pub fn ticks_spaced(&self, gap: f64) -> Vec<(f64, String)> {
        if self.max <= 0.0 || !self.max.is_finite() {
            return Vec::new();
        }
        let lo = if self.min > 0.0 { self.min } else { self.max };
        let (k0, k1) = (lo.log10().floor() as i32, self.max.log10().ceil() as i32);
        let candidates = |steps: &[f64]| -> Vec<f64> {
            let mut v: Vec<f64> = (k0..=k1)
                .flat_map(|k| steps.iter().map(move |m| m * 10f64.powi(k)))
                .map(|x| (x * 1e9).round() / 1e9)
                .filter(|x| *x >= lo * (1.0 - 1e-9) && *x <= self.max * (1.0 + 1e-9))
                .filter(|x| !self.integers || x.fract() == 0.0)
                .collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        };
        let pick = |values: Vec<f64>| -> Vec<(f64, String)> {
            let mut out: Vec<(f64, String)> = Vec::new();
            for v in values {
                let Some(t) = self.position(v) else { continue };
                let label = tick_label(v);
                let spaced = out.last().is_none_or(|(last, _)| t - last >= gap);
                if spaced && out.iter().all(|(_, l)| *l != label) {
                    out.push((t, label));
                }
            }
            out
        };
        let mut ticks = pick(candidates(&[1.0, 2.0, 5.0]));
        if ticks.len() < 3 {
            let finer = pick(candidates(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]));
            if finer.len() > ticks.len() {
                ticks = finer;
            }
        }
        if ticks.is_empty() {
            // One value drawn, and not a round one: label it.
            ticks.push((self.position(self.max).unwrap_or(1.0), tick_label(self.max)));
        }
        ticks
    }
}

/// A round value for a tick: `0.02`, `5`, `200`, `5k`, `2M` (the values are 1, 2, 5 ...
/// times a power of ten, so these are exact).
fn tick_label(v: f64) -> String {
    if v >= 1000.0 {
        short_count(v)
    } else if v >= 1.0 || v == 0.0 {
        format!("{}", v.round())
    } else {
        let digits = (-v.log10().floor()) as usize;
        crate::util::trim_decimal(v, digits.max(1))
    }
}

/// A count for a legend: `950`, `12k`, `3.4M`, `1.2B` (two significant digits above 1000).
#[must_use]
pub fn short_count(v: f64) -> String {
    // Thousands, millions, billions, then trillions, quadrillions and quintillions (IPv6
    // /64 subnets reach 1.8e19); past 1000E, scientific notation.
    const SUFFIXES: [(f64, &str); 7] = [
        (1.0, ""),
        (1e3, "k"),
        (1e6, "M"),
        (1e9, "B"),
        (1e12, "T"),
        (1e15, "P"),
        (1e18, "E"),
    ];
    if !v.is_finite() {
        return format!("{v}");
    }
    let mut i = SUFFIXES
        .iter()
        .rposition(|(d, _)| v.abs() >= *d)
        .unwrap_or(0);
    loop {
        let (div, suffix) = SUFFIXES[i];
        let x = v / div;
        // Whole numbers from 10 up (and whole small counts); one decimal below 10.
        let (text, shown) = if x.abs() >= 10.0 || (i == 0 && x == x.round()) {
            (format!("{}", x.round()), x.round())
        } else {
            let t = format!("{x:.1}");
            let shown = t.parse::<f64>().unwrap_or(x);
            (t.trim_end_matches(".0").to_owned(), shown)
        };
        // 999,960 is "1M", not "1000k".
        if shown.abs() >= 1000.0 {
            if i + 1 < SUFFIXES.len() {
                i += 1;
                continue;
            }
            return format!("{v:.1e}");
        }
        return format!("{text}{suffix}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_monotonic_and_invertible() {
        let values = [1.0, 1.0, 1.0, 2.0, 3.0, 10.0, 100.0, 1000.0];
        for kind in [
            ScaleKind::EqHist,
            ScaleKind::Log,
            ScaleKind::Cbrt,
            ScaleKind::Linear,
        ] {
            let s = ColorScale::fit(kind, values.iter().copied());
            assert_eq!(s.position(0.0), None, "{kind:?}: zero is transparent");
            assert_eq!(s.position(1000.0), Some(1.0), "{kind:?}");
            let mut last = -1.0;
            for v in [1.0, 2.0, 3.0, 10.0, 100.0, 1000.0] {
                let t = s.position(v).unwrap();
                assert!(t >= last, "{kind:?} not monotonic at {v}");
                last = t;
                let back = s.value_at(t);
                assert!(
                    (back - v).abs() / v < 1e-9,
                    "{kind:?}: {v} -> {t} -> {back}"
                );
            }
        }
    }

    #[test]
    fn ticks_are_round_spaced_and_never_repeat() {
        let check = |s: &ColorScale| {
            let t = s.ticks();
            assert!(!t.is_empty());
            for w in t.windows(2) {
                assert!(w[1].0 - w[0].0 >= 0.1 - 1e-12, "{t:?}");
                assert_ne!(w[0].1, w[1].1, "{t:?}");
            }
            t.into_iter().map(|(_, l)| l).collect::<Vec<_>>()
        };
        let counts: Vec<f64> = (0..2000)
            .map(|i| (1.0 + f64::from(i) * 90.5).round())
            .collect();
        for kind in [
            ScaleKind::EqHist,
            ScaleKind::Log,
            ScaleKind::Cbrt,
            ScaleKind::Linear,
        ] {
            let labels = check(&ColorScale::fit(kind, counts.iter().copied()));
            let round = [
                "1", "2", "5", "10", "20", "50", "100", "200", "500", "1k", "2k", "5k", "10k",
                "20k", "50k", "100k",
            ];
            assert!(
                labels.iter().all(|l| round.contains(&l.as_str())),
                "{kind:?}: {labels:?}"
            );
        }
        // The log bar starts at the smallest count, not at zero.
        let log = ColorScale::fit(ScaleKind::Log, [20.0, 400.0, 8800.0].into_iter());
        assert_eq!(log.position(20.0), Some(0.0));
        assert_eq!(check(&log)[0], "20");
        // Few values: every whole step; integers only for integer counts.
        assert_eq!(
            check(&ColorScale::fit(ScaleKind::Linear, [3.0, 7.0].into_iter())),
            ["3", "4", "5", "6", "7"]
        );
        assert_eq!(
            check(&ColorScale::fit(ScaleKind::EqHist, [7.0].into_iter())),
            ["7"]
        );
        // Blurred densities are fractions: small round values, not "0.0" twice.
        let blurred: Vec<f64> = (1..200).map(|i| f64::from(i) * 0.0003).collect();
        let labels = check(&ColorScale::fit(ScaleKind::Linear, blurred.into_iter()));
        assert!(
            labels.contains(&"0.01".to_owned()) && labels.contains(&"0.05".to_owned()),
            "{labels:?}"
        );
    }

    #[test]
    fn eq_hist_spreads_skewed_data() {
        // Most pixels hold 1, a few hold huge counts: linear would show only the few.
        let mut values = vec![1.0; 900];
        values.extend((1..=100).map(|i| f64::from(i) * 1000.0));
        let eq = ColorScale::fit(ScaleKind::EqHist, values.iter().copied());
        let lin = ColorScale::fit(ScaleKind::Linear, values.iter().copied());
        assert_eq!(eq.position(1.0), Some(0.0));
        assert!(eq.position(50_000.0).unwrap() > 0.45 && eq.position(50_000.0).unwrap() < 0.55);
        assert!(lin.position(1000.0).unwrap() < 0.02);
    }

    #[test]
    fn short_counts() {
        assert_eq!(short_count(0.0), "0");
        assert_eq!(short_count(7.0), "7");
        assert_eq!(short_count(950.0), "950");
        assert_eq!(short_count(1234.0), "1.2k");
        assert_eq!(short_count(56_000.0), "56k");
        assert_eq!(short_count(3_400_000.0), "3.4M");
        assert_eq!(short_count(2_000_000_000.0), "2B");
        assert_eq!(short_count(194_660e9), "195T");
        assert_eq!(short_count(1.012_914e18), "1E");
        assert_eq!(short_count(3.4e15), "3.4P");
        assert_eq!(short_count(999_960.0), "1M");
        assert_eq!(short_count(999.7), "1k");
        assert_eq!(short_count(9.96), "10");
        assert_eq!(short_count(2.5), "2.5");
        assert_eq!(short_count(1.8e22), "1.8e22");
    }
}
