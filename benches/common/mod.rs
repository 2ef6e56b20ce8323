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
