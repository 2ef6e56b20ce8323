//! Map projections (through proj4rs, a Rust port of PROJ), the projection a map's area gets,
//! its central meridian, and the projected extent of a map.
//!
//! proj4rs always works centred on the prime meridian here: a projection's central
//! meridian (`lon0`) is applied by shifting longitudes before projecting, so rings can be
//! cut at the seam (`lon0 ± 180°`) in the same shifted coordinates.

use crate::error::{Error, Result};
use crate::geometry::split_antimeridian;
use proj4rs::Proj;

/// The projections maps can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectionKind {
    /// Equal Earth (Šavrič, Patterson & Jenny 2018): equal-area, the default for the world.
    EqualEarth,
    /// Robinson: a compromise projection.
    Robinson,
    /// Plate carrée: longitude and latitude as x and y.
    Equirectangular,
    /// Mercator, clipped at ±85.0511° (the web map square).
    Mercator,
    /// Lambert azimuthal equal-area, centred on the map's area: the default for regions
    /// near the equator or the poles, taller than wide, or small.
    LambertAzimuthal,
    /// Albers equal-area conic, with standard parallels at a sixth of the way in from the
    /// box's south and north edges: the default for mid-latitude regions wider than tall.
    Albers,
}

impl ProjectionKind {
    /// Every projection with the name `--projection` takes.
    pub const ALL: [(&'static str, ProjectionKind); 6] = [
        ("equal-earth", ProjectionKind::EqualEarth),
        ("robinson", ProjectionKind::Robinson),
        ("equirectangular", ProjectionKind::Equirectangular),
        ("mercator", ProjectionKind::Mercator),
        ("lambert-azimuthal", ProjectionKind::LambertAzimuthal),
        ("albers", ProjectionKind::Albers),
    ];

    /// The name `--projection` takes.
    #[must_use]
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("equal-earth", |(n, _)| n)
    }

    /// The name subtitles print.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            ProjectionKind::EqualEarth => "Equal Earth",
            ProjectionKind::Robinson => "Robinson",
            ProjectionKind::Equirectangular => "Equirectangular",
            ProjectionKind::Mercator => "Mercator",
            ProjectionKind::LambertAzimuthal => "Lambert azimuthal equal-area",
            ProjectionKind::Albers => "Albers equal-area conic",
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

    /// The projection a map of `bbox` gets when none is asked for (Equal Earth for the
    /// world). A polar cap (a box around a pole: all longitudes, from the pole to 30° or
    /// more from the equator) gets Lambert azimuthal equal-area centred on the pole; any
    /// other box wider than 150° or taller than 100° is a world map centred on it (Equal
    /// Earth); a mid-latitude box (centre between 20° and 70° from the equator, all of it
    /// on one side of the equator) wider than tall gets Albers; any other box (equatorial,
    /// polar, taller than wide) gets Lambert azimuthal equal-area centred on it.
    #[must_use]
    pub fn for_area(bbox: Option<Bbox>) -> ProjectionKind {
        let Some(b) = bbox else {
            return ProjectionKind::EqualEarth;
        };
        let (w, h) = (b.lon1 - b.lon0, b.lat1 - b.lat0);
        if b.polar_cap().is_some() {
            return ProjectionKind::LambertAzimuthal;
        }
        if w > 150.0 || h > 100.0 {
            return ProjectionKind::EqualEarth;
        }
        let mid = (b.lat0 + b.lat1) / 2.0;
        // Width on the ground against height.
        let wide = w * mid.to_radians().cos() >= h;
        let one_side = b.lat0 * b.lat1 >= 0.0;
        if one_side && (20.0..=70.0).contains(&mid.abs()) && wide {
            ProjectionKind::Albers
        } else {
            ProjectionKind::LambertAzimuthal
        }
    }
}

/// A projection as asked for (`--projection NAME[:LON0]`, `--lon0`): a kind, or `None` to
/// let the map's area choose ([`ProjectionKind::for_area`]), and a central meridian, or
/// `None` for the box's centre (0° for the world).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProjectionSpec {
    /// The projection; `None` chooses for the area.
    pub kind: Option<ProjectionKind>,
    /// The central meridian in degrees; `None` centres on the area.
    pub lon0: Option<f64>,
}

