#![no_main]
//! Tally files: any bytes are refused cleanly or read; what is read writes back and reads
//! again to the same tally.

use ipatlas::Tally;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((tally, databases)) = Tally::from_json("fuzz.json", data) else {
        return;
    };
    let text = serde_json::to_vec(&tally.to_file(databases.clone())).expect("serialise");
    let (again, dbs_again) = Tally::from_json("again.json", &text).expect("round trip");
    assert_eq!(dbs_again, databases);
    assert_eq!(again.places(), tally.places());
    assert_eq!(again.detail(), tally.detail());
    assert_eq!(again.counters, tally.counters);
});
