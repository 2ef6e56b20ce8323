#![no_main]
//! Opening an `.mmdb` from arbitrary bytes, and everything that walks one: the compiled
//! tables, lookups through tree and tables, the direct record reader against the general
//! decoder, and the rewrite to a source (`export`).

use ipatlas::formats;
use ipatlas::locate::{Atlas, CountryFallback, Database, FieldOverrides, NO_RECORD};
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;
use std::sync::atomic::AtomicBool;

fuzz_target!(|data: &[u8]| {
    let Ok(db) = Database::from_memory("fuzz".into(), data.to_vec(), &FieldOverrides::default())
    else {
        return;
    };
    // Records read directly give the general decoder's places.
    if let Err(e) = db.check_direct_reader(256) {
        panic!("the direct record reader differs: {e}");
    }
    let _ = formats::from_database(&db);
    let Ok(atlas) = Atlas::new(vec![db], CountryFallback::Registered) else {
        return;
    };
    let table = atlas.ipv4_table(None, &AtomicBool::new(false));
    for ip in [0u32, 1, 0x0100_0000, 0x7f00_0001, 0xc0a8_0001, u32::MAX] {
        let tree = atlas.record(IpAddr::V4(ip.into()));
        if let (Ok(Some(t)), Ok(tree)) = (&table, tree) {
            let id = t.lookup(ip);
            let found = tree.is_ok();
            assert_eq!(id != NO_RECORD, found, "table and tree agree at {ip:#x}");
            // Where the table gives networks, they are the tree's.
            if let (true, Ok(ipatlas::locate::Answer::Found { network, .. })) =
                (found && t.exact_networks(), atlas.answer(IpAddr::V4(ip.into())))
            {
                let (_, prefix) = t.lookup_network(ip);
                assert_eq!(network.prefix(), prefix, "table and tree networks at {ip:#x}");
            }
        }
    }
    // The IPv6 table: where it answers, the tree finds the same record.
    let table6 = atlas.ipv6_table(None, &AtomicBool::new(false));
    for ip in [0u128, 1 << 32, 1 << 64, 0x2001_0db8 << 96, 0x2002 << 112, u128::MAX] {
        let tree = atlas.record(IpAddr::V6(ip.into()));
        if let (Ok(Some(t)), Ok(tree)) = (&table6, tree) {
            let id = t.lookup(ip);
            if id != NO_RECORD {
                assert_eq!(Ok(t.record(id).0), tree, "IPv6 table and tree agree at {ip:#x}");
            }
        }
    }
    let _ = atlas.answer("2001:db8::1".parse().unwrap());
    let _ = atlas.answer("::ffff:1.2.3.4".parse().unwrap());
});
