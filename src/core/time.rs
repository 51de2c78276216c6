//! Times and durations: Unix nanoseconds inside, RFC 3339 outside, parsed
//! and formatted by `jiff` (offsets accepted, impossible dates refused).

use jiff::{SignedDuration, Timestamp};

fn timestamp(unix_nanos: u64) -> Timestamp {
    // Every u64 of nanoseconds (until 2554) is a valid jiff timestamp.
    Timestamp::from_nanosecond(i128::from(unix_nanos)).unwrap_or(Timestamp::MAX)
}

/// `20261122T041100Z`: compact, sortable, safe in file names.
pub fn compact(unix_nanos: u64) -> String {
    timestamp(unix_nanos).strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// `2026-11-22T04:11:00Z`: RFC 3339 in UTC at second precision.
pub fn rfc3339(unix_nanos: u64) -> String {
    timestamp(unix_nanos).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses an RFC 3339 time with `Z` or a numeric offset
/// (`2026-12-01T15:00:00+01:00`) into Unix nanoseconds. Times before 1970
/// have no Unix nanosecond value here and are refused.
pub fn parse_rfc3339(s: &str) -> Result<u64, String> {
    let t: Timestamp = s.parse().map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))?;
    u64::try_from(t.as_nanosecond()).map_err(|_| format!("{s:?} lies before 1970"))
}

/// Parses a duration as the collector's configuration writes them (`500ms`,
/// `90s`, `5m`, `1h30m`, `1.5h`; also ISO 8601 `PT1H`) into nanoseconds.
/// Negative durations are refused.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let d: SignedDuration =
        s.parse().map_err(|e| format!("{s:?} is not a duration like 500ms, 60s, 5m or 1h30m: {e}"))?;
    if d.is_negative() {
        return Err(format!("{s:?} is negative"));
    }
    u64::try_from(d.as_nanos()).map_err(|_| format!("{s:?} is too long"))
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

    #[test]
    fn parsing_times() {
        assert_eq!(parse_rfc3339("2026-11-22T04:11:00Z"), Ok(1_795_320_660 * 1_000_000_000));
        assert_eq!(parse_rfc3339("2026-11-22T05:11:00+01:00"), Ok(1_795_320_660 * 1_000_000_000));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00.5Z"), Ok(951_782_400 * 1_000_000_000 + 500_000_000));
        for bad in
            ["2026-13-01T00:00:00Z", "2026-02-31T00:00:00Z", "2026-11-22T04:11:00", "yesterday", "1969-12-31T23:59:59Z"]
        {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parsing_durations() {
        assert_eq!(parse_duration("90s"), Ok(90 * 1_000_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5400 * 1_000_000_000));
        assert_eq!(parse_duration("500ms"), Ok(500_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        for bad in ["5", "5x", "-1s", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
