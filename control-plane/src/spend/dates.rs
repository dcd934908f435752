//! LiteLLM's `start_date` / `end_date` query parameters: calendar days
//! (YYYY-MM-DD, UTC), both inclusive.

use super::SpendError;
use chrono::{DateTime, Days, NaiveDate, Utc};

/// Longest range a per-day answer covers (it lists every day, zero-filled).
pub const MAX_DAYS: u64 = 3_660;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

fn parse(name: &str, value: &str) -> Result<NaiveDate, SpendError> {
    // LiteLLM's UI sends datetimes too; the day is what counts.
    let day = value.get(..10).unwrap_or(value);
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .filter(|_| {
            value.len() == 10
                || value
                    .as_bytes()
                    .get(10)
                    .is_some_and(|b| *b == b'T' || *b == b' ')
        })
        .ok_or_else(|| {
            SpendError::Invalid(format!(
                "`{name}` must be a date like 2026-01-31 (YYYY-MM-DD); got `{value}`."
            ))
        })
}

impl DayRange {
    /// Both dates or neither; `start_date` not after `end_date`.
    pub fn from_params(start: &str, end: &str) -> Result<Option<Self>, SpendError> {
        match (start.trim(), end.trim()) {
            ("", "") => Ok(None),
            (_, "") | ("", _) => Err(SpendError::Invalid(
                "Pass both `start_date` and `end_date` (YYYY-MM-DD), or neither.".into(),
            )),
            (s, e) => {
                let range = Self {
                    first: parse("start_date", s)?,
                    last: parse("end_date", e)?,
                };
                if range.first > range.last {
                    return Err(SpendError::Invalid(format!(
                        "`start_date` ({s}) is after `end_date` ({e})."
                    )));
                }
                if (range.last - range.first).num_days() + 1 > MAX_DAYS as i64 {
                    return Err(SpendError::Invalid(format!(
                        "The range {s}..{e} is longer than {MAX_DAYS} days; ask for less."
                    )));
                }
                Ok(Some(range))
            }
        }
    }

    /// The last `n` days up to today (UTC).
    pub fn last_days(n: u64) -> Self {
        let last = Utc::now().date_naive();
        Self {
            first: last
                .checked_sub_days(Days::new(n.saturating_sub(1)))
                .unwrap_or(last),
            last,
        }
    }

    /// [start of first day, start of the day after last).
    pub fn instants(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = self.first.and_time(chrono::NaiveTime::MIN).and_utc();
        let end = self
            .last
            .checked_add_days(Days::new(1))
            .unwrap_or(self.last)
            .and_time(chrono::NaiveTime::MIN)
            .and_utc();
        (start, end)
    }

    pub fn first_key(&self) -> String {
        self.first.format("%Y-%m-%d").to_string()
    }

    pub fn last_key(&self) -> String {
        self.last.format("%Y-%m-%d").to_string()
    }

    /// Every day of the range, as YYYY-MM-DD.
    pub fn days(&self) -> impl Iterator<Item = String> + use<> {
        let last = self.last;
        self.first
            .iter_days()
            .take_while(move |d| *d <= last)
            .map(|d| d.format("%Y-%m-%d").to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_days_and_rejects_the_rest() {
        let r = DayRange::from_params("2026-01-30", "2026-02-01")
            .expect("valid")
            .expect("some");
        assert_eq!(
            r.days().collect::<Vec<_>>(),
            ["2026-01-30", "2026-01-31", "2026-02-01"]
        );
        assert!(DayRange::from_params("", "").expect("valid").is_none());
        for (s, e) in [
            ("2026-13-01", "2026-12-01"),
            ("yesterday", "2026-01-01"),
            ("2026-01-02", "2026-01-01"),
            ("2026-01-01", ""),
            ("2026-01-01x", "2026-01-02"),
        ] {
            assert!(
                matches!(DayRange::from_params(s, e), Err(SpendError::Invalid(_))),
                "{s}..{e}"
            );
        }
        assert!(DayRange::from_params("2026-01-01T00:00:00Z", "2026-01-02").is_ok());
    }
}
