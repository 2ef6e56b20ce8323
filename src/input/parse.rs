//! Turning text into addresses and prefixes, with a byte-level fast path for IPv4.

use ipnetwork::IpNetwork;
use std::net::{IpAddr, Ipv4Addr};

/// One thing to locate: an address, or a prefix weighted by its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    /// A single address.
    Addr(IpAddr),
    /// A CIDR prefix; its host bits are cleared (`1.2.3.4/24` is `1.2.3.0/24`).
    Prefix(IpNetwork),
}

impl Item {
    /// The record's address family.
    #[must_use]
    pub fn family(&self) -> Family {
        match self {
            Item::Addr(ip) => Family::of(*ip),
            Item::Prefix(net) => Family::of_network(*net),
        }
    }
}

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 (IPv4-mapped IPv6 addresses count as IPv4).
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    /// Both families, in output order.
    pub const ALL: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    /// The family of an address.
    #[must_use]
    pub fn of(ip: IpAddr) -> Family {
        if ip.is_ipv6() {
            Family::Ipv6
        } else {
            Family::Ipv4
        }
    }

    /// The family of a network.
    #[must_use]
    pub fn of_network(net: IpNetwork) -> Family {
        Family::of(net.ip())
    }

    /// Position in per-family arrays (`[IPv4, IPv6]`).
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// `ipv4` or `ipv6`, as outputs name it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

/// Why a record is invalid. Each reason has its own counter in the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InvalidReason {
    /// Text that is not an address at all.
    NotAnAddress,
    /// Digits and dots that do not make an IPv4 address (`300.1.2.3`, `1.2.3`).
    BadIpv4,
    /// Text with colons that does not make an IPv6 address.
    BadIpv6,
    /// `ADDR/LEN` with a bad address or a length out of range.
    BadPrefix,
    /// Bytes that are not UTF-8.
    NotUtf8,
    /// `--column` names a field the line does not have.
    MissingColumn,
    /// A line longer than the line limit (1 MiB).
    LineTooLong,
    /// `--extract` found no address in the line.
    NoAddress,
    /// `--weight-column` holds no whole number from 0 to 2^64 - 1.
    BadWeight,
}

impl InvalidReason {
    /// Every reason, in summary order.
    pub const ALL: [InvalidReason; 9] = [
        InvalidReason::NotAnAddress,
        InvalidReason::BadIpv4,
        InvalidReason::BadIpv6,
        InvalidReason::BadPrefix,
        InvalidReason::NotUtf8,
        InvalidReason::MissingColumn,
        InvalidReason::LineTooLong,
        InvalidReason::NoAddress,
        InvalidReason::BadWeight,
    ];

    /// The name used in summaries, `lookup` output and `--invalid-out`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            InvalidReason::NotAnAddress => "not_an_address",
            InvalidReason::BadIpv4 => "bad_ipv4",
            InvalidReason::BadIpv6 => "bad_ipv6",
            InvalidReason::BadPrefix => "bad_prefix",
            InvalidReason::NotUtf8 => "not_utf8",
            InvalidReason::MissingColumn => "missing_column",
            InvalidReason::LineTooLong => "line_too_long",
            InvalidReason::NoAddress => "no_address",
            InvalidReason::BadWeight => "bad_weight",
        }
    }

    /// Index into per-reason counter arrays.
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Parses one token: an IPv4 or IPv6 address, or `ADDR/LEN`.
/// The caller has trimmed surrounding whitespace.
#[inline]
pub fn parse_item(token: &[u8]) -> Result<Item, InvalidReason> {
    if let Some(v4) = parse_ipv4(token) {
        return Ok(Item::Addr(IpAddr::V4(v4)));
    }
    if let Some(v6) = parse_ipv6(token) {
        return Ok(Item::Addr(IpAddr::V6(v6)));
    }
    parse_item_slow(token)
}

/// Each byte's value as a hexadecimal digit, or [`NOT_HEX`].
static HEX: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Not a hexadecimal digit (in [`HEX`]).
const NOT_HEX: u8 = 0xff;

