//! Map projections (through proj4rs, a Rust port of PROJ) and the projected extent of a map.

use crate::error::{Error, Result};
use proj4rs::Proj;

/// The projections maps can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ProjectionKind {
    /// Equal Earth (Šavrič, Patterson & Jenny 2018): equal-area, the default.
    EqualEarth,
    /// Robinson: a compromise projection.
    Robinson,
    /// Plate carrée: longitude and latitude as x and y.
    Equirectangular,
    /// Mercator, clipped at ±85.0511° (the web map square).
    Mercator,
}

impl ProjectionKind {
    /// The PROJ definition used (the source and target share one ellipsoid, so no datum shift).
    #[must_use]
    pub fn proj_strings(self) -> (&'static str, &'static str) {
        match self {
            ProjectionKind::EqualEarth => {
                ("+proj=longlat +ellps=WGS84", "+proj=eqearth +ellps=WGS84")
            }
            ProjectionKind::Robinson => ("+proj=longlat +R=6370997", "+proj=robin +R=6370997"),
            ProjectionKind::Equirectangular => {
                ("+proj=longlat +ellps=WGS84", "+proj=eqc +ellps=WGS84")
            }
            // Spherical, as web maps (EPSG:3857): square at ±85.0511°.
            ProjectionKind::Mercator => ("+proj=longlat +R=6378137", "+proj=merc +R=6378137"),
        }
    }

    /// The latitude limit: Mercator cannot show the poles.
    #[must_use]
    pub fn max_lat(self) -> f64 {
        match self {
            ProjectionKind::Mercator => MERCATOR_MAX_LAT,
            _ => 90.0,
        }
    }
}

/// Mercator's latitude limit in degrees: where the web Mercator map is square.
pub const MERCATOR_MAX_LAT: f64 = 85.051_128_779_806_6;

/// A ready projection: degrees in, metres out.
pub struct Projection {
    kind: ProjectionKind,
    src: Proj,
    dst: Proj,
}

impl std::fmt::Debug for Projection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Projection({:?})", self.kind)
    }
}

impl Projection {
    /// Sets up a projection.
    pub fn new(kind: ProjectionKind) -> Result<Self> {
        let (src, dst) = kind.proj_strings();
        let parse = |s: &str| {
            Proj::from_proj_string(s).map_err(|e| Error::Usage(format!("projection {s}: {e}")))
        };
        Ok(Projection {
            kind,
            src: parse(src)?,
            dst: parse(dst)?,
        })
    }

    /// Which projection this is.
    #[must_use]
    pub fn kind(&self) -> ProjectionKind {
        self.kind
    }

    /// Projects a longitude/latitude in degrees to metres. Latitudes beyond the projection's
    /// limit (Mercator) are clamped to it; `None` only for a point the projection rejects.
    #[must_use]
    pub fn forward(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        let max = self.kind.max_lat();
        let mut p = (
            lon.clamp(-180.0, 180.0).to_radians(),
            lat.clamp(-max, max).to_radians(),
            0.0,
        );
        proj4rs::transform::transform(&self.src, &self.dst, &mut p).ok()?;
        (p.0.is_finite() && p.1.is_finite()).then_some((p.0, p.1))
    }

    /// The outline of the whole globe in this projection (for the ocean), as projected points.
    #[must_use]
    pub fn globe_outline(&self) -> Vec<(f64, f64)> {
        let max = self.kind.max_lat();
        let steps = 180;
        let mut pts = Vec::with_capacity(4 * steps);
        let lerp = |a: f64, b: f64, i: usize| a + (b - a) * i as f64 / steps as f64;
        for i in 0..steps {
            pts.push((-180.0, lerp(-max, max, i)));
        }
        for i in 0..steps {
            pts.push((lerp(-180.0, 180.0, i), max));
        }
        for i in 0..steps {
            pts.push((180.0, lerp(max, -max, i)));
        }
        for i in 0..steps {
            pts.push((lerp(180.0, -180.0, i), -max));
        }
        pts.into_iter()
            .filter_map(|(lon, lat)| self.forward(lon, lat))
            .collect()
    }

    /// The projected bounding box `(x_min, y_min, x_max, y_max)` of a longitude/latitude box,
    /// found by sampling its edges (the edges of a box are curves in most projections).
    #[must_use]
    pub fn extent(&self, bbox: Bbox) -> (f64, f64, f64, f64) {
        let steps = 256;
        let mut ext = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            let lon = bbox.lon0 + (bbox.lon1 - bbox.lon0) * t;
            let lat = bbox.lat0 + (bbox.lat1 - bbox.lat0) * t;
            for (x, y) in [
                (lon, bbox.lat0),
                (lon, bbox.lat1),
                (bbox.lon0, lat),
                (bbox.lon1, lat),
            ] {
                if let Some((px, py)) = self.forward(x, y) {
                    ext = (ext.0.min(px), ext.1.min(py), ext.2.max(px), ext.3.max(py));
                }
            }
        }
        ext
    }
}

