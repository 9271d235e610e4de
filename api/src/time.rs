//! RFC 3339 timestamps without a date-time dependency.

/// Formats milliseconds since the Unix epoch as RFC 3339 in UTC with milliseconds, e.g.
/// `2023-11-14T22:13:20.000Z`.
pub fn rfc3339_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Parses an RFC 3339 timestamp (`2024-01-31T12:00:00Z`, `2024-01-31T12:00:00.250+02:00`) to
/// milliseconds since the Unix epoch. A date alone (`2024-01-31`) means its midnight UTC.
/// Errors say what is wrong and show the expected form.
pub(crate) fn parse_rfc3339_ms(s: &str) -> Result<u64, String> {
    let expected = "expected an RFC 3339 time such as 2024-01-31T12:00:00Z (or a date, 2024-01-31)";
    let bad = |why: &str| format!("{s:?} is not a valid time ({why}): {expected}");
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Result<u64, String> {
        let part = s.get(from..from + len).ok_or_else(|| bad("too short"))?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad("digits expected"));
        }
        part.parse().map_err(|_| bad("digits expected"))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad("no YYYY-MM-DD date"));
    }
    let (y, m, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || d < 1
        || d > month_days[(m - 1) as usize]
    {
        return Err(bad("no such date, or before 1970"));
    }
    let days = days_from_civil(y, m, d);
    if b.len() == 10 {
        return Ok(days * 86_400_000);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return Err(bad("no THH:MM:SS time"));
    }
    let (hh, mm, ss) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return Err(bad("time out of range"));
    }
    let mut i = 19;
    let mut millis = 0u64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err(bad("no digits after the decimal point"));
        }
        let frac = &s[start..i.min(start + 3)];
        millis = frac.parse::<u64>().map_err(|_| bad("digits expected"))?
            * 10u64.pow(3 - frac.len() as u32);
    }
    let offset_min: i64 = match &s[i..] {
        "Z" | "z" => 0,
        tz if tz.len() == 6
            && matches!(tz.as_bytes()[0], b'+' | b'-')
            && tz.as_bytes()[3] == b':' =>
        {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return Err(bad("offset out of range"));
            }
            let o = (oh * 60 + om) as i64;
            if tz.starts_with('-') { -o } else { o }
        }
        "" => return Err(bad("no time zone: add Z for UTC")),
        _ => return Err(bad("bad time zone")),
    };
    let local = (days * 86_400 + hh * 3600 + mm * 60 + ss.min(59)) as i64 * 1000 + millis as i64;
    u64::try_from(local - offset_min * 60_000).map_err(|_| bad("before 1970"))
}

/// (year, month, day) → days since 1970-01-01, proleptic Gregorian (H. Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_formats_and_offsets() {
        for ms in [
            0,
            1_700_000_012_345,
            951_782_400_000,
            1_735_689_599_999,
            4_102_444_800_000,
        ] {
            assert_eq!(parse_rfc3339_ms(&rfc3339_ms(ms)), Ok(ms), "{ms}");
        }
        assert_eq!(
            parse_rfc3339_ms("2023-11-14T22:13:20Z"),
            Ok(1_700_000_000_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2023-11-15T00:13:20+02:00"),
            Ok(1_700_000_000_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2023-11-14T21:13:20.5-01:00"),
            Ok(1_700_000_000_500)
        );
        assert_eq!(parse_rfc3339_ms("2023-11-14"), Ok(1_699_920_000_000));
        for bad in [
            "",
            "yesterday",
            "2023-13-01",
            "2023-02-29",
            "2023-11-14T25:00:00Z",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20+2",
            "1969-12-31T23:59:59Z",
            "2023-11-14T22:13:20.Z",
            "２０２３-11-14",
        ] {
            let e = parse_rfc3339_ms(bad).unwrap_err();
            assert!(
                e.contains("RFC 3339") && e.contains(&format!("{bad:?}")),
                "{e}"
            );
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(rfc3339_ms(1_700_000_012_345), "2023-11-14T22:13:32.345Z");
        // Leap day and year boundaries.
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_ms(4_102_444_800_000), "2100-01-01T00:00:00.000Z");
    }
}