impl ProjectionSpec {
    /// Parses `auto`, a projection's name, or `name:lon0` (`equal-earth:150`).
    pub fn parse(text: &str) -> Result<ProjectionSpec> {
        let names: Vec<&str> = ProjectionKind::ALL.iter().map(|(n, _)| *n).collect();
        let bad = |why: String| Error::Option {
            name: "projection",
            message: format!(
                "{why}; it takes auto or one of {}, optionally with a central meridian in degrees (equal-earth:150)",
                names.join(", ")
            ),
        };
        let (name, lon0) = match text.split_once(':') {
            Some((n, l)) => (n.trim(), Some(l.trim())),
            None => (text.trim(), None),
        };
        let kind = if name == "auto" {
            None
        } else {
            Some(
                ProjectionKind::ALL
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, k)| *k)
                    .ok_or_else(|| bad(format!("{name:?} is not a projection")))?,
            )
        };
        let lon0 = lon0
            .map(|l| parse_lon0(l).map_err(|_| bad(format!("{l:?} is not a longitude"))))
            .transpose()?;
        Ok(ProjectionSpec { kind, lon0 })
    }

    /// Adds a central meridian given on its own (`--lon0`); refused when the projection
    /// already names a different one.
    pub fn with_lon0(self, lon0: Option<f64>) -> Result<ProjectionSpec> {
        match (self.lon0, lon0) {
            (Some(a), Some(b)) if a != b => Err(Error::Option {
                name: "lon0",
                message: format!(
                    "says {b} but --projection says {a}: give the central meridian once"
                ),
            }),
            (_, Some(b)) => Ok(ProjectionSpec {
                lon0: Some(check_lon0(b)?),
                ..self
            }),
            _ => Ok(self),
        }
    }
}

/// Parses a central meridian: a finite number of degrees from -180 to 180.
pub fn parse_lon0(text: &str) -> Result<f64> {
    let v: f64 = text.trim().parse().map_err(|_| Error::Option {
        name: "lon0",
        message: format!("takes a longitude in degrees from -180 to 180, got {text:?}"),
    })?;
    check_lon0(v)
}

fn check_lon0(v: f64) -> Result<f64> {
    if v.is_finite() && (-180.0..=180.0).contains(&v) {
        Ok(v)
    } else {
        Err(Error::Option {
            name: "lon0",
            message: format!("takes a longitude in degrees from -180 to 180, got {v}"),
        })
    }
}

/// Mercator's latitude limit in degrees: where the web Mercator map is square.
pub const MERCATOR_MAX_LAT: f64 = 85.051_128_779_806_6;

/// A longitude brought into -180..=180 (180 itself stays; -180 stays).
#[must_use]
pub fn wrap180(lon: f64) -> f64 {
    if (-180.0..=180.0).contains(&lon) {
        lon
    } else {
        lon - 360.0 * ((lon + 180.0) / 360.0).floor()
    }
}

/// A ready projection: degrees in, metres out.
pub struct Projection {
    kind: ProjectionKind,
    /// Central meridian, degrees.
    lon0: f64,
    /// Latitude of the centre (Lambert) or origin (Albers), degrees.
    lat0: f64,
    /// Albers' standard parallels.
    parallels: Option<(f64, f64)>,
    src: Proj,
    dst: Proj,
}

impl std::fmt::Debug for Projection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Projection({})", self.definition())
    }
}

impl Projection {
    /// Sets up a projection centred on the prime meridian (and the equator; Albers with
    /// standard parallels 29.5°N and 45.5°N).
    pub fn new(kind: ProjectionKind) -> Result<Self> {
        Self::centred(kind, 0.0, 0.0, Some((29.5, 45.5)))
    }

    /// The projection a map of `bbox` (the world when `None`) draws with, as `spec` asks.
    pub fn for_map(spec: ProjectionSpec, bbox: Option<Bbox>) -> Result<Self> {
        let kind = spec.kind.unwrap_or_else(|| ProjectionKind::for_area(bbox));
        let Some(b) = bbox else {
            let mut p = Self::new(kind)?;
            if let Some(lon0) = spec.lon0 {
                p.lon0 = lon0;
            }
            return Ok(p);
        };
        let lon0 = spec
            .lon0
            .unwrap_or_else(|| wrap180((b.lon0 + b.lon1) / 2.0));
        // A polar cap is seen from above its pole.
        let lat0 = b.polar_cap().unwrap_or((b.lat0 + b.lat1) / 2.0);
        let h = b.lat1 - b.lat0;
        let parallels = (b.lat0 + h / 6.0, b.lat1 - h / 6.0);
        let lat0 = match kind {
            ProjectionKind::LambertAzimuthal | ProjectionKind::Albers => lat0,
            _ => 0.0,
        };
        Self::centred(kind, lon0, lat0, Some(parallels))
    }

