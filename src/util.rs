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

/// A vector with room for `len` items whose memory the kernel is asked to back with
/// transparent huge pages (Linux, when the allocation spans several of them). Large tables
/// (the 64 MiB /24 index, databases read into memory) otherwise take one page fault per
/// 4 KiB when first written, which on virtual machines costs more than the data's own
/// processing. Only advice: where huge pages are unavailable nothing changes.
#[must_use]
pub fn vec_for_huge_pages<T>(len: usize) -> Vec<T> {
    let v: Vec<T> = Vec::with_capacity(len);
    advise_huge_pages(v.as_ptr().cast::<u8>(), len.saturating_mul(size_of::<T>()));
    v
}

/// Reads a whole file into memory (see [`vec_for_huge_pages`]).
pub fn read_file(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata().map_or(0, |m| m.len());
    let mut bytes = vec_for_huge_pages(usize::try_from(len).unwrap_or(0).saturating_add(1));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *const u8, len: usize) {
    const HUGE: usize = 2 << 20;
    const PAGE: usize = 4096;
    if len < 4 * HUGE {
        return;
    }
    let start = (ptr as usize).div_ceil(PAGE) * PAGE;
    let end = (ptr as usize + len) / PAGE * PAGE;
    if end > start {
        // SAFETY: the range lies inside an allocation this process owns (page-aligned
        // inward), and MADV_HUGEPAGE changes neither its contents nor its validity; a
        // failure (no THP support) is harmless and ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *const u8, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

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
}
