//! The fast paths of line input with SSSE3 (x86-64): [`ipv4_line`] reads the sixteen bytes
//! at a line's start in a few vector instructions, without a branch that depends on the
//! address (the scalar [`super::parse::ipv4_line`] takes one or two per octet), and
//! [`ipv6_line`] reads an IPv6 line's 48 bytes without a step per character. Each accepts
//! exactly the lines its scalar path accepts, with the same answers (unit tests, and the
//! `lines` fuzz target through [`super::scan`]).
//!
//! Dotted quads: the positions of the first four bytes that are not digits (three dots and
//! the line break) give the four octets' lengths. Each of the 81 ways to have 1 to 3 digits
//! in four octets has a byte shuffle that puts every octet's digits right-aligned in its
//! own four bytes; one multiply-add then weighs them 100, 10 and 1. IPv6: see
//! [`ipv6_line`].

use std::arch::x86_64::{
    __m128i, _mm_add_epi8, _mm_adds_epu8, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi32,
    _mm_cvtsi64_si128, _mm_cvtsi128_si32, _mm_loadu_si128, _mm_madd_epi16, _mm_maddubs_epi16,
    _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set1_epi16, _mm_set1_epi32,
    _mm_setr_epi8, _mm_setzero_si128, _mm_shuffle_epi8, _mm_srli_epi32, _mm_storeu_si128,
    _mm_sub_epi8, _mm_unpacklo_epi64,
};

/// Per octet-length pattern (octet lengths `a b c d`, 1 to 3 each, numbered
/// `27(a-1) + 9(b-1) + 3(c-1) + (d-1)`): the shuffle that right-aligns each octet's
/// digits in bytes 1-3 of its four (`0x80` gives a zero byte), and the bytes holding the
/// first digit of an octet of two or three digits (which must not be a zero).
struct Pattern {
    shuffle: [u8; 16],
    leading: [u8; 16],
}

const PATTERNS: [Pattern; 81] = patterns();

const fn patterns() -> [Pattern; 81] {
    let mut all = [const {
        Pattern {
            shuffle: [0x80; 16],
            leading: [0; 16],
        }
    }; 81];
    let mut id = 0;
    while id < 81 {
        let lengths = [id / 27 + 1, id / 9 % 3 + 1, id / 3 % 3 + 1, id % 3 + 1];
        let (mut octet, mut start) = (0, 0);
        while octet < 4 {
            let len = lengths[octet];
            let first = 4 * octet + 4 - len;
            let mut j = 0;
            while j < len {
                all[id].shuffle[first + j] = (start + j) as u8;
                j += 1;
            }
            if len > 1 {
                all[id].leading[first] = 0xff;
            }
            start += len + 1;
            octet += 1;
        }
        id += 1;
    }
    all
}

/// Each byte's distance from `'0'`, and which bytes are decimal digits (that distance is
/// 0-9, unsigned).
#[target_feature(enable = "ssse3")]
#[inline]
fn decimal(v: __m128i) -> (__m128i, __m128i) {
    let digit = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
    (
        digit,
        _mm_cmpeq_epi8(_mm_min_epu8(digit, _mm_set1_epi8(9)), digit),
    )
}

