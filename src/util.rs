//! Small conversions shared by outputs: dates and number formatting.

/// `YYYY-MM-DD` (UTC) for seconds since the Unix epoch.
#[must_use]
pub fn utc_date(epoch_seconds: u64) -> String {
    // Days-to-civil conversion (Howard Hinnant's algorithm), valid for the proleptic Gregorian calendar.
    let days = (epoch_seconds / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Seconds from the Unix epoch to midnight UTC of a day (the inverse of
/// [`utc_date`], Howard Hinnant's days-from-civil).
pub fn epoch_of(y: i64, m: u32, d: u32) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400).unwrap_or(0)
}

/// A decimal number with at most `max_decimals` places and no trailing zeros
/// (`-89.9`, `12`, `0.25`); used for coordinates in CSV outputs.
#[must_use]
pub fn trim_decimal(value: f64, max_decimals: usize) -> String {
    let text = format!("{value:.max_decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// Opens a regular file for reading, with its size: anything else (a device such as
/// `/dev/zero`, a FIFO, a directory) is refused with `InvalidInput`, and opening a FIFO
/// does not wait for a writer. Read at most the size returned (`Read::take`), so a file
/// that grows while it is read cannot make the read endless.
pub fn open_regular(path: &std::path::Path) -> std::io::Result<(std::fs::File, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking, so opening a FIFO does not wait for a writer; regular files ignore it.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok((file, meta.len()))
}

/// Reads a whole regular file into memory, at most as many bytes as it had when opened.
/// Anything else (a device such as `/dev/zero`, a FIFO, a directory) is refused with
/// `InvalidInput` instead of being read forever or waited on.
pub fn read_file(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    read_file_hashing(path, false).map(|(bytes, _)| bytes)
}

/// [`read_file`], with the file's [`fingerprint`] worked out as it is read (each piece
/// hashed while it is still in the processor's cache, both halves at once).
pub fn read_fingerprinted(path: &std::path::Path) -> std::io::Result<(Vec<u8>, u128)> {
    let (bytes, halves) = read_file_hashing(path, true)?;
    let fingerprint = match halves {
        Some(halves) => joined_fingerprint(halves, bytes.len()),
        None => fingerprint(&bytes),
    };
    Ok((bytes, fingerprint))
}

/// A 128-bit fingerprint of `bytes`: XXH3-128 of each half's XXH3-128 (the first half is
/// the shorter) and the length. Two halves, so that two threads can hash a file as they
/// read it ([`read_fingerprinted`]).
#[must_use]
pub fn fingerprint(bytes: &[u8]) -> u128 {
    let (first, second) = bytes.split_at(bytes.len() / 2);
    let halves = [first, second].map(twox_hash::XxHash3_128::oneshot);
    joined_fingerprint(halves, bytes.len())
}

fn joined_fingerprint(halves: [u128; 2], len: usize) -> u128 {
    let mut material = [0u8; 40];
    material[..16].copy_from_slice(&halves[0].to_le_bytes());
    material[16..32].copy_from_slice(&halves[1].to_le_bytes());
    material[32..].copy_from_slice(&(len as u64).to_le_bytes());
    twox_hash::XxHash3_128::oneshot(&material)
}

/// [`read_file`], and when `hash` (and the file is read in halves) each half's XXH3-128.
fn read_file_hashing(
    path: &std::path::Path,
    hash: bool,
) -> std::io::Result<(Vec<u8>, Option<[u128; 2]>)> {
    use std::io::Read;
    let (file, len) = open_regular(path)?;
    if let Ok(size) = usize::try_from(len)
        && size >= PARALLEL_READ
    {
        return read_in_halves(&file, size, hash);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
    file.take(len).read_to_end(&mut bytes)?;
    Ok((bytes, None))
}

/// Files at least this large (a city database) are read by two threads, one half each: the
/// kernel's zeroing of the fresh memory they fill (on some machines the larger cost) is
/// then shared by two cores.
const PARALLEL_READ: usize = 16 << 20;

/// The first `size` bytes of `file`, read as two halves at once (with each half's
/// XXH3-128 when `hash`). A file that is shorter by then (cut while being read) is an
/// error.
fn read_in_halves(
    file: &std::fs::File,
    size: usize,
    hash: bool,
) -> std::io::Result<(Vec<u8>, Option<[u128; 2]>)> {
    use std::os::unix::fs::FileExt;
    // Read (and hashed) a piece at a time: a piece is hashed while it is in the cache.
    let read = |half: &mut [u8], at: usize| -> std::io::Result<u128> {
        if !hash {
            return file.read_exact_at(half, at as u64).map(|()| 0);
        }
        let mut hasher = twox_hash::XxHash3_128::new();
        let mut offset = at;
        for piece in half.chunks_mut(HASHED_PIECE) {
            file.read_exact_at(piece, offset as u64)?;
            hasher.write(piece);
            offset += piece.len();
        }
        Ok(hasher.finish_128())
    };
    // Zeroed memory straight from the kernel: pages are first touched by the reads.
    let mut bytes = vec![0u8; size];
    let (first, second) = bytes.split_at_mut(size / 2);
    let (a, b) = std::thread::scope(|scope| {
        let other = scope.spawn(|| read(second, size / 2));
        let mine = read(first, 0);
        (mine, other.join())
    });
    let halves = [
        a?,
        b.unwrap_or_else(|_| Err(std::io::Error::other("a reading thread failed")))?,
    ];
    Ok((bytes, hash.then_some(halves)))
}

/// How much of a file [`read_fingerprinted`] reads before hashing it.
const HASHED_PIECE: usize = 256 << 10;

/// The last address of the IPv6 block `start/len` (`len` 0..=128; host bits of `start` are
/// taken as set).
#[must_use]
pub fn block_last(start: u128, len: u8) -> u128 {
    start | u128::MAX.checked_shr(u32::from(len)).unwrap_or(0)
}

/// Splits `[first, last]` (inclusive, in a `bits`-bit address space) into CIDR blocks: the
/// largest aligned ones, in order, as `(start, prefix length)`.
#[must_use]
pub fn cidr_blocks(first: u128, last: u128, bits: u32) -> Vec<(u128, u8)> {
    let mut out = Vec::new();
    let mut at = first;
    loop {
        // The largest block aligned at `at` that does not pass `last`.
        let mut size_log = if at == 0 {
            bits
        } else {
            at.trailing_zeros().min(bits)
        };
        // The block's last offset: 2^size_log - 1, without overflowing at 2^128.
        let span = |log: u32| u128::MAX.checked_shr(128 - log).unwrap_or(0);
        while size_log > 0 && at.checked_add(span(size_log)).is_none_or(|end| end > last) {
            size_log -= 1;
        }
        out.push((at, (bits - size_log) as u8));
        let end = at + span(size_log);
        if end >= last {
            break;
        }
        at = end + 1;
    }
    out
}

/// Text from outside (file names, database metadata) made safe to print on a terminal:
/// control characters (newlines, escapes, C1 codes) are written as escapes (`\n`, `\u{1b}`),
/// everything else is kept.
#[must_use]
pub fn escape_controls(text: &str) -> String {
    escape_controls_but(text, |_| false)
}

/// [`escape_controls`], keeping the control characters `keep` accepts.
fn escape_controls_but(text: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && !keep(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The metadata of one of this process's open descriptors (`None` when it is closed).
pub fn descriptor_metadata(fd: i32) -> Option<std::fs::Metadata> {
    // SAFETY: F_GETFD only reads the descriptor table.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return None;
    }
    // SAFETY: the descriptor is open (checked just above) and is borrowed only to duplicate
    // it; the duplicate is owned and closed by the `File`.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let file = std::fs::File::from(borrowed.try_clone_to_owned().ok()?);
    file.metadata().ok()
}

/// A file name made from text found in data (a database's type): ASCII letters, digits,
/// `.`, `_` and `-` only (spaces become `-`, anything else `_`), no leading dot, at most 64
/// characters, never empty, so it names a file inside the directory it is joined to.
#[must_use]
pub fn safe_file_name(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' => c,
            ' ' => '-',
            _ => '_',
        })
        .collect();
    let name: String = mapped.trim_start_matches('.').chars().take(64).collect();
    if name.is_empty() {
        "database".to_owned()
    } else {
        name
    }
}

/// `text` with control characters other than line breaks and tabs escaped: what a
/// message may show of outside text (file names, a database's metadata).
#[must_use]
pub fn printable(text: &str) -> String {
    escape_controls_but(text, |c| c == '\n' || c == '\t')
}

/// Temporary files being written (outputs and cache files), so that a program interrupted
/// by a signal can remove them ([`remove_temporaries`]). Entries are never removed:
/// removing a file that was renamed into place or deleted already fails harmlessly.
static TEMPORARIES: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Registers a temporary file to remove if the run is interrupted.
pub fn register_temporary(path: std::path::PathBuf) {
    TEMPORARIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(path);
}

/// Removes every temporary file registered so far (outputs not yet complete): for a
/// signal handler, before the program ends.
pub fn remove_temporaries() {
    let pending = TEMPORARIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for path in pending.iter() {
        let _ = std::fs::remove_file(path);
    }
}

/// Appends a number as `ryu` writes it (the shortest text that reads back as the same
/// `f64`), without `ryu`'s digit generation for numbers with at most four decimals, as
/// database coordinates are: lookups write millions of them. Such a number's shortest text
/// is its four-decimal form less trailing zeros (two numbers of four decimals are 0.0001
/// apart, far more than the rounding interval of any `f64` below 10^11).
pub fn push_coordinate(out: &mut Vec<u8>, v: f64) {
    let scaled = (v * 10_000.0).round();
    if !(scaled.abs() < 1e15 && scaled / 10_000.0 == v) {
        out.extend_from_slice(ryu::Buffer::new().format(v).as_bytes());
        return;
    }
    if v.is_sign_negative() {
        out.push(b'-');
    }
    // Below 10^15, so exact as an integer.
    let m = scaled.abs() as u64;
    out.extend_from_slice(itoa::Buffer::new().format(m / 10_000).as_bytes());
    out.push(b'.');
    let mut frac = m % 10_000;
    if frac == 0 {
        out.push(b'0');
        return;
    }
    let mut digits = 4;
    while frac.is_multiple_of(10) {
        frac /= 10;
        digits -= 1;
    }
    let mut buffer = itoa::Buffer::new();
    let text = buffer.format(frac).as_bytes();
    out.extend(std::iter::repeat_n(b'0', digits - text.len()));
    out.extend_from_slice(text);
}

/// Appends an IPv4 address in dotted-quad form (what `Display` writes, without the
/// formatting machinery: lookups write millions of them).
pub fn push_ipv4(out: &mut String, ip: std::net::Ipv4Addr) {
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_small(out, octet);
    }
}

/// Appends a network as `Display` writes it (`1.2.3.0/24`, `2001:db8::/32`), IPv4 through
/// [`push_ipv4`].
pub fn push_network(out: &mut String, net: ipnetwork::IpNetwork) {
    match net {
        ipnetwork::IpNetwork::V4(n) => push_ipv4(out, n.ip()),
        ipnetwork::IpNetwork::V6(n) => {
            use std::fmt::Write;
            // Writing into a String cannot fail.
            let _ = write!(out, "{}", n.ip());
        }
    }
    out.push('/');
    push_small(out, net.prefix());
}

fn push_small(out: &mut String, n: u8) {
    if n >= 100 {
        out.push(char::from(b'0' + n / 100));
    }
    if n >= 10 {
        out.push(char::from(b'0' + n / 10 % 10));
    }
    out.push(char::from(b'0' + n % 10));
}

/// The tests' reproducible random numbers: a xorshift64 sequence from `seed` (not 0).
#[cfg(test)]
pub(crate) fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_file_fingerprinted_as_it_is_read_has_the_fingerprint_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        // Read in halves, in many pieces (an odd size: the halves differ), and whole.
        let mut next = super::xorshift(0x9e37_79b9_7f4a_7c15);
        let big: Vec<u8> = (0..super::PARALLEL_READ + 3 * super::HASHED_PIECE + 7)
            .map(|_| next() as u8)
            .collect();
        for bytes in [&big[..], &big[..1000], &[]] {
            let path = dir.path().join("db");
            std::fs::write(&path, bytes).unwrap();
            let (read, fingerprint) = super::read_fingerprinted(&path).unwrap();
            assert_eq!(read, bytes);
            assert_eq!(
                fingerprint,
                super::fingerprint(bytes),
                "{} bytes",
                bytes.len()
            );
        }
        // Any byte changed, or the length, changes it.
        let mut changed = big.clone();
        changed[super::PARALLEL_READ] ^= 1;
        assert_ne!(super::fingerprint(&changed), super::fingerprint(&big));
        assert_ne!(super::fingerprint(&big[1..]), super::fingerprint(&big));
        assert_ne!(super::fingerprint(&[0]), super::fingerprint(&[0, 0]));
    }

    #[test]
    fn coordinates_are_written_as_ryu_writes_them() {
        let check = |v: f64| {
            let mut ours = Vec::new();
            super::push_coordinate(&mut ours, v);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                ryu::Buffer::new().format(v),
                "{v:?}"
            );
        };
        // Every four-decimal number of longitude's range, and others of each kind.
        for m in -1_800_000i64..=1_800_000 {
            check(m as f64 / 10_000.0);
        }
        for v in [
            -0.0,
            0.0,
            1e-5,
            0.00015,
            123.45678,
            1e14,
            1e15,
            1e16,
            1e300,
            -2.5e-7,
            1.0 / 3.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            9_999_999.000_1,
            0.1 + 0.2,
        ] {
            check(v);
        }
    }

    use super::*;

    #[test]
    fn addresses_and_networks_are_written_as_display_writes_them() {
        let mut x: u32 = 0x9e37_79b9;
        for prefix in 0..=32u8 {
            x = x
                .wrapping_mul(0x0101_0101)
                .wrapping_add(0x1234_5678 ^ u32::from(prefix));
            for ip in [x, 0, u32::MAX, 0x0a00_0001, 0x6464_0a09] {
                let ip = std::net::Ipv4Addr::from(ip);
                let mut out = String::new();
                push_ipv4(&mut out, ip);
                assert_eq!(out, ip.to_string());
                let net = ipnetwork::IpNetwork::new(ip.into(), prefix).unwrap();
                out.clear();
                push_network(&mut out, net);
                assert_eq!(out, net.to_string());
            }
        }
        let v6: ipnetwork::IpNetwork = "2001:db8::/32".parse().unwrap();
        let mut out = String::new();
        push_network(&mut out, v6);
        assert_eq!(out, "2001:db8::/32");
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_530_635_000), "2018-07-03");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
    }

    #[test]
    fn decimals_are_trimmed() {
        assert_eq!(trim_decimal(-89.9, 6), "-89.9");
        assert_eq!(trim_decimal(12.0, 6), "12");
        assert_eq!(trim_decimal(0.1 + 0.2, 6), "0.3");
        assert_eq!(trim_decimal(-0.0000001, 6), "0");
    }

    #[test]
    fn ranges_split_into_exact_cidr_blocks() {
        use std::net::Ipv4Addr;
        let v4 = |a: &str| u128::from(u32::from(a.parse::<Ipv4Addr>().unwrap()));
        let show = |blocks: Vec<(u128, u8)>| -> Vec<String> {
            blocks
                .into_iter()
                .map(|(s, l)| format!("{}/{l}", Ipv4Addr::from(s as u32)))
                .collect()
        };
        assert_eq!(
            show(cidr_blocks(v4("1.0.0.0"), v4("1.0.0.255"), 32)),
            ["1.0.0.0/24"]
        );
        assert_eq!(
            show(cidr_blocks(v4("1.0.0.1"), v4("1.0.0.6"), 32)),
            ["1.0.0.1/32", "1.0.0.2/31", "1.0.0.4/31", "1.0.0.6/32"]
        );
        assert_eq!(
            show(cidr_blocks(0, u128::from(u32::MAX), 32)),
            ["0.0.0.0/0"]
        );
        assert_eq!(
            show(cidr_blocks(
                v4("255.255.255.255"),
                v4("255.255.255.255"),
                32
            )),
            ["255.255.255.255/32"]
        );
        assert_eq!(cidr_blocks(0, u128::MAX, 128), [(0, 0)]);
        assert_eq!(block_last(0, 0), u128::MAX);
        assert_eq!(block_last(1, 128), 1);
        assert_eq!(block_last(0x2002u128 << 112, 16), (0x2003u128 << 112) - 1);
        // Every split covers the range exactly, with no gap and no overlap.
        let mut next = crate::util::xorshift(12345);
        for _ in 0..2000 {
            let x = next();
            let a = u128::from((x >> 32) as u32);
            let b = u128::from(x as u32);
            let (first, last) = (a.min(b), a.max(b));
            let mut at = first;
            for (start, len) in cidr_blocks(first, last, 32) {
                assert_eq!(start, at);
                let size = 1u128 << (32 - len);
                assert_eq!(start % size, 0, "aligned");
                at = start + size;
            }
            assert_eq!(at, last + 1);
        }
    }

    #[test]
    fn safe_file_names_keep_to_one_directory_level() {
        assert_eq!(super::safe_file_name("country ipvAll"), "country-ipvAll");
        assert_eq!(super::safe_file_name("../../x"), "_.._x");
        assert_eq!(super::safe_file_name("/etc/passwd"), "_etc_passwd");
        assert_eq!(super::safe_file_name(".."), "database");
        assert_eq!(super::safe_file_name(""), "database");
        assert_eq!(super::safe_file_name(&"a".repeat(500)).len(), 64);
    }

    #[test]
    fn messages_keep_line_breaks_but_not_terminal_escapes() {
        assert_eq!(
            super::printable("a\n  b\u{1b}]0;x\u{7}"),
            "a\n  b\\u{1b}]0;x\\u{7}"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(super::escape_controls("plain Zürich"), "plain Zürich");
        assert_eq!(super::escape_controls("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    }
}
