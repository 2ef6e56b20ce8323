//! Record schemas: which field paths hold the country and coordinates, and how to detect them.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A dotted field path inside a record, e.g. `location.latitude`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath(Vec<String>);

impl FieldPath {
    /// Parses `a.b.c`; empty segments are refused.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<String> = text.split('.').map(str::to_owned).collect();
        if parts.iter().any(String::is_empty) {
            return Err(format!("field path {text:?} has an empty segment"));
        }
        Ok(FieldPath(parts))
    }

    fn of(parts: &[&str]) -> Self {
        FieldPath(parts.iter().map(|s| (*s).to_owned()).collect())
    }

    /// The path's segments.
    #[must_use]
    pub fn segments(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// The known record layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaKind {
    /// MaxMind GeoIP2/GeoLite2 (and DB-IP's own .mmdb): `country.iso_code`, `location.*`.
    Nested,
    /// ip-location-db style: `country_code`, `latitude`, `longitude` at the top level.
    Flat,
}

impl SchemaKind {
    /// The name used in `info` and summaries.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SchemaKind::Nested => "nested",
            SchemaKind::Flat => "flat",
        }
    }
}

/// Field paths for every value a [`crate::Place`] needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    /// Detected (or assumed) layout.
    pub kind: SchemaKind,
    /// Path to the ISO country code.
    pub country: FieldPath,
    /// Path to the registered country's code (fallback), if the layout has one.
    pub registered_country: Option<FieldPath>,
    /// Path to the latitude in degrees.
    pub lat: FieldPath,
    /// Path to the longitude in degrees.
    pub lon: FieldPath,
    /// Path to the accuracy radius in km, if the layout has one.
    pub accuracy_radius: Option<FieldPath>,
}

impl Schema {
    /// The paths of a layout.
    #[must_use]
    pub fn of_kind(kind: SchemaKind) -> Self {
        match kind {
            SchemaKind::Nested => Schema {
                kind,
                country: FieldPath::of(&["country", "iso_code"]),
                registered_country: Some(FieldPath::of(&["registered_country", "iso_code"])),
                lat: FieldPath::of(&["location", "latitude"]),
                lon: FieldPath::of(&["location", "longitude"]),
                accuracy_radius: Some(FieldPath::of(&["location", "accuracy_radius"])),
            },
            SchemaKind::Flat => Schema {
                kind,
                country: FieldPath::of(&["country_code"]),
                registered_country: None,
                lat: FieldPath::of(&["latitude"]),
                lon: FieldPath::of(&["longitude"]),
                accuracy_radius: None,
            },
        }
    }

    /// Guesses the layout from the top-level keys of sample records.
    /// Returns `None` when no key says which layout it is.
    #[must_use]
    pub fn detect<'a>(sample_keys: impl IntoIterator<Item = &'a str>) -> Option<SchemaKind> {
        // Flat keys first: a flat record may also have a `city` (a string there).
        let keys: Vec<&str> = sample_keys.into_iter().collect();
        if keys
            .iter()
            .any(|k| matches!(*k, "country_code" | "latitude" | "longitude"))
        {
            return Some(SchemaKind::Flat);
        }
        keys.iter()
            .any(|k| {
                matches!(
                    *k,
                    "country"
                        | "location"
                        | "registered_country"
                        | "continent"
                        | "city"
                        | "subdivisions"
                )
            })
            .then_some(SchemaKind::Nested)
    }
}

/// User overrides of the detected field paths (`--country-field` etc.).
#[derive(Clone, Debug, Default)]
pub struct FieldOverrides {
    /// Replaces the country path.
    pub country: Option<FieldPath>,
    /// Replaces the latitude path.
    pub lat: Option<FieldPath>,
    /// Replaces the longitude path.
    pub lon: Option<FieldPath>,
}

impl FieldOverrides {
    /// True when no path is overridden.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.country.is_none() && self.lat.is_none() && self.lon.is_none()
    }

    /// Applies the overrides on top of a schema.
    pub fn apply(&self, schema: &mut Schema) {
        if let Some(p) = &self.country {
            schema.country = p.clone();
        }
        if let Some(p) = &self.lat {
            schema.lat = p.clone();
        }
        if let Some(p) = &self.lon {
            schema.lon = p.clone();
        }
    }
}

/// Any single database value, as far as a place needs it. Maps and arrays are skipped.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A UTF-8 string (flat schemas use `""` for unknown).
    Text(String),
    /// Any number (double, float, or integer), as f64.
    Number(f64),
    /// A boolean, a map, an array or bytes: nothing a place can use.
    Other,
}

impl Scalar {
    /// The value as a number: numbers as they are, non-empty numeric strings parsed.
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Scalar::Number(x) => Some(*x),
            Scalar::Text(t) if !t.trim().is_empty() => t.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value as text (strings only).
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Scalar::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any MaxMind DB value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Text(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v))
    }
    fn visit_f32<E: de::Error>(self, v: f32) -> Result<Scalar, E> {
        // Widen through the shortest decimal form, so a stored 37.751f32 reads as 37.751
        // rather than 37.75099945068359.
        Ok(Scalar::Number(
            v.to_string().parse().unwrap_or(f64::from(v)),
        ))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_layouts_from_keys() {
        assert_eq!(
            Schema::detect(["city", "country_code"]),
            Some(SchemaKind::Flat)
        );
        assert_eq!(
            Schema::detect(["continent", "country"]),
            Some(SchemaKind::Nested)
        );
        assert_eq!(Schema::detect(["autonomous_system_number"]), None);
    }

    #[test]
    fn field_paths_parse_and_refuse_empty_segments() {
        assert_eq!(
            FieldPath::parse("location.latitude").map(|p| p.to_string()),
            Ok("location.latitude".to_string())
        );
        assert!(FieldPath::parse("a..b").is_err());
        assert!(FieldPath::parse("").is_err());
    }

    #[test]
    fn scalars_treat_empty_strings_as_unknown() {
        assert_eq!(Scalar::Text(String::new()).as_f64(), None);
        assert_eq!(Scalar::Text("12.5".into()).as_f64(), Some(12.5));
        assert_eq!(Scalar::Number(-3.0).as_f64(), Some(-3.0));
        assert_eq!(Scalar::Other.as_f64(), None);
    }
}