    fn centred(
        kind: ProjectionKind,
        lon0: f64,
        lat0: f64,
        parallels: Option<(f64, f64)>,
    ) -> Result<Self> {
        let parallels = parallels.filter(|_| kind == ProjectionKind::Albers);
        if let Some((a, b)) = parallels
            && (a + b).abs() < 1e-6
        {
            return Err(Error::Option {
                name: "projection",
                message: format!(
                    "albers needs its standard parallels ({a:.2}° and {b:.2}°) off the equator's symmetry: move the box off the equator or use lambert-azimuthal"
                ),
            });
        }
        let (src, dst) = proj_strings(kind, 0.0, lat0, parallels);
        let parse = |s: &str| {
            Proj::from_proj_string(s).map_err(|e| Error::Usage(format!("projection {s}: {e}")))
        };
        Ok(Projection {
            kind,
            lon0,
            lat0,
            parallels,
            src: parse(&src)?,
            dst: parse(&dst)?,
        })
    }

    /// The PROJ definition of the map's projection (`+proj=aea +lat_1=...`), for
    /// reprojecting the map's coordinates elsewhere.
    #[must_use]
    pub fn definition(&self) -> String {
        proj_strings(self.kind, self.lon0, self.lat0, self.parallels).1
    }

    /// How subtitles name it: `Albers equal-area conic (37.7°N, 44.3°N; 74°W)`,
    /// `Equal Earth (150°E)`; plain for a world map on the prime meridian.
    #[must_use]
    pub fn describe(&self) -> String {
        let d = |v: f64, p: char, n: char| degrees((v * 10.0).round() / 10.0, p, n);
        let centre = d(self.lon0, 'E', 'W');
        match self.kind {
            ProjectionKind::LambertAzimuthal => format!(
                "{} ({}, {centre})",
                self.kind.title(),
                d(self.lat0, 'N', 'S')
            ),
            ProjectionKind::Albers => {
                let (a, b) = self.parallels.unwrap_or((29.5, 45.5));
                format!(
                    "{} ({}, {}; {centre})",
                    self.kind.title(),
                    d(a, 'N', 'S'),
                    d(b, 'N', 'S')
                )
            }
            _ if self.lon0 == 0.0 => self.kind.title().to_owned(),
            _ => format!("{} ({centre})", self.kind.title()),
        }
    }

    /// Which projection this is.
    #[must_use]
    pub fn kind(&self) -> ProjectionKind {
        self.kind
    }

    /// The central meridian, degrees.
    #[must_use]
    pub fn lon0(&self) -> f64 {
        self.lon0
    }

    /// Projects a longitude/latitude in degrees to metres. Latitudes beyond the projection's
    /// limit (Mercator) are clamped to it; `None` only for a point the projection rejects.
    #[must_use]
    pub fn forward(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        self.forward_shifted(wrap180(lon - self.lon0), lat)
    }

    /// Projects a longitude already taken relative to the central meridian (-180..=180).
    /// Lambert's azimuthal projection leaves out the half degree around the centre's
    /// antipode, where it tears (and its numbers blow up).
    fn forward_shifted(&self, lam: f64, lat: f64) -> Option<(f64, f64)> {
        let max = self.kind.max_lat();
        if self.kind == ProjectionKind::LambertAzimuthal {
            let (p0, p) = (self.lat0.to_radians(), lat.to_radians());
            let cos_c = p0.sin() * p.sin() + p0.cos() * p.cos() * lam.to_radians().cos();
            if cos_c < 179.5f64.to_radians().cos() {
                return None;
            }
        }
        let mut p = (
            lam.clamp(-180.0, 180.0).to_radians(),
            lat.clamp(-max, max).to_radians(),
            0.0,
        );
        proj4rs::transform::transform(&self.src, &self.dst, &mut p).ok()?;
        (p.0.is_finite() && p.1.is_finite()).then_some((p.0, p.1))
    }

    /// The longitude/latitude of a projected point: the longitude within 180° of the
    /// central meridian (so possibly beyond ±180 when that is not 0), `None` outside the
    /// projection's domain.
    #[must_use]
    pub fn inverse(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let mut p = (x, y, 0.0);
        proj4rs::transform::transform(&self.dst, &self.src, &mut p).ok()?;
        let (lam, lat) = (p.0.to_degrees(), p.1.to_degrees());
        if !(lam.abs() <= 180.0 + 1e-9 && lat.abs() <= 90.0 + 1e-9) {
            return None;
        }
        // A point off the globe may come back as some other point: only round trips
        // (within a metre) count.
        let back = self.forward_shifted(lam, lat)?;
        ((back.0 - x).abs() < 1.0 && (back.1 - y).abs() < 1.0).then_some((self.lon0 + lam, lat))
    }