/// A longitude/latitude box in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bbox {
    /// West edge.
    pub lon0: f64,
    /// South edge.
    pub lat0: f64,
    /// East edge.
    pub lon1: f64,
    /// North edge.
    pub lat1: f64,
}

impl Bbox {
    /// The whole world.
    pub const WORLD: Bbox = Bbox {
        lon0: -180.0,
        lat0: -90.0,
        lon1: 180.0,
        lat1: 90.0,
    };

    /// The smallest side of a box, in degrees (about 11 m): smaller boxes are refused
    /// rather than drawn at absurd scales.
    pub const MIN_SIDE: f64 = 1e-4;

    /// Parses `lon0,lat0,lon1,lat1`.
    pub fn parse(text: &str) -> Result<Bbox> {
        let bad = || Error::Option {
            name: "bbox",
            message: format!(
                "takes lon0,lat0,lon1,lat1 in degrees (west,south,east,north), each side at least {} degrees, got {text:?}",
                Bbox::MIN_SIDE
            ),
        };
        let v: Vec<f64> = text
            .split(',')
            .map(|s| s.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad())?;
        let [lon0, lat0, lon1, lat1] = v[..] else {
            return Err(bad());
        };
        let ok = v.iter().all(|x| x.is_finite())
            && (-180.0..=180.0).contains(&lon0)
            && (-180.0..=180.0).contains(&lon1)
            && (-90.0..=90.0).contains(&lat0)
            && (-90.0..=90.0).contains(&lat1)
            && lon1 - lon0 >= Self::MIN_SIDE
            && lat1 - lat0 >= Self::MIN_SIDE;
        if !ok {
            return Err(bad());
        }
        Ok(Bbox {
            lon0,
            lat0,
            lon1,
            lat1,
        })
    }

    /// True when the point lies inside (edges included).
    #[must_use]
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.lon0..=self.lon1).contains(&lon) && (self.lat0..=self.lat1).contains(&lat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64), tol: f64) {
        assert!(
            (a.0 - b.0).abs() < tol && (a.1 - b.1).abs() < tol,
            "{a:?} != {b:?}"
        );
    }

    /// Reference values computed by PROJ (the source of truth proj4rs is tested against).
    /// Spherical Mercator's is PROJ's test/gie/builtins.gie value for `+R=6400000`, scaled to
    /// R = 6378137 (x and y are proportional to R).
    #[test]
    fn projections_match_published_reference_coordinates() {
        let ee = Projection::new(ProjectionKind::EqualEarth).unwrap();
        close(
            ee.forward(150.0, -30.0).unwrap(),
            (13_448_009.907_913_297, -3_764_325.426_892_128),
            1e-3,
        );
        close(
            ee.forward(-100.0, 60.0).unwrap(),
            (-7_225_128.360_577_337, 6_924_035.137_552_897),
            1e-3,
        );
        let robin = Projection::new(ProjectionKind::Robinson).unwrap();
        close(
            robin.forward(150.0, -30.0).unwrap(),
            (13_589_436.628_231_298, -3_204_965.794_434_718),
            1e-3,
        );
        close(
            robin.forward(20.0, -90.0).unwrap(),
            (1_004_485.839_929_09, -8_615_499.243_1),
            1e-3,
        );
        let merc = Projection::new(ProjectionKind::Mercator).unwrap();
        let k = 6_378_137.0 / 6_400_000.0;
        close(
            merc.forward(2.0, 1.0).unwrap(),
            (223_402.144_255_274 * k, 111_706.743_574_944 * k),
            1e-3,
        );
        let eqc = Projection::new(ProjectionKind::Equirectangular).unwrap();
        close(
            eqc.forward(2.0, 47.0).unwrap(),
            (222_638.981_586_547_13, 5_232_016.067_283_858),
            1e-3,
        );
    }

    #[test]
    fn mercator_is_clipped_and_square() {
        let merc = Projection::new(ProjectionKind::Mercator).unwrap();
        let (x0, y0, x1, y1) = merc.extent(Bbox::WORLD);
        assert!(
            ((x1 - x0) / (y1 - y0) - 1.0).abs() < 1e-3,
            "web Mercator world is square"
        );
        assert_eq!(merc.forward(0.0, 89.0), merc.forward(0.0, MERCATOR_MAX_LAT));
    }

    #[test]
    fn bboxes_parse_and_refuse_nonsense() {
        assert_eq!(
            Bbox::parse("-10,35,30,60").unwrap(),
            Bbox {
                lon0: -10.0,
                lat0: 35.0,
                lon1: 30.0,
                lat1: 60.0
            }
        );
        for bad in ["1,2,3", "10,0,-10,5", "0,0,10,95", "a,b,c,d", "0,0,0,0"] {
            assert!(Bbox::parse(bad).is_err(), "{bad}");
        }
    }
}
