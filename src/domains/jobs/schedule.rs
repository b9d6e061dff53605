//! When a connector syncs by itself: every N seconds, or on a five-field cron expression read
//! in an IANA time zone (`0 9 * * MON-FRI` in `Europe/Berlin` follows Berlin's clocks through
//! daylight saving). Slots are computed here; claiming them once is `schedule_store`'s.
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};
use croner::Cron;

use crate::error::AppError;

/// A schedule as a person writes it: exactly one of an interval and a cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSpec {
    pub interval_secs: Option<i64>,
    pub cron: Option<String>,
    pub timezone: String,
}

/// A validated schedule, ready to compute slots.
#[derive(Debug, Clone)]
pub enum Cadence {
    Every(Duration),
    Cron { cron: Box<Cron>, zone: Tz },
}

/// How many upcoming cron slots are checked against the shortest interval allowed.
const GAPS_CHECKED: usize = 32;

fn invalid(field: &str, reason: impl std::fmt::Display) -> AppError {
    AppError::bad_field(format!("schedule.{field}"), reason.to_string())
}

impl ScheduleSpec {
    /// Checks the spec (naming the field at fault) and makes its cadence; no slot may come
    /// sooner than `min_interval_secs` after the one before.
    pub fn cadence(&self, min_interval_secs: u64) -> Result<Cadence, AppError> {
        self.build(min_interval_secs, true)
    }

    /// The cadence of a schedule already stored (validated when it was set): it keeps its own
    /// cadence even if the floor was raised since, and its upcoming cron slots are not walked.
    pub fn stored_cadence(&self) -> Result<Cadence, AppError> {
        self.build(1, false)
    }

    fn build(&self, min_interval_secs: u64, check_gaps: bool) -> Result<Cadence, AppError> {
        let zone: Tz = self.timezone.parse().map_err(|_| {
            invalid(
                "timezone",
                format!(
                    "`{}` is not an IANA time zone (like UTC or Europe/Berlin)",
                    self.timezone.chars().take(64).collect::<String>()
                ),
            )
        })?;
        let min = min_interval_secs.max(1) as i64;
        match (self.interval_secs, self.cron.as_deref()) {
            (Some(_), Some(_)) | (None, None) => Err(invalid(
                "intervalSeconds",
                "give exactly one of intervalSeconds and cron",
            )),
            (Some(secs), None) => {
                if secs < min || secs > 366 * 24 * 3600 {
                    return Err(invalid(
                        "intervalSeconds",
                        format!("must be between {min} and {} seconds", 366 * 24 * 3600),
                    ));
                }
                Ok(Cadence::Every(Duration::seconds(secs)))
            }
            (None, Some(expr)) => {
                if expr.len() > 200 {
                    return Err(invalid("cron", "is longer than 200 characters"));
                }
                let cron = CronParser::builder()
                    .seconds(Seconds::Disallowed)
                    .build()
                    .parse(expr)
                    .map_err(|e| {
                        invalid(
                            "cron",
                            format!("`{expr}` is not a five-field cron expression: {e}"),
                        )
                    })?;
                let cadence = Cadence::Cron {
                    cron: Box::new(cron),
                    zone,
                };
                if check_gaps {
                    cadence.check_gaps(Utc::now(), min)?;
                }
                Ok(cadence)
            }
        }
    }
}