/// The value of a hexadecimal digit (one table read, no branches on the byte's range).
#[inline]
fn hex_digit(b: u8) -> Option<u16> {
    let v = HEX[usize::from(b)];
    (v != NOT_HEX).then_some(u16::from(v))
}

/// IPv6 on bytes, in the forms logs hold: eight groups of one to four hexadecimal digits,
/// or fewer with one `::`. `None` for anything else, including what Rust's own parser
/// accepts beyond that (an IPv4 tail such as `::ffff:1.2.3.4`): callers then ask it. Never
/// accepts what Rust's parser refuses, and gives the same address for what both accept.
#[inline]
#[must_use]
pub fn parse_ipv6(s: &[u8]) -> Option<std::net::Ipv6Addr> {
    match ipv6_prefix(s) {
        Some((ip, len)) if len == s.len() => Some(std::net::Ipv6Addr::from(ip)),
        _ => None,
    }
}

/// Whether `b` may stand in IPv6 text as [`parse_ipv6`] reads it (a hexadecimal digit or
/// a colon); any other byte ends the text.
#[inline]
fn in_ipv6(b: u8) -> bool {
    HEX[usize::from(b)] != NOT_HEX || b == b':'
}

/// [`parse_ipv6`] on the text at the start of `s`, up to the first byte that cannot stand
/// in it (or the end of `s`): the address and the text's length. `None` when that text is
/// not an address [`parse_ipv6`] accepts.
#[inline]
fn ipv6_prefix(s: &[u8]) -> Option<(u128, usize)> {
    let ends = |i: usize| s.get(i).is_none_or(|&b| !in_ipv6(b));
    let mut groups = [0u16; 8];
    let mut n = 0usize;
    // Where `::` stands (the number of groups before it), once seen.
    let mut gap: Option<usize> = None;
    let mut i = 0usize;
    if s.first() == Some(&b':') {
        if s.get(1) != Some(&b':') {
            return None;
        }
        gap = Some(0);
        i = 2;
        if ends(i) {
            return Some((0, i));
        }
    }
    loop {
        let start = i;
        let mut v = 0u16;
        while i - start < 4 {
            match s.get(i).and_then(|&b| hex_digit(b)) {
                Some(d) => {
                    v = (v << 4) | d;
                    i += 1;
                }
                None => break,
            }
        }
        if i == start || n == 8 {
            return None;
        }
        groups[n] = v;
        n += 1;
        if ends(i) {
            break;
        }
        if s[i] != b':' {
            return None;
        }
        i += 1;
        if ends(i) {
            return None;
        }
        if s[i] == b':' {
            if gap.is_some() {
                return None;
            }
            gap = Some(n);
            i += 1;
            if ends(i) {
                break;
            }
        }
    }
    let mut out = [0u16; 8];
    match gap {
        None if n == 8 => out = groups,
        // `::` stands for at least one group.
        Some(at) if n <= 7 => {
            out[..at].copy_from_slice(&groups[..at]);
            let tail = n - at;
            out[8 - tail..].copy_from_slice(&groups[at..n]);
        }
        _ => return None,
    }
    let ip = out.iter().fold(0u128, |ip, &g| (ip << 16) | u128::from(g));
    Some((ip, i))
}

/// The fast path of line input for IPv6, as [`ipv4_line`] is for IPv4: when the line at
/// `pos` is exactly an address [`parse_ipv6`] accepts, followed by `\n`, `\r\n` or the end
/// of the data, the address and where the next line starts; `None` sends the line to the
/// general path.
#[inline]
#[must_use]
pub fn ipv6_line(data: &[u8], pos: usize) -> Option<(u128, usize)> {
    let rest = data.get(pos..)?;
    let (ip, len) = ipv6_prefix(rest)?;
    Some((ip, pos + len + line_break(rest.get(len..)?)?))
}

