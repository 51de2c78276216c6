//! UTC timestamps without a calendar dependency.

/// Splits Unix seconds into (year, month, day, hour, minute, second) UTC,
/// using Howard Hinnant's days-to-civil algorithm.
pub fn civil(unix_seconds: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
}

/// `20261122T041100Z`: compact, sortable, safe in file names.
pub fn compact(unix_nanos: u64) -> String {
    let (y, mo, d, h, mi, s) = civil((unix_nanos / 1_000_000_000) as i64);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// `2026-11-22T04:11:00Z`: RFC 3339 at second precision.
pub fn rfc3339(unix_nanos: u64) -> String {
    let (y, mo, d, h, mi, s) = civil((unix_nanos / 1_000_000_000) as i64);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 * 1_000_000_000), "2000-02-29T00:00:00Z");
        assert_eq!(compact(1_795_320_660 * 1_000_000_000), "20261122T041100Z");
        assert_eq!(rfc3339(4_102_444_799 * 1_000_000_000), "2099-12-31T23:59:59Z");
    }
}