impl Cadence {
    /// The first slot strictly after `now`. An interval keeps to the grid of `previous` (the
    /// slot just started), so slots missed while nothing ran collapse into the one started now;
    /// without one, the first slot is an interval from now.
    pub fn next_after(
        &self,
        now: DateTime<Utc>,
        previous: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        match self {
            Cadence::Every(step) => {
                let step_ms = step.num_milliseconds().max(1);
                let Some(anchor) = previous.filter(|p| *p <= now) else {
                    return Some(now + *step);
                };
                let behind = (now - anchor).num_milliseconds();
                let steps = behind / step_ms + 1;
                Some(anchor + Duration::milliseconds(steps * step_ms))
            }
            Cadence::Cron { cron, zone } => cron
                .find_next_occurrence(&now.with_timezone(zone), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }

    /// Refuses a cron expression with two slots closer than `min_secs`, or none at all.
    fn check_gaps(&self, from: DateTime<Utc>, min_secs: i64) -> Result<(), AppError> {
        let mut at = self
            .next_after(from, None)
            .ok_or_else(|| invalid("cron", "never fires"))?;
        for _ in 0..GAPS_CHECKED {
            let Some(next) = self.next_after(at, None) else {
                return Ok(());
            };
            if (next - at).num_seconds() < min_secs {
                return Err(invalid(
                    "cron",
                    format!("fires more often than every {min_secs} seconds"),
                ));
            }
            at = next;
        }
        Ok(())
    }

    /// What the schedule means, in words (for people reading it).
    pub fn describe(&self) -> String {
        match self {
            Cadence::Every(step) => format!("every {} seconds", step.num_seconds()),
            Cadence::Cron { cron, zone } => format!("{} ({zone})", cron.describe()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn spec(interval: Option<i64>, cron: Option<&str>, tz: &str) -> ScheduleSpec {
        ScheduleSpec {
            interval_secs: interval,
            cron: cron.map(str::to_owned),
            timezone: tz.to_owned(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn missed_interval_slots_collapse_into_one_and_keep_the_grid() {
        let every = spec(Some(60), None, "UTC").cadence(60).unwrap();
        let previous = at("2026-12-07T10:00:00Z");
        // Ten minutes and a bit late: one slot now, the next on the grid, not ten catch-ups.
        let next = every.next_after(at("2026-12-07T10:10:30Z"), Some(previous));
        assert_eq!(next, Some(at("2026-12-07T10:11:00Z")));
        // On time: the next grid slot.
        let next = every.next_after(at("2026-12-07T10:00:00.2Z"), Some(previous));
        assert_eq!(next, Some(at("2026-12-07T10:01:00Z")));
        assert_eq!(
            every.next_after(at("2026-12-07T10:00:00Z"), None),
            Some(at("2026-12-07T10:01:00Z"))
        );
    }

    #[test]
    fn cron_slots_follow_the_time_zone_through_daylight_saving() {
        let nine = spec(None, Some("0 9 * * MON-FRI"), "Europe/Berlin")
            .cadence(60)
            .unwrap();
        // Friday 27 March 2026 09:00 in Berlin is 08:00 UTC (winter time)...
        let friday = nine.next_after(at("2026-03-26T09:00:00Z"), None).unwrap();
        assert_eq!(friday, at("2026-03-27T08:00:00Z"));
        // ...and after the clocks go forward on Sunday 29 March, Monday 09:00 is 07:00 UTC.
        let monday = nine.next_after(friday, None).unwrap();
        assert_eq!(monday, Utc.with_ymd_and_hms(2026, 3, 30, 7, 0, 0).unwrap());
    }

    #[test]
    fn bad_schedules_name_the_field() {
        let cases = [
            (spec(None, None, "UTC"), "schedule.intervalSeconds"),
            (
                spec(Some(60), Some("* * * * *"), "UTC"),
                "schedule.intervalSeconds",
            ),
            (spec(Some(5), None, "UTC"), "schedule.intervalSeconds"),
            (spec(None, Some("61 * * * *"), "UTC"), "schedule.cron"),
            (spec(None, Some("* * * * * *"), "UTC"), "schedule.cron"),
            (spec(None, Some("0 0 31 2 *"), "UTC"), "schedule.cron"),
            (spec(Some(60), None, "Mars/Olympus"), "schedule.timezone"),
        ];
        for (s, field) in cases {
            match s.cadence(60) {
                Err(AppError::BadUserInput { problems, .. }) => {
                    assert_eq!(problems[0].field, field, "{s:?}: {problems:?}")
                }
                other => panic!("{s:?} was accepted: {other:?}"),
            }
        }
        // Every minute is fine at a one-minute floor, not at five.
        assert!(spec(None, Some("* * * * *"), "UTC").cadence(60).is_ok());
        assert!(spec(None, Some("* * * * *"), "UTC").cadence(300).is_err());
    }
}