/// The length of the line break at the start of `rest` where a fast path's address ends:
/// 1 for `\n`, 2 for `\r\n`, 0 at the end of the data; `None` for anything else.
#[inline]
fn line_break(rest: &[u8]) -> Option<usize> {
    match rest {
        [] => Some(0),
        [b'\n', ..] => Some(1),
        [b'\r', b'\n', ..] => Some(2),
        _ => None,
    }
}

#[cold]
fn parse_item_slow(token: &[u8]) -> Result<Item, InvalidReason> {
    let text = std::str::from_utf8(token).map_err(|_| InvalidReason::NotUtf8)?;
    if let Some((addr, len)) = text.split_once('/') {
        let addr: IpAddr = addr.parse().map_err(|_| InvalidReason::BadPrefix)?;
        let len: u8 = (!len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()))
            .then(|| len.parse().ok())
            .flatten()
            .ok_or(InvalidReason::BadPrefix)?;
        let net = IpNetwork::new(addr, len).map_err(|_| InvalidReason::BadPrefix)?;
        let net = IpNetwork::new(net.network(), len).map_err(|_| InvalidReason::BadPrefix)?;
        return Ok(Item::Prefix(net));
    }
    match text.parse::<IpAddr>() {
        Ok(ip) => Ok(Item::Addr(ip)),
        Err(_) => without_port(text)
            .or_else(|| without_zone(text).map(IpAddr::V6))
            .map(Item::Addr)
            .ok_or_else(|| classify(token)),
    }
}

/// An IPv6 address with a zone (`fe80::1%eth0`, as `ss` and `ip` print link-local
/// addresses): the address. The zone names an interface of the machine that printed it, so
/// it says nothing of where the address is. A zone is one or more letters, digits, `-`,
/// `.`, `_` or `~` (RFC 6874's characters).
fn without_zone(text: &str) -> Option<std::net::Ipv6Addr> {
    let (addr, zone) = text.split_once('%')?;
    let zone_ok = !zone.is_empty()
        && zone
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !zone_ok {
        return None;
    }
    addr.parse().ok()
}

/// An address written with a port, as servers and `ss`/`netstat` print them:
/// `a.b.c.d:port`, `[v6]:port`, or `[v6]` alone. The port must be 1 to 5 digits.
fn without_port(text: &str) -> Option<IpAddr> {
    let is_port = |p: &str| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = text.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return addr
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .or_else(|| without_zone(addr))
            .map(IpAddr::V6);
    }
    let (addr, port) = text.rsplit_once(':')?;
    if !is_port(port) {
        return None;
    }
    parse_ipv4(addr.as_bytes()).map(IpAddr::V4)
}

fn classify(token: &[u8]) -> InvalidReason {
    if token.contains(&b':') {
        InvalidReason::BadIpv6
    } else if !token.is_empty() && token.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        InvalidReason::BadIpv4
    } else {
        InvalidReason::NotAnAddress
    }
}

/// Dotted-quad IPv4 on bytes: four decimal octets 0..=255, no leading zeros
/// (like `inet_pton` and Rust's own parser), nothing else.
#[inline]
#[must_use]
pub fn parse_ipv4(s: &[u8]) -> Option<Ipv4Addr> {
    if s.len() < 7 || s.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        let start = i;
        let mut value: u32 = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            value = value * 10 + u32::from(s[i] - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 3 || value > 255 || (digits > 1 && s[start] == b'0') {
            return None;
        }
        *octet = value as u8;
        if n < 3 {
            if i >= s.len() || s[i] != b'.' {
                return None;
            }
            i += 1;
        }
    }
    (i == s.len()).then_some(Ipv4Addr::from(octets))
}

/// The fast path of line input: when the line starting at `pos` is exactly a dotted-quad
/// IPv4 address in the form [`parse_ipv4`] accepts, followed by `\n`, `\r\n` or the end
/// of the data, returns the address and where the next line starts. `None` means "not
/// that simple" (never "invalid"): the caller then takes the general path for the line.
#[inline]
#[must_use]
pub fn ipv4_line(data: &[u8], pos: usize) -> Option<(u32, usize)> {
    // Sixteen bytes hold the longest such line (15 characters) and its `\n`: read at once.
    if let Some(word) = data.get(pos..pos.saturating_add(16)) {
        let word = u128::from_le_bytes(word.try_into().ok()?);
        return ipv4_word(word).map(|(ip, len)| (ip, pos + len));
    }
    ipv4_line_bytes(data, pos)
}