    /// A ring's longitudes taken relative to the central meridian, closed (its first point
    /// repeated at the end) so a crossing of the seam by its closing edge is seen.
    fn shifted_ring(&self, ring: &[(f64, f64)]) -> Vec<(f64, f64)> {
        let mut shifted: Vec<(f64, f64)> = ring
            .iter()
            .map(|&(lon, lat)| (wrap180(lon - self.lon0), lat))
            .collect();
        if let (Some(first), Some(last)) = (shifted.first().copied(), shifted.last().copied())
            && first != last
        {
            shifted.push(first);
        }
        shifted
    }

    /// A closed ring of (lon, lat) points as projected rings, cut where it crosses the
    /// seam opposite the central meridian so it is not smeared across the map.
    #[must_use]
    pub fn rings(&self, ring: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
        split_antimeridian(&self.shifted_ring(ring))
            .into_iter()
            .map(|part| {
                part.into_iter()
                    .filter_map(|(lam, lat)| self.forward_shifted(lam, lat))
                    .collect::<Vec<_>>()
            })
            .filter(|p| p.len() >= 3)
            .collect()
    }

    /// Whether an edge between two shifted points only closes a shape along a cut: the
    /// antimeridian (where Natural Earth splits its rings), this projection's seam, a pole.
    fn cut_edge(&self, p: (f64, f64), q: (f64, f64)) -> bool {
        let cut_lam = wrap180(180.0 - self.lon0);
        let on = |a: f64, b: f64| (a - b).abs() < 1e-9;
        (on(p.0.abs(), 180.0) && on(q.0.abs(), 180.0))
            || (on(p.0, cut_lam) && on(q.0, cut_lam))
            || (on(p.1.abs(), 90.0) && on(q.1.abs(), 90.0))
    }

    /// Whether a closed ring of (lon, lat) points is cut on this map: split at the seam, or
    /// closed along a cut (see [`Projection::border_lines`]). Its outline is then not all
    /// border.
    #[must_use]
    pub fn is_cut(&self, ring: &[(f64, f64)]) -> bool {
        let shifted = self.shifted_ring(ring);
        if split_antimeridian(&shifted).len() > 1 {
            return true;
        }
        let closing = shifted.last().copied().zip(shifted.first().copied());
        shifted
            .windows(2)
            .map(|w| (w[0], w[1]))
            .chain(closing)
            .any(|(p, q)| self.cut_edge(p, q))
    }

    /// The borders of a closed ring of (lon, lat) points as projected open lines: its
    /// edges, less those that only close a shape along a cut (the antimeridian, where
    /// Natural Earth splits its rings; this projection's seam; a pole), which are not
    /// borders on the ground.
    #[must_use]
    pub fn border_lines(&self, ring: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
        let artificial = |p, q| self.cut_edge(p, q);
        let mut out = Vec::new();
        for part in split_antimeridian(&self.shifted_ring(ring)) {
            let mut closed = part.clone();
            if let (Some(first), Some(last)) = (part.first().copied(), part.last().copied())
                && first != last
            {
                closed.push(first);
            }
            let mut run: Vec<(f64, f64)> = Vec::new();
            for w in closed.windows(2) {
                if artificial(w[0], w[1]) {
                    if run.len() >= 2 {
                        out.push(std::mem::take(&mut run));
                    }
                    run.clear();
                    continue;
                }
                if run.is_empty()
                    && let Some(p) = self.forward_shifted(w[0].0, w[0].1)
                {
                    run.push(p);
                }
                if let Some(p) = self.forward_shifted(w[1].0, w[1].1) {
                    run.push(p);
                }
            }
            if run.len() >= 2 {
                out.push(run);
            }
        }
        out
    }

    /// An open line of (lon, lat) points as projected runs, broken where it crosses the
    /// seam.
    #[must_use]
    pub fn lines(&self, line: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
        let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut prev: Option<f64> = None;
        for &(lon, lat) in line {
            let lam = wrap180(lon - self.lon0);
            if prev.is_some_and(|p| (lam - p).abs() > 180.0) && !run.is_empty() {
                out.push(std::mem::take(&mut run));
            }
            prev = Some(lam);
            if let Some(p) = self.forward_shifted(lam, lat) {
                run.push(p);
            }
        }
        if run.len() >= 2 {
            out.push(run);
        }
        out.retain(|r| r.len() >= 2);
        out
    }

