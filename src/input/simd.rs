//! The dotted-quad fast path of line input with SSSE3 (x86-64): [`ipv4_line`] reads the
//! sixteen bytes at a line's start in a few vector instructions, without a branch that
//! depends on the address (the scalar [`super::parse::ipv4_line`] takes one or two per
//! octet). It accepts exactly the lines the scalar path accepts, with the same answers
//! (unit tests, and the `lines` fuzz target through [`super::scan`]).
//!
//! How: the positions of the first four bytes that are not digits (three dots and the line
//! break) give the four octets' lengths. Each of the 81 ways to have 1 to 3 digits in four
//! octets has a byte shuffle that puts every octet's digits right-aligned in its own four
//! bytes; one multiply-add then weighs them 100, 10 and 1.

use std::arch::x86_64::{
    __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi32, _mm_cvtsi128_si32, _mm_loadu_si128,
    _mm_madd_epi16, _mm_maddubs_epi16, _mm_min_epu8, _mm_movemask_epi8, _mm_set1_epi8,
    _mm_set1_epi16, _mm_set1_epi32, _mm_setr_epi8, _mm_shuffle_epi8, _mm_sub_epi8,
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
    let digits = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
    // A byte is a digit when its distance from '0' is 0-9 (unsigned).
    let is_digit = _mm_cmpeq_epi8(_mm_min_epu8(digits, _mm_set1_epi8(9)), digits);
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
}
