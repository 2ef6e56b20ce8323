//! Plane geometry on longitude/latitude: rings and polygons, the antimeridian split, ring
//! orientation, and the outlines of grid cells and H3 cells. Below everything that draws or
//! writes shapes (`basemap`, `tally`, `export`, `render`), so none of them reaches into
//! another for it.

/// A closed ring of `(longitude, latitude)` points, in degrees.
pub type Ring = Vec<(f64, f64)>;

/// A polygon: its exterior ring and its holes.
#[derive(Clone, Debug, PartialEq)]
pub struct Polygon {
    /// Outer boundary.
    pub exterior: Ring,
    /// Holes.
    pub holes: Vec<Ring>,
}

/// Splits a ring that crosses the antimeridian (a step of more than 180° in longitude) into
/// rings on either side, so it is not smeared across the map. Natural Earth's rings are
/// already split; user shapefiles may not be.
#[must_use]
pub fn split_antimeridian(ring: &[(f64, f64)]) -> Vec<Ring> {
    let crosses = ring.windows(2).any(|w| (w[1].0 - w[0].0).abs() > 180.0);
    if !crosses {
        return vec![ring.to_vec()];
    }
    // Unwrap longitudes into one continuous run, then clip the run to each 360° window.
    let mut unwrapped = Vec::with_capacity(ring.len());
    let mut offset = 0.0;
    for (i, &(lon, lat)) in ring.iter().enumerate() {
        if i > 0 {
            let prev = ring[i - 1].0;
            if lon - prev > 180.0 {
                offset -= 360.0;
            } else if prev - lon > 180.0 {
                offset += 360.0;
            }
        }
        unwrapped.push((lon + offset, lat));
    }
    let (lo, hi) = unwrapped
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let mut out = Vec::new();
    let mut shift = ((lo + 180.0) / 360.0).floor() * 360.0;
    while shift - 180.0 < hi {
        let clipped = clip_x(
            &clip_x(&unwrapped, shift - 180.0, true),
            shift + 180.0,
            false,
        );
        if clipped.len() >= 3 {
            out.push(clipped.into_iter().map(|(x, y)| (x - shift, y)).collect());
        }
        shift += 360.0;
    }
    out
}

/// Sutherland-Hodgman against one vertical line: keeps `x >= edge` (or `x <= edge`).
fn clip_x(ring: &[(f64, f64)], edge: f64, keep_greater: bool) -> Vec<(f64, f64)> {
    let inside = |p: (f64, f64)| {
        if keep_greater {
            p.0 >= edge
        } else {
            p.0 <= edge
        }
    };
    let mut out = Vec::new();
    for i in 0..ring.len() {
        let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
        let cross =
            |a: (f64, f64), b: (f64, f64)| (edge, a.1 + (b.1 - a.1) * (edge - a.0) / (b.0 - a.0));
        match (inside(a), inside(b)) {
            (true, true) => out.push(b),
            (true, false) => out.push(cross(a, b)),
            (false, true) => {
                out.push(cross(a, b));
                out.push(b);
            }
            (false, false) => {}
        }
    }
    out
}

/// Rounds a ring to 6 decimals, drops repeated points, closes it and orients it
/// (counter-clockwise when `ccw`). `None` for a ring that collapses (no area).
#[must_use]
pub fn normalize_ring(ring: &[(f64, f64)], ccw: bool) -> Option<Vec<(f64, f64)>> {
    let mut pts: Vec<(f64, f64)> = Vec::with_capacity(ring.len() + 1);
    for &(x, y) in ring {
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        let p = (round6(x), round6(y));
        if pts.last() != Some(&p) {
            pts.push(p);
        }
    }
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() < 3 {
        return None;
    }
    let area2: f64 = (0..pts.len())
        .map(|i| {
            let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum();
    if area2 == 0.0 {
        return None;
    }
    if (area2 > 0.0) != ccw {
        // Reverse the direction but keep the starting vertex.
        pts[1..].reverse();
    }
    pts.push(pts[0]);
    Some(pts)
}

/// A grid cell's outline with its edges sampled (they are curves in most projections).
pub fn cell_ring((lat0, lon0, lat1, lon1): (f64, f64, f64, f64), deg: f64) -> Ring {
    let steps = ((deg / 2.0).ceil() as usize).clamp(1, 16);
    let mut ring = Vec::with_capacity(4 * steps);
    let lerp = |a: f64, b: f64, i: usize| a + (b - a) * i as f64 / steps as f64;
    for i in 0..steps {
        ring.push((lerp(lon0, lon1, i), lat0));
    }
    for i in 0..steps {
        ring.push((lon1, lerp(lat0, lat1, i)));
    }
    for i in 0..steps {
        ring.push((lerp(lon1, lon0, i), lat1));
    }
    for i in 0..steps {
        ring.push((lon0, lerp(lat1, lat0, i)));
    }
    ring
}

/// The boundary of an H3 cell as `(lon, lat)` rings, split where it crosses the antimeridian.
#[must_use]
pub fn hex_rings(cell: h3o::CellIndex) -> Vec<Vec<(f64, f64)>> {
    let mut ring: Vec<(f64, f64)> = cell
        .boundary()
        .iter()
        .map(|ll| (ll.lng(), ll.lat()))
        .collect();
    if let Some(first) = ring.first().copied() {
        ring.push(first);
    }
    split_antimeridian(&ring)
}

/// A coordinate rounded to 6 decimals (about 0.1 m), as GeoJSON outputs write them.
#[must_use]
pub fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_across_the_antimeridian_are_split() {
        let ring = vec![
            (170.0, -10.0),
            (-170.0, -10.0),
            (-170.0, 10.0),
            (170.0, 10.0),
            (170.0, -10.0),
        ];
        let parts = split_antimeridian(&ring);
        assert_eq!(parts.len(), 2, "{parts:?}");
        for p in &parts {
            assert!(
                p.windows(2).all(|w| (w[1].0 - w[0].0).abs() <= 180.0),
                "{p:?}"
            );
            assert!(p.iter().all(|(x, _)| (-180.0..=180.0).contains(x)), "{p:?}");
        }
        let plain = vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)];
        assert_eq!(split_antimeridian(&plain), vec![plain.clone()]);
    }

    #[test]
    fn rings_are_closed_oriented_and_rounded() {
        // Clockwise square as shapefiles store exteriors, with a repeated point.
        let cw = [
            (0.0, 0.0),
            (0.0, 1.0),
            (0.0, 1.0),
            (1.0000001, 1.0),
            (1.0, 0.0),
            (0.0, 0.0),
        ];
        assert_eq!(
            normalize_ring(&cw, true).unwrap(),
            vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]
        );
        assert_eq!(
            normalize_ring(&cw, false).unwrap(),
            vec![(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.0, 0.0)]
        );
        assert!(normalize_ring(&[(0.0, 0.0), (1.0, 1.0), (0.0, 0.0)], true).is_none());
        assert!(
            normalize_ring(&[(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (0.0, 0.0)], true).is_none(),
            "zero area"
        );
    }
}
