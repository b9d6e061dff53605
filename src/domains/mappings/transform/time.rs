//! Dates and times of transforms: formats read in a zone (UTC, a fixed offset or an IANA
//! name such as `Europe/Berlin`, daylight saving included), written as RFC 3339 in UTC.
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// The zone a date without one of its own is read in.
#[derive(Debug, Clone, Copy)]
pub(super) enum Zone {
    Fixed(FixedOffset),
    Named(chrono_tz::Tz),
}

impl Zone {
    /// `UTC`, `Z`, an offset (`+02:00`) or an IANA zone name.
    pub(super) fn parse(tz: Option<&str>) -> Option<Self> {
        match tz {
            None | Some("UTC" | "Z") => FixedOffset::east_opt(0).map(Self::Fixed),
            Some(tz) if tz.starts_with(['+', '-']) => parse_offset(tz).map(Self::Fixed),
            Some(tz) => tz.parse::<chrono_tz::Tz>().ok().map(Self::Named),
        }
    }

    /// The instant a wall-clock time names; in a daylight-saving overlap the earlier one, in
    /// a gap none.
    fn instant(&self, at: &NaiveDateTime) -> Option<DateTime<Utc>> {
        match self {
            Self::Fixed(o) => o
                .from_local_datetime(at)
                .earliest()
                .map(|t| t.with_timezone(&Utc)),
            Self::Named(z) => z
                .from_local_datetime(at)
                .earliest()
                .map(|t| t.with_timezone(&Utc)),
        }
    }
}

/// `+02:00`, `-0530`, `+01`.
fn parse_offset(tz: &str) -> Option<FixedOffset> {
    let (sign, rest) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits.get(2..).map_or(Some(0), |m| m.parse().ok())?;
    if hours > 14 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

pub(super) fn read_date(v: &str, formats: &[String], zone: Zone) -> Result<String, String> {
    let text = v.trim();
    for f in formats {
        if let Ok(at) = DateTime::parse_from_str(text, f) {
            return Ok(at.with_timezone(&Utc).to_rfc3339());
        }
        if let Ok(at) = NaiveDateTime::parse_from_str(text, f) {
            return zone.instant(&at).map(|t| t.to_rfc3339()).ok_or_else(|| {
                format!("{text:?} does not exist in the zone (a daylight-saving gap)")
            });
        }
        if let Ok(day) = NaiveDate::parse_from_str(text, f) {
            return Ok(day.format("%Y-%m-%d").to_string());
        }
    }
    Err(format!("{text:?} matches none of the formats {formats:?}"))
}