/// [`super::parse::ipv4_line`] with SSSE3: the address of the line at `pos` and where the
/// next line starts, when the line is a plain dotted quad ended by `\n`, `\r\n` or the end
/// of the data; `None` otherwise (the caller takes the general path).
#[target_feature(enable = "ssse3")]
#[inline]
pub(super) fn ipv4_line(data: &[u8], pos: usize) -> Option<(u32, usize)> {
    let Some(bytes) = data.get(pos..pos.saturating_add(16)) else {
        // Fewer than sixteen bytes left: the scalar reader, byte by byte.
        return super::parse::ipv4_line(data, pos);
    };
    // SAFETY: `bytes` holds sixteen bytes; the load has no alignment requirement.
    let v = unsafe { _mm_loadu_si128(bytes.as_ptr().cast::<__m128i>()) };
    let (digits, is_digit) = decimal(v);
    let mask = |m: __m128i| _mm_movemask_epi8(m) as u32;
    // Bit 16 stands for the byte after the sixteen: a line that long is not a dotted quad.
    let mut others = (!mask(is_digit) & 0xffff) | (1 << 16);
    let mut at = [0u32; 4];
    for a in &mut at {
        *a = others.trailing_zeros();
        others &= others.wrapping_sub(1);
    }
    let [d1, d2, d3, end] = at;
    // The line break must be among the sixteen bytes (then so are the dots).
    if end > 15 {
        return None;
    }
    let dots = mask(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'.' as i8)));
    let lengths = [d1, d2 - d1 - 1, d3 - d2 - 1, end - d3 - 1];
    let bad_length = lengths
        .iter()
        .fold(0, |bad, &l| bad | u32::from(!(1..=3).contains(&l)));
    if bad_length | (!((dots >> d1) & (dots >> d2) & (dots >> d3)) & 1) != 0 {
        return None;
    }
    let newlines = mask(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8)));
    let next = if (newlines >> end) & 1 != 0 {
        end + 1
    } else if end < 15 && (newlines >> (end + 1)) & 1 != 0 && bytes[end as usize] == b'\r' {
        end + 2
    } else {
        return None;
    };
    let id = (lengths[0] - 1) * 27 + (lengths[1] - 1) * 9 + (lengths[2] - 1) * 3 + lengths[3] - 1;
    let pattern = &PATTERNS[id as usize];
    // SAFETY: both arrays are sixteen bytes.
    let (shuffle, leading) = unsafe {
        (
            _mm_loadu_si128(pattern.shuffle.as_ptr().cast::<__m128i>()),
            _mm_loadu_si128(pattern.leading.as_ptr().cast::<__m128i>()),
        )
    };
    let aligned = _mm_shuffle_epi8(digits, shuffle);
    let zero_lead = _mm_and_si128(_mm_cmpeq_epi8(aligned, _mm_set1_epi8(0)), leading);
    // Per octet (hundreds, tens, units in bytes 1-3): 100 h and 10 t + u, then their sum.
    let weights = _mm_setr_epi8(0, 100, 10, 1, 0, 100, 10, 1, 0, 100, 10, 1, 0, 100, 10, 1);
    let octets = _mm_madd_epi16(_mm_maddubs_epi16(aligned, weights), _mm_set1_epi16(1));
    let too_big = _mm_cmpgt_epi32(octets, _mm_set1_epi32(255));
    if mask(zero_lead) | mask(too_big) != 0 {
        return None;
    }
    // The four octets' low bytes, the first octet the most significant.
    let order = _mm_setr_epi8(12, 8, 4, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    let ip = _mm_cvtsi128_si32(_mm_shuffle_epi8(octets, order)) as u32;
    Some((ip, pos + next as usize))
}

/// For an IPv6 address of `n` groups, `b` of them before `::` (`b = n = 8` without one),
/// at `9b + n`: the shuffle from the groups as eight little-endian 16-bit numbers in the
/// order written to the address's sixteen bytes, least significant first (`0x80`: a zero
/// byte, where `::` stands).
const PLACES: [[u8; 16]; 81] = places();

const fn places() -> [[u8; 16]; 81] {
    let mut all = [[0x80u8; 16]; 81];
    let mut before = 0;
    while before <= 8 {
        let mut n = before;
        while n <= 8 {
            // Group `i` of the address (0 the most significant) is group `i` as written
            // before `::`, then zeros, then the groups after it.
            let mut i = 0;
            while i < 8 {
                let from = if i < before {
                    Some(i)
                } else if i >= 8 - (n - before) {
                    Some(i + n - 8)
                } else {
                    None
                };
                if let Some(from) = from {
                    all[before * 9 + n][2 * (7 - i)] = (2 * from) as u8;
                    all[before * 9 + n][2 * (7 - i) + 1] = (2 * from + 1) as u8;
                }
                i += 1;
            }
            n += 1;
        }
        before += 1;
    }
    all
}

