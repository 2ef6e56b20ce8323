#![no_main]
//! Any bytes as an input: plain text, or gzip, zstd, bzip2 or xz by their magic bytes,
//! whole or damaged. Opening and chunking never panic; chunks hold lines numbered in
//! order (a line over 1 MiB skipped between them); a plain input's chunks are its bytes
//! (less a byte-order mark).

use ipatlas::input::{Input, source};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// Decompressed output read per input at most (a small input can expand a thousandfold).
const MAX_OUT: usize = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let input = Input::reader("fuzz", std::io::Cursor::new(data.to_vec()));
    let Ok(reader) = source::open(&input, Arc::new(AtomicU64::new(0))) else {
        return;
    };
    let mut seq = 0;
    let mut out = Vec::new();
    let mut next_line = 1u64;
    let end = source::chunk_input(0, "fuzz", reader, &mut seq, true, Vec::new, |chunk| {
        // A line over 1 MiB (a few compressed bytes can make one) comes before the chunk,
        // skipped: the chunk starts on the next line (or holds nothing, at the end).
        if let Some((at, _)) = &chunk.long_line {
            assert_eq!(*at, next_line, "a long line is numbered in order");
            assert!(
                chunk.first_line == at + 1 || (chunk.first_line == *at && chunk.data.is_empty())
            );
            next_line = chunk.first_line;
        }
        assert_eq!(chunk.first_line, next_line, "lines are numbered in order");
        next_line += chunk.data.iter().filter(|b| **b == b'\n').count() as u64;
        out.extend_from_slice(&chunk.data);
        out.len() < MAX_OUT
    });
    let end = end.expect("with keep_going, damage ends the input without an error");
    if source::Compression::of(data).is_none() {
        let text = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
        assert_eq!(out, text, "a plain input is passed through whole");
        assert!(matches!(end, source::InputEnd::Complete(_)));
    }
});