/// [`ipv4_line`] on the sixteen bytes at a line's start, as one little-endian word: the
/// address and the length of its line with the line break. The bytes that are not decimal
/// digits are found for all sixteen at once (bit tricks on the word), so the length of
/// each octet costs no branch.
#[inline]
fn ipv4_word(word: u128) -> Option<(u32, usize)> {
    const LANES: u128 = u128::MAX / 0xff; // 0x0101...01
    const HIGH: u128 = LANES * 0x80;
    // Per byte, its high bit: the low seven bits reach '0' (0x30), pass '9' (0x39); no
    // carry crosses a byte (at most 0x7f + 0x50).
    let low = word & (LANES * 0x7f);
    let from_zero = low + LANES * 0x50;
    let past_nine = low + LANES * 0x46;
    let digits = from_zero & !past_nine & !word & HIGH;
    let mut others = !digits & HIGH;
    // The first four bytes that are not digits: three dots and the line's end.
    let mut at = [0usize; 4];
    for a in &mut at {
        if others == 0 {
            return None;
        }
        *a = (others.trailing_zeros() / 8) as usize;
        others &= others - 1;
    }
    let byte = |i: usize| (word >> (8 * i)) as u8;
    if byte(at[0]) != b'.' || byte(at[1]) != b'.' || byte(at[2]) != b'.' {
        return None;
    }
    let mut ip = 0u32;
    let mut start = 0usize;
    for &end in &at {
        let len = end - start;
        if !(1..=3).contains(&len) || (len > 1 && byte(start) == b'0') {
            return None;
        }
        // The octet's digits right-aligned in three bytes (hundreds, tens, units).
        let three = (word >> (8 * start)) as u32 & 0x00ff_ffff;
        let shift = 8 * (3 - len as u32);
        let aligned = (three << shift) & 0x00ff_ffff;
        let d = aligned - ((0x0030_3030 << shift) & 0x00ff_ffff);
        let value = (d & 0xff) * 100 + ((d >> 8) & 0xff) * 10 + (d >> 16);
        if value > 255 {
            return None;
        }
        ip = (ip << 8) | value;
        start = end + 1;
    }
    let end = at[3];
    match byte(end) {
        b'\n' => Some((ip, end + 1)),
        b'\r' if end + 1 < 16 && byte(end + 1) == b'\n' => Some((ip, end + 2)),
        _ => None,
    }
}