    /// The outline of the whole globe in this projection (for the ocean), as projected
    /// points: the seam's two sides and the latitude limits, or for Lambert's azimuthal
    /// projection the circle just inside its antipode.
    #[must_use]
    pub fn globe_outline(&self) -> Vec<(f64, f64)> {
        if self.kind == ProjectionKind::LambertAzimuthal {
            // The points 179.5° from the centre, in every direction.
            let (phi1, delta) = (self.lat0.to_radians(), 179.5f64.to_radians());
            return (0..720)
                .filter_map(|i| {
                    let t = f64::from(i).to_radians() / 2.0;
                    let lat = (phi1.sin() * delta.cos() + phi1.cos() * delta.sin() * t.cos())
                        .clamp(-1.0, 1.0)
                        .asin();
                    let lam = (t.sin() * delta.sin() * phi1.cos())
                        .atan2(delta.cos() - phi1.sin() * lat.sin());
                    self.forward_shifted(lam.to_degrees(), lat.to_degrees())
                })
                .collect();
        }
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
            .filter_map(|(lam, lat)| self.forward_shifted(lam, lat))
            .collect()
    }

    /// The projected bounding box `(x_min, y_min, x_max, y_max)` of a longitude/latitude box,
    /// found by sampling its edges (the edges of a box are curves in most projections).
    /// The world's box spans the seam's two sides, wherever the centre is.
    #[must_use]
    pub fn extent(&self, bbox: Bbox) -> (f64, f64, f64, f64) {
        let steps: u32 = 256;
        let mut ext = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        let (l0, l1) = if bbox.lon1 - bbox.lon0 >= 360.0 {
            (-180.0, 180.0)
        } else {
            (bbox.lon0 - self.lon0, bbox.lon1 - self.lon0)
        };
        // The world's edges do not bound every projection's globe (Lambert's azimuthal
        // one puts them all on its central meridian): its outline does.
        if bbox.lon1 - bbox.lon0 >= 360.0 && bbox.lat1 - bbox.lat0 >= 180.0 {
            for (px, py) in self.globe_outline() {
                ext = (ext.0.min(px), ext.1.min(py), ext.2.max(px), ext.3.max(py));
            }
        }
        for i in 0..=steps {
            let t = f64::from(i) / f64::from(steps);
            let lam = l0 + (l1 - l0) * t;
            let lat = bbox.lat0 + (bbox.lat1 - bbox.lat0) * t;
            for (x, y) in [(lam, bbox.lat0), (lam, bbox.lat1), (l0, lat), (l1, lat)] {
                if let Some((px, py)) = self.forward_shifted(wrap180(x), y) {
                    ext = (ext.0.min(px), ext.1.min(py), ext.2.max(px), ext.3.max(py));
                }
            }
        }
        ext
    }
}

/// The PROJ definitions (source, target) of a projection with central meridian `lon_0`,
/// centre or origin latitude `lat_0` and (Albers) standard parallels.
fn proj_strings(
    kind: ProjectionKind,
    lon_0: f64,
    lat_0: f64,
    parallels: Option<(f64, f64)>,
) -> (String, String) {
    let g = |v: f64| crate::util::trim_decimal(v, 6);
    let lon = g(lon_0);
    match kind {
        ProjectionKind::EqualEarth => (
            "+proj=longlat +ellps=WGS84".into(),
            format!("+proj=eqearth +lon_0={lon} +ellps=WGS84"),
        ),
        ProjectionKind::Robinson => (
            "+proj=longlat +R=6370997".into(),
            format!("+proj=robin +lon_0={lon} +R=6370997"),
        ),
        ProjectionKind::Equirectangular => (
            "+proj=longlat +ellps=WGS84".into(),
            format!("+proj=eqc +lon_0={lon} +ellps=WGS84"),
        ),
        // Spherical, as web maps (EPSG:3857): square at ±85.0511°.
        ProjectionKind::Mercator => (
            "+proj=longlat +R=6378137".into(),
            format!("+proj=merc +lon_0={lon} +R=6378137"),
        ),
        ProjectionKind::LambertAzimuthal => (
            "+proj=longlat +ellps=WGS84".into(),
            format!("+proj=laea +lat_0={} +lon_0={lon} +ellps=WGS84", g(lat_0)),
        ),
        ProjectionKind::Albers => {
            let (a, b) = parallels.unwrap_or((29.5, 45.5));
            (
                "+proj=longlat +ellps=WGS84".into(),
                format!(
                    "+proj=aea +lat_1={} +lat_2={} +lat_0={} +lon_0={lon} +ellps=WGS84",
                    g(a),
                    g(b),
                    g(lat_0)
                ),
            )
        }
    }
}