/// [`super::parse::ipv6_line`] with SSSE3: the address of the line at `pos` and where the
/// next line starts, when the line is exactly an IPv6 address in hex groups (no dotted
/// suffix, no zone) ended by `\n`, `\r\n` or the end of the data; `None` otherwise.
/// Which bytes are hex digits and colons is found for 48 bytes at once and the text is
/// checked on those masks; then each group's digits are gathered into four lanes of their
/// own by byte shuffles and weighed by two multiply-adds, and one more shuffle puts the
/// groups in place around `::`.
#[target_feature(enable = "ssse3")]
#[inline]
pub(super) fn ipv6_line(data: &[u8], pos: usize) -> Option<(u128, usize)> {
    let Some(bytes) = data.get(pos..pos.saturating_add(48)) else {
        return super::parse::ipv6_line(data, pos);
    };
    // SAFETY: `bytes` holds 48 bytes; the loads have no alignment requirement.
    let v = unsafe {
        [
            _mm_loadu_si128(bytes.as_ptr().cast::<__m128i>()),
            _mm_loadu_si128(bytes.as_ptr().add(16).cast::<__m128i>()),
            _mm_loadu_si128(bytes.as_ptr().add(32).cast::<__m128i>()),
        ]
    };
    // Per byte, its value as a hex digit in the low four bits and bit 4 set when it is one.
    let (mut hex, mut colons) = (0u64, 0u64);
    let mut coded = [_mm_setzero_si128(); 3];
    for (k, v) in v.into_iter().enumerate() {
        let (digit, is_digit) = decimal(v);
        let letter = _mm_sub_epi8(
            _mm_or_si128(v, _mm_set1_epi8(0x20)),
            _mm_set1_epi8(b'a' as i8),
        );
        let is_letter = _mm_cmpeq_epi8(_mm_min_epu8(letter, _mm_set1_epi8(5)), letter);
        let is_hex = _mm_or_si128(is_digit, is_letter);
        let value = _mm_or_si128(
            _mm_and_si128(is_digit, digit),
            _mm_and_si128(is_letter, _mm_add_epi8(letter, _mm_set1_epi8(10))),
        );
        coded[k] = _mm_or_si128(value, _mm_and_si128(is_hex, _mm_set1_epi8(0x10)));
        let mask = |m: __m128i| u64::from(_mm_movemask_epi8(m) as u16) << (16 * k);
        hex |= mask(is_hex);
        colons |= mask(_mm_cmpeq_epi8(v, _mm_set1_epi8(b':' as i8)));
    }
    // The address is the text up to the first byte neither hex nor a colon: at most 39
    // bytes (eight groups of four and seven colons), then the line break.
    let end = (!(hex | colons)).trailing_zeros();
    if end == 0 || end > 39 {
        return None;
    }
    let next = match (bytes[end as usize], bytes[end as usize + 1]) {
        (b'\n', _) => end + 1,
        (b'\r', b'\n') => end + 2,
        _ => return None,
    };
    let text = (1u64 << end) - 1;
    let (hex, colons) = (hex & text, colons & text);
    // `::` where two colons meet: at most once, never three in a row. A lone colon may
    // not start or end the address. A group is one to four digits: no five in a row.
    let gap = colons & (colons >> 1);
    let lone_start = colons & !gap & 1;
    let lone_end = (colons >> (end - 1)) & !(gap >> end.saturating_sub(2)) & 1;
    let five = hex & (hex >> 1) & (hex >> 2) & (hex >> 3) & (hex >> 4);
    if (gap & gap.wrapping_sub(1)) | lone_start | lone_end | five != 0 {
        return None;
    }
    // Where each group's last digit is, a byte each (0xff for none), and how many groups
    // end before `::`.
    let gap_at = gap.trailing_zeros();
    let (mut ends, mut groups, mut before) = (u64::MAX, 0u32, 0u32);
    let mut left = hex & !(hex >> 1);
    while left != 0 {
        if groups == 8 {
            return None;
        }
        let last = left.trailing_zeros();
        left &= left - 1;
        ends = (ends & !(0xff << (8 * groups))) | (u64::from(last) << (8 * groups));
        before += u32::from(last < gap_at);
        groups += 1;
    }
    // Without `::` eight groups; with it at most seven (it stands for at least one).
    if (gap == 0 && groups != 8) || (gap != 0 && groups > 7) {
        return None;
    }
    let ends = _mm_cvtsi64_si128(ends as i64);
    // Lane j (0-3) of a group takes the byte j - 3 after its last digit: valid when it and
    // the lanes after it are hex digits. An index past the 48 bytes, or below 0, gives 0.
    let back = _mm_setr_epi8(3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0);
    let halves = [
        _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
        _mm_setr_epi8(4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7),
    ];
    let mut words = [_mm_setzero_si128(); 2];
    for (word, half) in words.iter_mut().zip(halves) {
        let at = _mm_sub_epi8(_mm_shuffle_epi8(ends, half), back);
        // From each sixteen bytes, the indices that fall in them (others saturate to 0x80+).
        let from = |k: i8, src: __m128i| {
            let local = _mm_sub_epi8(at, _mm_set1_epi8(16 * k));
            _mm_shuffle_epi8(src, _mm_adds_epu8(local, _mm_set1_epi8(0x70)))
        };
        let got = _mm_or_si128(
            _mm_or_si128(from(0, coded[0]), from(1, coded[1])),
            from(2, coded[2]),
        );
        let flags = _mm_and_si128(got, _mm_set1_epi8(0x10));
        // Bit 4 of lane j and-ed with those of lanes j+1..3 of its group.
        let pairs = _mm_and_si128(
            flags,
            _mm_or_si128(_mm_srli_epi32(flags, 8), _mm_set1_epi32(0x1000_0000)),
        );
        let all = _mm_and_si128(
            pairs,
            _mm_or_si128(_mm_srli_epi32(pairs, 16), _mm_set1_epi32(0x1010_0000)),
        );
        let valid = _mm_cmpeq_epi8(all, _mm_set1_epi8(0x10));
        let digits = _mm_and_si128(_mm_and_si128(got, _mm_set1_epi8(0x0f)), valid);
        // Digits a b c d: 16a + b and 16c + d, then (16a + b) 256 + 16c + d.
        *word = _mm_madd_epi16(
            _mm_maddubs_epi16(digits, _mm_set1_epi16(0x0110)),
            _mm_set1_epi32(0x0001_0100),
        );
    }
    let low_halves = _mm_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1);
    let packed = _mm_unpacklo_epi64(
        _mm_shuffle_epi8(words[0], low_halves),
        _mm_shuffle_epi8(words[1], low_halves),
    );
    let place = &PLACES[(before * 9 + groups) as usize];
    // SAFETY: `place` is sixteen bytes, and so is `out`.
    let ip = unsafe {
        let placed = _mm_shuffle_epi8(packed, _mm_loadu_si128(place.as_ptr().cast::<__m128i>()));
        let mut out = [0u8; 16];
        _mm_storeu_si128(out.as_mut_ptr().cast::<__m128i>(), placed);
        u128::from_le_bytes(out)
    };
    Some((ip, pos + next as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether this machine runs the SSSE3 path (every x86-64 CPU since 2006 does; the
    /// test fails rather than skip on one that does not, so that it is never silently off).
    fn ssse3() -> bool {
        std::arch::is_x86_feature_detected!("ssse3")
    }

    #[test]
    fn the_ssse3_reader_answers_as_the_scalar_one_on_every_octet_layout_and_edge() {
        assert!(ssse3(), "this test machine has no SSSE3");
        let mut lines: Vec<Vec<u8>> = Vec::new();
        // Every layout of octet lengths, with edge values and leading zeros.
        let values: [&[&str]; 3] = [
            &["0", "1", "9"],
            &["10", "01", "99", "00"],
            &["100", "255", "256", "099", "999", "010", "000"],
        ];
        for id in 0..81 {
            let lens = [id / 27, id / 9 % 3, id / 3 % 3, id % 3];
            for pick in 0..7 {
                let octets: Vec<&str> = lens
                    .iter()
                    .enumerate()
                    .map(|(k, &l)| values[l][(pick + k) % values[l].len()])
                    .collect();
                let text = octets.join(".");
                for end in ["\n", "\r\n", "", "\r", " \n", "\nx", "\r\r\n", ".\n", "x\n"] {
                    lines.push(format!("{text}{end}").into_bytes());
                }
            }
        }
        for odd in [
            "1.2.3\n",
            "1.2.3.4.5\n",
            "1..2.3\n",
            ".1.2.3\n",
            "1.2.3.4.\n",
            "1234.1.1.1\n",
            "1.2.3.4444\n",
            "\n",
            "",
            "a.b.c.d\n",
            "1.2.3.4\t\n",
            "1.2.3.4/24\n",
            "255.255.255.255\n",
            "255.255.255.255\r\n",
            "1.1.1.1\n\n\n\n\n\n\n\n\n",
        ] {
            lines.push(odd.as_bytes().to_vec());
        }
        for line in &lines {
            // At the start, with the sixteen bytes padded, and after other text.
            for (data, pos) in [
                (line.clone(), 0),
                ([line.as_slice(), b"9.9.9.9\n1.2.3.4\n"].concat(), 0),
                (
                    [b"#x\n".as_slice(), line.as_slice(), b"\n2.2.2.2\n"].concat(),
                    3,
                ),
            ] {
                // SAFETY: SSSE3 is present (asserted above).
                let simd = unsafe { ipv4_line(&data, pos) };
                let scalar = super::super::parse::ipv4_line(&data, pos);
                assert_eq!(simd, scalar, "{:?}", String::from_utf8_lossy(&data[pos..]));
            }
        }
        // And one known answer, so that agreeing on None everywhere cannot pass.
        // SAFETY: as above.
        let known = unsafe { ipv4_line(b"192.168.10.254\r\n1.1.1.1\n", 0) };
        assert_eq!(known, Some((0xc0a8_0afe, 16)));
    }

    #[test]
    fn the_ssse3_ipv6_reader_answers_as_the_scalar_one_on_every_gap_and_group_length() {
        assert!(ssse3(), "this test machine has no SSSE3");
        let digits = [
            "0", "a", "F", "1b", "00c", "ffff", "0000", "12345", "g", "Ab9",
        ];
        let mut texts: Vec<String> = Vec::new();
        // Up to nine groups of several lengths and cases, with `::` at every place (or
        // twice, or none).
        for n in 0..=9usize {
            for pick in 0..digits.len() {
                let groups: Vec<&str> = (0..n).map(|k| digits[(pick + k) % digits.len()]).collect();
                texts.push(groups.join(":"));
                for gap in 0..=n {
                    let (a, b) = groups.split_at(gap);
                    texts.push(format!("{}::{}", a.join(":"), b.join(":")));
                    if gap + 1 < n {
                        let (b, c) = b.split_at(1);
                        texts.push(format!("{}::{}::{}", a.join(":"), b.join(":"), c.join(":")));
                    }
                }
            }
        }
        texts.extend(
            [
                ":",
                ":::",
                "::1:",
                ":1::",
                "1:::2",
                "1::2:",
                ":1",
                "1:",
                "::ffff:1.2.3.4",
                "fe80::1%eth0",
                "2001:db8::/32",
                "[2001:db8::1]",
                "2001:0db8:0000:0000:0000:ff00:0042:8329",
                "1:2:3:4:5:6:7:8:9",
                "::1:2:3:4:5:6:7",
                "1:2:3:4:5:6:7::",
                "::1:2:3:4:5:6:7:8",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            ]
            .map(String::from),
        );
        let mut accepted = 0;
        for text in &texts {
            for end in ["\n", "\r\n", "", "\r", " \n", "x\n", "\r\r\n", ":\n"] {
                let line = format!("{text}{end}").into_bytes();
                // Alone (fewer than 48 bytes: the scalar reader), padded, and after text.
                for (data, pos) in [
                    (line.clone(), 0),
                    ([line.as_slice(), &[b'\n'; 48]].concat(), 0),
                    (
                        [b"#x\n".as_slice(), &line, b"::1\n", &[b'f'; 48]].concat(),
                        3,
                    ),
                ] {
                    // SAFETY: SSSE3 is present (asserted above).
                    let simd = unsafe { ipv6_line(&data, pos) };
                    let scalar = super::super::parse::ipv6_line(&data, pos);
                    assert_eq!(simd, scalar, "{:?}", String::from_utf8_lossy(&data[pos..]));
                    accepted += usize::from(simd.is_some());
                }
            }
        }
        assert!(accepted > 1000, "{accepted}");
        // Known answers, so that agreeing everywhere on the wrong address cannot pass.
        let padded = |t: &str| [t.as_bytes(), &[b'\n'; 48]].concat();
        for (text, ip) in [
            (
                "2001:DB8::a:1\r\n",
                0x2001_0db8_0000_0000_0000_0000_000a_0001u128,
            ),
            ("::\n", 0),
            (
                "1:2:3:4:5:6:7:8\n",
                0x0001_0002_0003_0004_0005_0006_0007_0008,
            ),
            ("fe80::\n", 0xfe80 << 112),
        ] {
            // SAFETY: as above.
            let got = unsafe { ipv6_line(&padded(text), 0) };
            assert_eq!(got, Some((ip, text.len())), "{text:?}");
        }
    }
}
