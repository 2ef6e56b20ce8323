#![no_main]
//! The line parser in every mode (lines, a CSV column by number and by name, weighted,
//! extraction), and line input's fast path against the general parser.

use ipatlas::input::{Chunk, ColumnSpec, InputMode, scan, scan_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let chunk = Chunk {
        seq: 0,
        input: 0,
        first_line: 1,
        data: data.to_vec(),
        long_line: None,
    };
    let modes = [
        InputMode::Lines,
        InputMode::Extract,
        InputMode::Column {
            column: ColumnSpec::Index(1),
            delimiter: b',',
            weight: None,
        },
        InputMode::Column {
            column: ColumnSpec::Name("ip".into()),
            delimiter: b'\t',
            weight: None,
        },
        InputMode::Column {
            column: ColumnSpec::Index(0),
            delimiter: b'\t',
            weight: Some(ColumnSpec::Index(1)),
        },
    ];
    for mode in &modes {
        let mut events = 0u64;
        let columns = mode.columns_in(&chunk);
        let lines = scan(&chunk, mode, columns, |_, _| {
            events += 1;
            Ok(())
        })
        .expect("the callback never fails");
        let newlines = data.iter().filter(|b| **b == b'\n').count() as u64;
        assert!(lines == newlines || lines == newlines + 1);
    }
    // Line input's fast paths (dotted quads read a word at a time, IPv6 read in one pass)
    // give, line by line, what the general parser gives.
    let mode = InputMode::Lines;
    let columns = mode.columns_in(&chunk);
    let mut fast = Vec::new();
    scan(&chunk, &mode, columns, |line, event| {
        fast.push(format!("{line} {event:?}"));
        Ok(())
    })
    .expect("the callback never fails");
    let mut general = Vec::new();
    for (line, raw) in (1u64..).zip(data.split_inclusive(|b| *b == b'\n')) {
        scan_line(line, raw, &mode, columns, &mut |line, event| {
            general.push(format!("{line} {event:?}"));
            Ok(())
        })
        .expect("the callback never fails");
    }
    assert_eq!(fast, general);
});