/// A degree value as labels write it: `40°N`, `0°`, `122.5°W`.
#[must_use]
pub fn degrees(value: f64, positive: char, negative: char) -> String {
    let v = crate::util::trim_decimal(value.abs(), 2);
    if value == 0.0 {
        "0°".to_owned()
    } else if value > 0.0 {
        format!("{v}°{positive}")
    } else {
        format!("{v}°{negative}")
    }
}

/// A longitude/latitude box in degrees. A box across the antimeridian has its east edge
/// beyond 180 (`170,-50,-170,-30` is held as 170 to 190), so `lon1 - lon0` is always its
/// width.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bbox {
    /// West edge.
    pub lon0: f64,
    /// South edge.
    pub lat0: f64,
    /// East edge (`lon0 < lon1 <= lon0 + 360`).
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

    /// Parses `lon0,lat0,lon1,lat1` (west, south, east, north). A west edge east of the
    /// east edge is a box across the antimeridian (`170,-50,-170,-30`).
    pub fn parse(text: &str) -> Result<Bbox> {
        let bad = || Error::Option {
            name: "bbox",
            message: format!(
                "takes lon0,lat0,lon1,lat1 in degrees (west,south,east,north; a west edge east of the east edge crosses the antimeridian), each side at least {} degrees, got {text:?}",
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
            && lat1 - lat0 >= Self::MIN_SIDE;
        // Across the antimeridian: the east edge is held beyond 180.
        let lon1 = if lon1 < lon0 { lon1 + 360.0 } else { lon1 };
        if !ok || lon1 - lon0 < Self::MIN_SIDE {
            return Err(bad());
        }
        Ok(Bbox {
            lon0,
            lat0,
            lon1,
            lat1,
        })
    }

    /// True when the point lies inside (edges included), at any of its longitude's
    /// turns (`-175` lies in a box from 170 to 190).
    #[must_use]
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.lat0..=self.lat1).contains(&lat)
            && [-360.0, 0.0, 360.0]
                .iter()
                .any(|t| (self.lon0..=self.lon1).contains(&(lon + t)))
    }

    /// The pole (90 or -90) of a box around one: all longitudes, from the pole to 30° or
    /// more from the equator.
    #[must_use]
    pub fn polar_cap(&self) -> Option<f64> {
        if self.lon1 - self.lon0 < 360.0 {
            return None;
        }
        if self.lat1 >= 90.0 && self.lat0 >= 30.0 {
            Some(90.0)
        } else if self.lat0 <= -90.0 && self.lat1 <= -30.0 {
            Some(-90.0)
        } else {
            None
        }
    }

    /// The larger side, in degrees.
    #[must_use]
    pub fn side(&self) -> f64 {
        (self.lon1 - self.lon0).max(self.lat1 - self.lat0)
    }

    /// True when the two boxes overlap (edges included), at any turn of longitude.
    #[must_use]
    pub fn overlaps(&self, other: &Bbox) -> bool {
        self.lat0 <= other.lat1
            && other.lat0 <= self.lat1
            && [-360.0, 0.0, 360.0]
                .iter()
                .any(|t| self.lon0 + t <= other.lon1 && other.lon0 <= self.lon1 + t)
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
        for bad in [
            "1,2,3",
            "10,0,10,5",
            "0,0,10,95",
            "a,b,c,d",
            "0,0,0,0",
            "0,5,10,0",
            "0,0,190,5",
        ] {
            assert!(Bbox::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_box_across_the_antimeridian_holds_both_sides() {
        let b = Bbox::parse("170,-50,-170,-30").unwrap();
        assert_eq!((b.lon0, b.lon1), (170.0, 190.0));
        assert!(b.contains(-175.0, -40.0) && b.contains(175.0, -40.0));
        assert!(!b.contains(0.0, -40.0) && !b.contains(-165.0, -40.0));
        assert!(!b.contains(-175.0, -20.0));
        let fiji = Bbox {
            lon0: -180.0,
            lat0: -21.0,
            lon1: -178.0,
            lat1: -16.0,
        };
        assert!(b.overlaps(&Bbox {
            lat0: -45.0,
            ..fiji
        }));
        assert!(!b.overlaps(&fiji), "north of the box");
        assert_eq!(
            ProjectionKind::for_area(Some(b)),
            ProjectionKind::LambertAzimuthal
        );
        let p = Projection::for_map(ProjectionSpec::default(), Some(b)).unwrap();
        assert_eq!(p.lon0(), 180.0);
        // Both sides of the antimeridian are next to each other on the map.
        let (w, e) = (
            p.forward(179.0, -40.0).unwrap(),
            p.forward(-179.0, -40.0).unwrap(),
        );
        assert!(w.0 < e.0 && e.0 - w.0 < 200_000.0, "{w:?} {e:?}");
    }

    /// EPSG Guidance Note 7-2's example for Lambert azimuthal equal-area (ETRS89-LAEA,
    /// EPSG:3035, centred on 52°N 10°E): 50°N 5°E is at E 3962799.45, N 2999718.85 with
    /// the false origin 4321000, 3210000 taken off. Albers: PROJ's test value (builtins.gie,
    /// GRS80, standard parallels 0° and 2°), moved to a central meridian of 30°E.
    #[test]
    fn regional_projections_match_published_coordinates() {
        let laea = Projection::centred(ProjectionKind::LambertAzimuthal, 10.0, 52.0, None).unwrap();
        close(
            laea.forward(5.0, 50.0).unwrap(),
            (3_962_799.45 - 4_321_000.0, 2_999_718.85 - 3_210_000.0),
            0.01,
        );
        close(laea.forward(10.0, 52.0).unwrap(), (0.0, 0.0), 1e-6);
        let aea = Projection::centred(ProjectionKind::Albers, 30.0, 0.0, Some((0.0, 2.0))).unwrap();
        close(
            aea.forward(32.0, 1.0).unwrap(),
            (222_571.608_757_106, 110_653.326_743_030),
            1e-3,
        );
        close(
            aea.forward(28.0, -1.0).unwrap(),
            (-222_706.306_508_391, -110_484.267_144_400),
            1e-3,
        );
        assert!(
            aea.definition().contains("+lon_0=30"),
            "{}",
            aea.definition()
        );
        // And back.
        let (lon, lat) = laea.inverse(-358_200.55, -210_281.15).unwrap();
        assert!(
            (lon - 5.0).abs() < 1e-6 && (lat - 50.0).abs() < 1e-6,
            "{lon} {lat}"
        );
    }

    #[test]
    fn each_kind_of_box_gets_its_projection() {
        let kind = |b: &str| ProjectionKind::for_area(Some(Bbox::parse(b).unwrap()));
        // Mid-latitude and wide: Albers.
        assert_eq!(
            kind("-82,36,-66,46"),
            ProjectionKind::Albers,
            "US east coast"
        );
        assert_eq!(
            kind("5.9,45.8,10.5,47.8"),
            ProjectionKind::Albers,
            "Switzerland"
        );
        assert_eq!(
            kind("-125,24,-66,50"),
            ProjectionKind::Albers,
            "conterminous US"
        );
        // Equatorial, polar, tall: Lambert azimuthal.
        assert_eq!(
            kind("103.6,1.2,104.1,1.48"),
            ProjectionKind::LambertAzimuthal,
            "Singapore"
        );
        assert_eq!(
            kind("-20,-35,52,38"),
            ProjectionKind::LambertAzimuthal,
            "Africa"
        );
        assert_eq!(
            kind("-180,60,180,90"),
            ProjectionKind::LambertAzimuthal,
            "the Arctic"
        );
        let arctic = Projection::for_map(
            ProjectionSpec::default(),
            Some(Bbox::parse("-180,60,180,90").unwrap()),
        )
        .unwrap();
        assert!(
            arctic
                .definition()
                .starts_with("+proj=laea +lat_0=90 +lon_0=0 ")
        );
        assert_eq!(
            kind("-180,-90,180,-55"),
            ProjectionKind::LambertAzimuthal,
            "the Antarctic"
        );
        assert_eq!(
            kind("-180,0,180,90"),
            ProjectionKind::EqualEarth,
            "a hemisphere"
        );
        assert_eq!(
            kind("-60,-90,60,-60"),
            ProjectionKind::LambertAzimuthal,
            "Antarctic"
        );
        assert_eq!(kind("-10,36,4,44"), ProjectionKind::Albers, "Iberia");
        assert_eq!(
            kind("6,36,19,47.5"),
            ProjectionKind::LambertAzimuthal,
            "Italy: taller than wide"
        );
        // Most of the world: Equal Earth, centred on the box.
        assert_eq!(
            kind("-170,-60,10,80"),
            ProjectionKind::EqualEarth,
            "the Americas"
        );
        assert_eq!(ProjectionKind::for_area(None), ProjectionKind::EqualEarth);
    }

    #[test]
    fn projections_are_named_with_an_optional_central_meridian() {
        let spec = ProjectionSpec::parse("equal-earth:150").unwrap();
        assert_eq!(spec.kind, Some(ProjectionKind::EqualEarth));
        assert_eq!(spec.lon0, Some(150.0));
        assert_eq!(
            ProjectionSpec::parse("auto").unwrap(),
            ProjectionSpec::default()
        );
        assert_eq!(
            ProjectionSpec::parse("albers").unwrap().kind,
            Some(ProjectionKind::Albers)
        );
        for bad in [
            "gnomonic",
            "equal-earth:200",
            "equal-earth:x",
            "robinson:",
            ":10",
        ] {
            assert!(ProjectionSpec::parse(bad).is_err(), "{bad}");
        }
        let spec = ProjectionSpec::parse("robinson:10").unwrap();
        assert!(spec.with_lon0(Some(20.0)).is_err(), "two meridians");
        assert_eq!(spec.with_lon0(Some(10.0)).unwrap().lon0, Some(10.0));
        assert!(ProjectionSpec::default().with_lon0(Some(181.0)).is_err());
        for (name, kind) in ProjectionKind::ALL {
            assert_eq!(kind.name(), name);
        }
    }

    /// A shape Natural Earth cut at the antimeridian, drawn on a map centred there: its
    /// cut is no border. Nor is an edge along a pole.
    #[test]
    fn borders_leave_out_the_cuts() {
        let p = Projection::for_map(
            ProjectionSpec::default(),
            Some(Bbox::parse("160,55,-160,75").unwrap()),
        )
        .unwrap();
        let edges = |lines: Vec<Vec<(f64, f64)>>| lines.iter().map(|l| l.len() - 1).sum::<usize>();
        let cut = [
            (170.0, 60.0),
            (180.0, 60.0),
            (180.0, 70.0),
            (170.0, 70.0),
            (170.0, 60.0),
        ];
        assert_eq!(edges(p.border_lines(&cut)), 3);
        // The same square away from any cut keeps all four.
        let whole = [(170.0, 60.0), (175.0, 60.0), (175.0, 70.0), (170.0, 70.0)];
        assert_eq!(edges(p.border_lines(&whole)), 4);
        let polar = [
            (-180.0, -90.0),
            (-180.0, -80.0),
            (-90.0, -80.0),
            (0.0, -80.0),
            (90.0, -80.0),
            (180.0, -80.0),
            (180.0, -90.0),
        ];
        let world = Projection::new(ProjectionKind::EqualEarth).unwrap();
        assert_eq!(
            edges(world.border_lines(&polar)),
            4,
            "only the coast at 80°S"
        );
    }

    /// A ring across the seam of a Pacific-centred world (30°W) is cut there: no edge of
    /// what is drawn spans the map.
    #[test]
    fn rings_are_cut_at_the_seam_opposite_the_central_meridian() {
        let p = Projection::for_map(
            ProjectionSpec {
                kind: Some(ProjectionKind::EqualEarth),
                lon0: Some(150.0),
            },
            None,
        )
        .unwrap();
        let (x0, _, x1, _) = p.extent(Bbox::WORLD);
        let ring = vec![
            (-40.0, 0.0),
            (-20.0, 0.0),
            (-20.0, 10.0),
            (-40.0, 10.0),
            (-40.0, 0.0),
        ];
        let parts = p.rings(&ring);
        assert_eq!(parts.len(), 2);
        for part in &parts {
            for w in part.windows(2) {
                assert!((w[1].0 - w[0].0).abs() < (x1 - x0) / 4.0, "{part:?}");
            }
        }
        // A ring away from the seam is one part, as it was.
        assert_eq!(p.rings(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]).len(), 1);
        // The world's extent is the same width wherever the centre is.
        let (a0, _, a1, _) = Projection::new(ProjectionKind::EqualEarth)
            .unwrap()
            .extent(Bbox::WORLD);
        assert!(((x1 - x0) - (a1 - a0)).abs() < 1.0);
        // A line along a parallel is broken at the seam.
        let line: Vec<(f64, f64)> = (0..=36)
            .map(|i| (-180.0 + 10.0 * f64::from(i), 20.0))
            .collect();
        assert_eq!(p.lines(&line).len(), 2);
    }
}
