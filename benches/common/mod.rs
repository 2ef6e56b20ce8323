//! Deterministic inputs shared by the benches. They use the embedded database, which every
//! build has, so no bench silently measures an empty input.

#![allow(dead_code)]

use ipatlas::locate::{Atlas, CountryFallback, Database, FieldOverrides};

/// The embedded DB-IP country database as an atlas.
pub fn embedded_atlas() -> Atlas {
    let db = Database::embedded(&FieldOverrides::default()).expect("embedded database opens");
    Atlas::new(vec![db], CountryFallback::None).expect("atlas")
}

/// `n` IPv4 addresses, one per line, from a fixed xorshift sequence (spread over all of IPv4).
pub fn ipv4_lines(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x2545_F491;
    let mut out = Vec::with_capacity(n * 15);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(std::net::Ipv4Addr::from(x).to_string().as_bytes());
        out.push(b'\n');
    }
    assert_eq!(out.iter().filter(|b| **b == b'\n').count(), n);
    out
}

/// `n` IPv6 addresses, one per line, as logs write them (`Ipv6Addr`'s compressed form), from
/// a fixed xorshift sequence over 2000::/3.
pub fn ipv6_lines(n: usize) -> Vec<u8> {
    let mut x: u128 = 0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C834;
    let mut out = Vec::with_capacity(n * 30);
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Some with zero groups (so `::` appears), as real addresses often have.
        let ip = (0x2u128 << 124) | (x >> 3);
        let ip = if i % 3 == 0 {
            ip & !(0xffff_ffff << 32)
        } else {
            ip
        };
        out.extend_from_slice(std::net::Ipv6Addr::from(ip).to_string().as_bytes());
        out.push(b'\n');
    }
    out
}
