//! HEALTHCHECK: Go's duration syntax for the interval flags and BuildKit's checks on them,
//! because the values end up in the image config where Docker reads them back as Go durations.

use std::time::Duration;

/// The health check of an image config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: turn off a check inherited from the base image.
    None,
    Check(HealthConfig),
}

/// As Docker's `HealthConfig`; zero durations and retries mean "inherit the default".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthConfig {
    /// `["CMD", arg…]` (exec form) or `["CMD-SHELL", command]`.
    pub test: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Duration,
    pub retries: u32,
}

/// Docker's smallest accepted interval.
const MINIMUM_DURATION: Duration = Duration::from_millis(1);

/// Parses a Go duration (`1h30m`, `1.5s`, `300ms`, `-2s`) into signed nanoseconds.
pub fn parse_go_duration(orig: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next() {
        if c == '-' || c == '+' {
            neg = c == '-';
            s = &s[1..];
        }
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !s.is_empty() {
        let bytes = s.as_bytes();
        if !(bytes[0] == b'.' || bytes[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let int_end = bytes
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(bytes.len());
        let int_part = &s[..int_end];
        s = &s[int_end..];
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let end = rest
                .bytes()
                .position(|b| !b.is_ascii_digit())
                .unwrap_or(rest.len());
            frac_part = &rest[..end];
            s = &rest[end..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_end = s
            .bytes()
            .position(|b| b == b'.' || b.is_ascii_digit())
            .unwrap_or(s.len());
        let unit = &s[..unit_end];
        s = &s[unit_end..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(unit),
                    go_quote(orig)
                ))
            }
        };
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse::<i128>().map_err(|_| invalid())?
        };
        let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            // Fractions finer than a nanosecond are dropped, as Go does.
            let mut f: i128 = 0;
            let mut div: i128 = 1;
            for d in frac_part.bytes().take(30) {
                f = f * 10 + i128::from(d - b'0');
                div *= 10;
            }
            value += f * scale / div;
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > i128::from(i64::MAX) {
            return Err(invalid());
        }
    }
    Ok(if neg { -total } else { total })
}

fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

/// Parses one `--interval`-like flag: empty is "not set"; non-zero values below 1ms are refused.
pub fn parse_interval(flag: &str, value: &str) -> Result<Duration, String> {
    if value.is_empty() {
        return Ok(Duration::ZERO);
    }
    let nanos = parse_go_duration(value)?;
    if nanos == 0 {
        return Ok(Duration::ZERO);
    }
    if nanos < MINIMUM_DURATION.as_nanos() as i128 {
        return Err(format!("Interval \"{flag}\" cannot be less than 1ms"));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// Parses `--retries` as Go's `strconv.ParseInt(v, 10, 32)` and refuses negatives.
pub fn parse_retries(value: &str) -> Result<u32, String> {
    if value.is_empty() {
        return Ok(0);
    }
    let n: i32 = value.parse().map_err(|e: std::num::ParseIntError| {
        use std::num::IntErrorKind::*;
        let why = match e.kind() {
            PosOverflow | NegOverflow => "value out of range",
            _ => "invalid syntax",
        };
        format!("strconv.ParseInt: parsing {}: {why}", go_quote(value))
    })?;
    if n < 0 {
        return Err(format!("--retries cannot be negative ({n})"));
    }
    Ok(n as u32)
}

/// Renders a duration the way Go prints it (`1m30s`, `500ms`, `0s`), for plans and history.
pub fn format_go_duration(d: Duration) -> String {
    let n = d.as_nanos();
    if n == 0 {
        return "0s".to_string();
    }
    if n < 1_000 {
        return format!("{n}ns");
    }
    if n < 1_000_000 {
        return trim_frac(n, 1_000, "µs");
    }
    if n < 1_000_000_000 {
        return trim_frac(n, 1_000_000, "ms");
    }
    let mut out = String::new();
    let h = n / 3_600_000_000_000;
    let m = (n / 60_000_000_000) % 60;
    let rest = n % 60_000_000_000;
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&trim_frac(rest, 1_000_000_000, "s"));
    out
}

fn trim_frac(n: u128, unit: u128, suffix: &str) -> String {
    let whole = n / unit;
    let frac = n % unit;
    if frac == 0 {
        return format!("{whole}{suffix}");
    }
    let width = unit.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}{suffix}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_go_duration("1.5s").unwrap(), 1_500_000_000);
        assert_eq!(parse_go_duration(".5ms").unwrap(), 500_000);
        assert_eq!(parse_go_duration("-2s").unwrap(), -2_000_000_000);
        assert_eq!(parse_go_duration("0").unwrap(), 0);
        assert_eq!(parse_go_duration("10µs").unwrap(), 10_000);
        assert_eq!(
            parse_go_duration("1").unwrap_err(),
            "time: missing unit in duration \"1\""
        );
        assert_eq!(
            parse_go_duration("1d").unwrap_err(),
            "time: unknown unit \"d\" in duration \"1d\""
        );
        assert_eq!(
            parse_go_duration("").unwrap_err(),
            "time: invalid duration \"\""
        );
        assert_eq!(
            parse_go_duration("s").unwrap_err(),
            "time: invalid duration \"s\""
        );
        assert!(parse_go_duration("9999999999h").is_err());
    }

    #[test]
    fn intervals_and_retries() {
        assert_eq!(parse_interval("interval", "0s").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_interval("timeout", "500us").unwrap_err(),
            "Interval \"timeout\" cannot be less than 1ms"
        );
        assert!(parse_interval("timeout", "-1s").is_err());
        assert_eq!(parse_retries("3").unwrap(), 3);
        assert_eq!(
            parse_retries("-1").unwrap_err(),
            "--retries cannot be negative (-1)"
        );
        assert!(parse_retries("x").is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(format_go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_go_duration(Duration::from_millis(5)), "5ms");
        assert_eq!(format_go_duration(Duration::from_secs(3600)), "1h0m0s");
    }
}
