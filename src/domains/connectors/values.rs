//! Reading dates and times the way sources write them: used to infer a field's type when it is
//! introspected, and to coerce its values in the pipeline.
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

pub fn parse_date(v: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(v, f).ok())
}

pub fn parse_timestamp(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
    .or_else(|| parse_date(v).and_then(|d| d.and_hms_opt(0, 0, 0)))
    .map(|n| n.and_utc())
}