/// [`ipv4_line`] byte by byte: for the last bytes of the data, where no sixteen remain.
#[inline]
fn ipv4_line_bytes(data: &[u8], pos: usize) -> Option<(u32, usize)> {
    let s = data.get(pos..)?;
    let mut ip: u32 = 0;
    let mut i = 0;
    for n in 0..4 {
        let first = *s.get(i)?;
        let mut value = u32::from(first.wrapping_sub(b'0'));
        if value > 9 {
            return None;
        }
        i += 1;
        let mut digits = 1;
        while let Some(&b) = s.get(i) {
            let d = u32::from(b.wrapping_sub(b'0'));
            if d > 9 {
                break;
            }
            value = value * 10 + d;
            digits += 1;
            i += 1;
            if digits > 3 {
                return None;
            }
        }
        if value > 255 || (digits > 1 && first == b'0') {
            return None;
        }
        ip = (ip << 8) | value;
        if n < 3 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    Some((ip, pos + i + line_break(s.get(i..)?)?))
}

/// Trims ASCII whitespace (spaces, tabs, CR, LF) from both ends.
#[inline]
#[must_use]
pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Field `index` (0-based) of a delimited line; a field in double quotes loses its quotes.
#[must_use]
pub fn field(line: &[u8], delimiter: u8, index: usize) -> Option<&[u8]> {
    let mut n = 0;
    let mut i = 0;
    loop {
        let (start, end, next) = if line.get(i) == Some(&b'"') {
            // Quoted: up to the closing quote ("" is an escaped quote), then to the delimiter.
            let mut j = i + 1;
            loop {
                match line.get(j) {
                    None => break,
                    Some(b'"') if line.get(j + 1) == Some(&b'"') => j += 2,
                    Some(b'"') => break,
                    Some(_) => j += 1,
                }
            }
            let close = j.min(line.len());
            let next = memchr::memchr(delimiter, &line[close..]).map(|k| close + k);
            (i + 1, close, next)
        } else {
            let next = memchr::memchr(delimiter, &line[i..]).map(|k| i + k);
            (i, next.unwrap_or(line.len()), next)
        };
        if n == index {
            return Some(&line[start..end]);
        }
        match next {
            Some(d) => i = d + 1,
            None => return None,
        }
        n += 1;
    }
}

/// Every IPv4 and IPv6 address found in a line of free text (web-server and firewall logs).
///
/// A candidate is a maximal run of hex digits, `:` and `.`, not glued to a letter or `_`
/// on either side (a run that starts with `:`, as in `addr:8.8.8.8`, is read from after the
/// colon). IPv6 candidates need two colons and a digit (so `Error::Foo` or `12:30` are not
/// addresses); a trailing `.` or `:` (end of sentence) is dropped, and so is a port after an
/// IPv4 address (`203.0.113.9:51234`; `[v6]:port` needs nothing, the brackets end the run).
pub fn extract(line: &[u8], mut found: impl FnMut(IpAddr)) {
    let is_run = |b: u8| b.is_ascii_hexdigit() || b == b':' || b == b'.';
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < line.len() {
        if !is_run(line[i]) {
            i += 1;
            continue;
        }
        let mut start = i;
        while i < line.len() && is_run(line[i]) {
            i += 1;
        }
        // `key:1.2.3.4`: the colon separates, so the candidate starts after it.
        if start > 0 && is_word(line[start - 1]) && line[start] == b':' {
            while start < i && line[start] == b':' {
                start += 1;
            }
            if start == i {
                continue;
            }
        }
        let glued = (start > 0 && is_word(line[start - 1]) && line[start - 1] != b':')
            || (i < line.len() && is_word(line[i]));
        if glued {
            continue;
        }
        let mut run = &line[start..i];
        while let [rest @ .., b'.'] = run {
            run = rest;
        }
        if let Some(v4) = parse_ipv4(run) {
            found(IpAddr::V4(v4));
            continue;
        }
        let colons = run.iter().filter(|b| **b == b':').count();
        // `a.b.c.d:port` (a dot and one colon): runs without both are not that.
        if colons == 1
            && run.contains(&b'.')
            && let Some(ip @ IpAddr::V4(_)) = std::str::from_utf8(run).ok().and_then(without_port)
        {
            found(ip);
            continue;
        }
        if colons < 2 || !run.iter().any(u8::is_ascii_digit) {
            continue;
        }
        let parse6 = |r: &[u8]| {
            parse_ipv6(r).or_else(|| {
                std::str::from_utf8(r)
                    .ok()?
                    .parse::<std::net::Ipv6Addr>()
                    .ok()
            })
        };
        let v6 = parse6(run).or_else(|| match run {
            [rest @ .., b':'] => parse6(rest),
            _ => None,
        });
        if let Some(v6) = v6 {
            found(IpAddr::V6(v6));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the line at the start of `data` ends (after its `\n`, or at the end).
    fn first_line_end(data: &[u8]) -> usize {
        memchr::memchr(b'\n', data).map_or(data.len(), |i| i + 1)
    }

    #[test]
    fn ipv4_line_accepts_only_what_the_general_parser_gives_the_same_answer_for() {
        let alphabet = b"0123456789..\r\n x";
        let mut next = crate::util::xorshift(0x2545_F491_4F6C_DD1D);
        let mut accepted = 0;
        for _ in 0..200_000 {
            let x = next();
            let len = (x % 18) as usize;
            let line: Vec<u8> = (0..len)
                .map(|i| alphabet[((x >> (i * 3 % 60)) % alphabet.len() as u64) as usize])
                .collect();
            if let Some((ip, next)) = ipv4_line(&line, 0) {
                accepted += 1;
                let end = first_line_end(&line);
                assert_eq!(next, end, "{line:?}");
                assert_eq!(
                    parse_ipv4(trim(&line[..end])),
                    Some(Ipv4Addr::from(ip)),
                    "{line:?}"
                );
            }
        }
        assert!(accepted > 0);
        assert_eq!(ipv4_line(b"x\n10.0.0.1\n", 2), Some((0x0a00_0001, 11)));
    }

    #[test]
    fn ipv6_line_accepts_only_what_the_general_parser_gives_the_same_answer_for() {
        let alphabet = b"0123456789abcdefABCDEF::::::g.\r\n\n x/%";
        let mut next = crate::util::xorshift(0x2545_F491_4F6C_DD1D);
        let mut accepted = 0;
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for _ in 0..300_000 {
            let len = (next() % 44) as usize;
            lines.push(
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect(),
            );
            // Real addresses in their own forms, each with every kind of end.
            let ip = std::net::Ipv6Addr::from(
                u128::from(next()) << 64 | u128::from(next() & 0xffff_0000_ffff_00ff),
            );
            let end = [
                "", "\n", "\r\n", "\r", " \n", "\n::1", "/64\n", ".1\n", "1\n",
            ][(next() % 9) as usize];
            lines.push(format!("{ip}{end}").into_bytes());
        }
        for line in &lines {
            let general = |end: usize| match parse_item(trim(&line[..end])) {
                Ok(Item::Addr(IpAddr::V6(ip))) => Some(u128::from(ip)),
                _ => None,
            };
            if let Some((ip, next)) = ipv6_line(line, 0) {
                accepted += 1;
                let end = first_line_end(line);
                assert_eq!(next, end, "{line:?}");
                assert_eq!(general(end), Some(ip), "{line:?}");
            }
        }
        assert!(accepted > 300_000 / 2, "{accepted}");
        assert_eq!(
            ipv6_line(b"x\n2001:db8::1\r\n", 2),
            Some((0x2001_0db8_0000_0000_0000_0000_0000_0001, 15))
        );
        for refused in [
            "1::2 \n",
            "::1/64",
            "fe80::1%eth0",
            "::ffff:1.2.3.4",
            "1:2",
            "1::2::3",
        ] {
            assert_eq!(ipv6_line(refused.as_bytes(), 0), None, "{refused}");
        }
    }

    #[test]
    fn ipv4_line_reads_sixteen_bytes_at_once_as_it_reads_them_one_by_one() {
        // Octets at every length and edge, leading zeros, and every kind of line end; each
        // line followed by enough bytes that the word path reads it.
        let octets = [
            "0", "1", "9", "10", "01", "00", "99", "100", "199", "200", "255", "256", "299", "300",
            "999", "001", "0255", "1000", "", "a", "1a", "/", ":",
        ];
        let ends = [
            "\n", "\r\n", "\r", "", " ", "x", ".", "..", "\t", "\r\r", "\u{e9}",
        ];
        let mut checked = 0;
        let mut accepted = 0;
        let mut check = |line: &[u8]| {
            for tail in [
                &b"0123456789012345"[..],
                b"\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
            ] {
                let data = [line, tail].concat();
                let slow = ipv4_line_bytes(&data, 0);
                assert_eq!(
                    ipv4_line(&data, 0),
                    slow,
                    "{:?}",
                    String::from_utf8_lossy(&data)
                );
                checked += 1;
                accepted += usize::from(slow.is_some());
            }
        };
        for a in octets {
            for b in ["0", "255", "7", "10", "01", "256"] {
                for c in octets {
                    for end in ends {
                        check(format!("{a}.{b}.{c}.1{end}").as_bytes());
                        check(format!("{b}.{a}.1.{c}{end}").as_bytes());
                    }
                }
            }
        }
        // Random lines over the bytes that matter.
        let alphabet = b"0123456789..\r\n x\xff";
        let mut next = crate::util::xorshift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..300_000 {
            let x = next();
            let line: Vec<u8> = (0..16)
                .map(|i| alphabet[((x >> (i * 4 % 60)) % alphabet.len() as u64) as usize])
                .collect();
            check(&line[..(x % 17) as usize]);
        }
        assert!(checked > 600_000 && accepted > 1000, "{checked} {accepted}");
    }

    fn item(s: &str) -> Result<Item, InvalidReason> {
        parse_item(s.as_bytes())
    }

    #[test]
    fn ipv6_fast_path_agrees_with_std() {
        let fixed = [
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4::5:6:7:8",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "2001:db8::",
            "2001:DB8::ff00:42:8329",
            "fe80::1%eth0",
            "1:::2",
            ":1::2",
            "1::2:",
            "1:2",
            "12345::",
            "0001:0002::",
            "::ffff:1.2.3.4",
            "1::2::3",
            "",
            ":",
            ":::",
            "g::",
            "1:2:3:4:5:6:7:8:9",
            "a:b:c:d:e:f:0:1",
            "::0:0:0:0:0:0:0",
        ];
        for t in fixed {
            assert_eq!(
                parse_ipv6(t.as_bytes()).or_else(|| t.parse().ok()),
                t.parse::<std::net::Ipv6Addr>().ok(),
                "{t}"
            );
            if let Some(ip) = parse_ipv6(t.as_bytes()) {
                assert_eq!(Some(ip), t.parse().ok(), "{t}");
            }
        }
        // Random strings of hex digits and colons, and every address's own forms.
        let alphabet = b"0123456789abcdefABCDEF::::::g.";
        let mut next = crate::util::xorshift(0x2545_F491_4F6C_DD1D);
        for _ in 0..300_000 {
            let len = (next() % 40) as usize;
            let t: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
                .collect();
            if let Some(ip) = parse_ipv6(t.as_bytes()) {
                assert_eq!(Some(ip), t.parse().ok(), "{t:?}");
            }
            let ip = std::net::Ipv6Addr::from(
                u128::from(next()) << 64 | u128::from(next() & 0xffff_0000_ffff_00ff),
            );
            for text in [
                ip.to_string(),
                format!("{ip:?}"),
                format!("{:X}", u128::from(ip)),
            ] {
                assert_eq!(
                    parse_ipv6(text.as_bytes()).or_else(|| text.parse().ok()),
                    text.parse().ok(),
                    "{text}"
                );
            }
            assert_eq!(parse_ipv6(ip.to_string().as_bytes()), Some(ip));
        }
    }

    #[test]
    fn ipv4_fast_path_agrees_with_std() {
        for s in [
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.1",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            "a.b.c.d",
            "1.2.3.04",
            "1.2.3.-4",
            "999.999.999.999",
        ] {
            assert_eq!(parse_ipv4(s.as_bytes()), s.parse::<Ipv4Addr>().ok(), "{s}");
        }
    }

    #[test]
    fn items_and_reasons() {
        assert_eq!(item("8.8.8.8"), Ok(Item::Addr("8.8.8.8".parse().unwrap())));
        assert_eq!(
            item("2001:db8::1"),
            Ok(Item::Addr("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(
            item("1.2.3.4/24"),
            Ok(Item::Prefix("1.2.3.0/24".parse().unwrap()))
        );
        assert_eq!(
            item("2001:db8::/32"),
            Ok(Item::Prefix("2001:db8::/32".parse().unwrap()))
        );
        assert_eq!(item("300.1.2.3"), Err(InvalidReason::BadIpv4));
        assert_eq!(item("1.2.3"), Err(InvalidReason::BadIpv4));
        assert_eq!(item("::ffff:zz"), Err(InvalidReason::BadIpv6));
        assert_eq!(item("not-an-ip"), Err(InvalidReason::NotAnAddress));
        assert_eq!(item("1.2.3.0/33"), Err(InvalidReason::BadPrefix));
        assert_eq!(item("1.2.3.0/"), Err(InvalidReason::BadPrefix));
        assert_eq!(item("1.2.3.0/+8"), Err(InvalidReason::BadPrefix));
        assert_eq!(parse_item(b"\xff\xfe1.2.3.4"), Err(InvalidReason::NotUtf8));
    }

    #[test]
    fn trimming_and_fields() {
        assert_eq!(trim(b" \t1.2.3.4\r\n"), b"1.2.3.4");
        assert_eq!(trim(b"   "), b"");
        assert_eq!(field(b"a,b,c", b',', 1), Some(&b"b"[..]));
        assert_eq!(field(b"a,\"x,y\",c", b',', 1), Some(&b"x,y"[..]));
        assert_eq!(field(b"a,\"x,y\",c", b',', 2), Some(&b"c"[..]));
        assert_eq!(field(b"a\tb", b'\t', 1), Some(&b"b"[..]));
        assert_eq!(field(b"a,b", b',', 2), None);
        assert_eq!(field(b"", b',', 0), Some(&b""[..]));
        assert_eq!(
            field(b"\"unterminated", b',', 0),
            Some(&b"unterminated"[..])
        );
    }

    #[test]
    fn extract_finds_addresses_in_log_lines() {
        let got = |s: &str| {
            let mut v = Vec::new();
            extract(s.as_bytes(), |ip| v.push(ip.to_string()));
            v
        };
        assert_eq!(
            got(
                r#"203.0.113.9 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 from 198.51.100.7."#
            ),
            vec!["203.0.113.9", "198.51.100.7"]
        );
        assert_eq!(
            got("SRC=[2001:db8::1]:443 DST=::ffff:1.2.3.4"),
            vec!["2001:db8::1", "::ffff:1.2.3.4"]
        );
        assert_eq!(got("conn from fe80::1: closed"), vec!["fe80::1"]);
        assert!(got("Error::Foo at 12:30:45, version 1.2.3.4.5, host1.2.3.4").is_empty());
        assert!(got("aa:bb:cc:dd:ee:ff").is_empty());
        assert_eq!(
            got("accepted 203.0.113.9:51234 addr:8.8.8.8 peer=[2001:db8::7]:443"),
            vec!["203.0.113.9", "8.8.8.8", "2001:db8::7"]
        );
        assert!(got("at 1.2.3.4:123456 and 1.2.3:80").is_empty());
    }

    #[test]
    fn lines_with_ports_are_addresses() {
        assert_eq!(
            item("203.0.113.9:51234"),
            Ok(Item::Addr("203.0.113.9".parse().unwrap()))
        );
        assert_eq!(
            item("[2001:db8::1]:443"),
            Ok(Item::Addr("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(
            item("[2001:db8::1]"),
            Ok(Item::Addr("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(item("1.2.3.4:"), Err(InvalidReason::BadIpv6));
        assert_eq!(item("1.2.3.4:99999999"), Err(InvalidReason::BadIpv6));
        assert_eq!(item("[1.2.3.4]:80"), Err(InvalidReason::BadIpv6));
    }

    #[test]
    fn an_ipv6_zone_is_dropped() {
        let link = Ok(Item::Addr("fe80::1".parse().unwrap()));
        for text in [
            "fe80::1%eth0",
            "fe80::1%2",
            "fe80::1%en0.100",
            "[fe80::1%wlp3s0]:22",
            "[fe80::1%eth0]",
        ] {
            assert_eq!(item(text), link, "{text}");
        }
        for text in [
            "fe80::1%",
            "fe80::1%eth 0",
            "fe80::1%eth0%1",
            "1.2.3.4%eth0",
            "%eth0",
        ] {
            assert!(item(text).is_err(), "{text}");
        }
    }
}
