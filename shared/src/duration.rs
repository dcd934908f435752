//! LiteLLM's duration strings (`duration`, `budget_duration`): `30s`, `30m`,
//! `30h`, `30d`, `1mo`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Seconds(u64),
    /// Calendar months: "1mo" from Jan 31 is Feb 28/29, not 30 days.
    Months(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a duration: use a number followed by s, m, h, d or mo (e.g. 30s, 30m, 30h, 30d, 1mo)"
)]
pub struct DurationError(pub String);

impl Span {
    pub fn parse(text: &str) -> Result<Span, DurationError> {
        let t = text.trim();
        let err = || DurationError(text.to_string());
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (number, unit) = t.split_at(split);
        let n: u64 = number.parse().map_err(|_| err())?;
        if n == 0 {
            return Err(err());
        }
        let seconds = |factor: u64| n.checked_mul(factor).map(Span::Seconds).ok_or_else(err);
        match unit {
            "s" => seconds(1),
            "m" => seconds(60),
            "h" => seconds(3_600),
            "d" => seconds(86_400),
            "mo" => u32::try_from(n).map(Span::Months).map_err(|_| err()),
            _ => Err(err()),
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Span::Seconds(s) => write!(f, "{s}s"),
            Span::Months(m) => write!(f, "{m}mo"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_litellm_units() {
        assert_eq!(Span::parse("30s"), Ok(Span::Seconds(30)));
        assert_eq!(Span::parse("30m"), Ok(Span::Seconds(1_800)));
        assert_eq!(Span::parse("2h"), Ok(Span::Seconds(7_200)));
        assert_eq!(Span::parse("30d"), Ok(Span::Seconds(2_592_000)));
        assert_eq!(Span::parse("1mo"), Ok(Span::Months(1)));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "30",
            "d",
            "30x",
            "-1d",
            "0d",
            "1.5h",
            "99999999999999999999s",
        ] {
            assert!(Span::parse(bad).is_err(), "{bad}");
        }
    }
}
