//! A mapping's transform: a typed, declarative list of steps applied to a source value before
//! it is coerced to the canonical type (no code is ever run). Read and checked when a mapping is
//! saved, so a bad transform is refused with the path of the problem
//! (`transform.steps[2].pattern`), and applied by the pipeline to every value.
//!
//! ```json
//! { "steps": [ { "op": "trim" }, { "op": "valueMap", "map": { "Hot": "HIGH" }, "default": "LOW" } ] }
//! ```
use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

/// Most steps in one transform, and the longest pattern or map: transforms run on every value.
const MAX_STEPS: usize = 20;
const MAX_PATTERN: usize = 500;
const MAX_MAP_ENTRIES: usize = 1000;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Spec {
    steps: Vec<Step>,
}

/// One step, named by `op`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", deny_unknown_fields)]
enum Step {
    /// Leading and trailing white space removed. (A struct variant, so that unknown fields
    /// are refused: serde lets a unit variant of a tagged enum ignore them.)
    Trim {},
    /// `to`: `upper`, `lower` or `title`.
    Case { to: CaseTo },
    /// Picklist values onto canonical ones (`caseInsensitive` by default); unknown values take
    /// `default` when given, else pass unchanged.
    #[serde(rename_all = "camelCase")]
    ValueMap {
        map: BTreeMap<String, String>,
        default: Option<String>,
        #[serde(default = "yes")]
        case_insensitive: bool,
    },
    /// A number multiplied by `factor` (cents → units: 0.01; micros: 0.000001).
    Scale { factor: f64 },
    /// A date or time read with one of `formats` (strftime, e.g. `%d/%m/%Y`), in `timezone`
    /// (`UTC` or an offset such as `+02:00`) when it carries none; written as RFC 3339.
    Date {
        formats: Vec<String>,
        #[serde(default)]
        timezone: Option<String>,
    },
    /// Seconds or milliseconds since 1970 (`unit`: `s` or `ms`), written as RFC 3339 in UTC.
    Epoch { unit: EpochUnit },
    /// The text `pattern` matches (its `group`, 0 for the whole match); no match: no value.
    Regex {
        pattern: String,
        #[serde(default)]
        group: usize,
    },
    /// Part `index` of the value split at `separator` (negative counts from the end).
    Split { separator: String, index: i64 },
    /// Every `from` replaced with `to`.
    Replace { from: String, to: String },
    /// The value to use when there is none (empty after the steps before).
    Default { value: String },
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
enum CaseTo {
    Upper,
    Lower,
    Title,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum EpochUnit {
    #[serde(rename = "s")]
    Seconds,
    #[serde(rename = "ms")]
    Milliseconds,
}

/// A checked transform, ready to apply.
#[derive(Debug, Clone)]
pub struct Transform {
    steps: Vec<Compiled>,
}

#[derive(Debug, Clone)]
enum Compiled {
    Plain(Step),
    Regex(regex::Regex, usize),
    Date(Vec<String>, FixedOffset),
}

/// Where a transform is wrong: the path inside it (`steps[1].pattern`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformProblem {
    pub path: String,
    pub reason: String,
}

/// Refused input, named as the API names it: `transform.steps[1].pattern`.
impl From<TransformProblem> for crate::error::AppError {
    fn from(p: TransformProblem) -> Self {
        let path = if p.path.is_empty() {
            "transform".to_owned()
        } else {
            format!("transform.{}", p.path)
        };
        Self::bad_field(path, p.reason)
    }
}

impl TransformProblem {
    fn at(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl Transform {
    /// Reads and checks a stored or submitted transform.
    pub fn parse(raw: &Value) -> Result<Self, TransformProblem> {
        let spec: Spec = serde_path_to_error::deserialize(raw).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let reason = e.into_inner().to_string();
            TransformProblem::at(refine(raw, path, &reason), reason)
        })?;
        if spec.steps.is_empty() || spec.steps.len() > MAX_STEPS {
            return Err(TransformProblem::at(
                "steps",
                format!("needs 1 to {MAX_STEPS} steps"),
            ));
        }
        let steps = spec
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, step)| compile(step).map_err(|(field, why)| problem(i, field, why)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { steps })
    }

    /// The value after every step; `Ok(None)` when nothing is left, `Err` when a step cannot
    /// read it (the reason is kept with the record).
    pub fn apply(&self, raw: &str) -> Result<Option<String>, String> {
        let mut value = Some(raw.to_owned());
        for step in &self.steps {
            value = match (step, value) {
                (Compiled::Plain(Step::Default { value: fallback }), v) => match v {
                    Some(v) if !v.trim().is_empty() => Some(v),
                    _ => Some(fallback.clone()),
                },
                (_, None) => None,
                (step, Some(v)) => apply_step(step, v)?,
            };
        }
        Ok(value.filter(|v| !v.is_empty()))
    }
}

/// A step's fields are read after its `op`, where the deserializer no longer knows the field:
/// name it from the message (an unknown field, or the field holding an unknown value).
fn refine(raw: &Value, path: String, reason: &str) -> String {
    let Some(index) = path
        .strip_prefix("steps[")
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|i| i.parse::<usize>().ok())
    else {
        return path;
    };
    let Some(step) = raw["steps"][index].as_object() else {
        return path;
    };
    let quoted = reason.split('`').nth(1).unwrap_or_default();
    let field = if reason.starts_with("unknown field") {
        Some(quoted)
    } else {
        step.iter()
            .find(|(k, v)| k.as_str() != "op" && v.as_str() == Some(quoted))
            .map(|(k, _)| k.as_str())
    };
    match field {
        Some(f) if !f.is_empty() => format!("{path}.{f}"),
        _ => path,
    }
}

fn problem(index: usize, field: &str, why: String) -> TransformProblem {
    let path = if field.is_empty() {
        format!("steps[{index}]")
    } else {
        format!("steps[{index}].{field}")
    };
    TransformProblem::at(path, why)
}

fn compile(step: Step) -> Result<Compiled, (&'static str, String)> {
    match step {
        Step::Regex { pattern, group } => {
            if pattern.len() > MAX_PATTERN {
                return Err((
                    "pattern",
                    format!("is longer than {MAX_PATTERN} characters"),
                ));
            }
            let re = regex::RegexBuilder::new(&pattern)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| ("pattern", format!("is not a regular expression: {e}")))?;
            if group >= re.captures_len() {
                return Err((
                    "group",
                    format!("the pattern has {} groups", re.captures_len() - 1),
                ));
            }
            Ok(Compiled::Regex(re, group))
        }
        Step::Date { formats, timezone } => {
            if formats.is_empty() {
                return Err(("formats", "needs at least one format".into()));
            }
            for (i, f) in formats.iter().enumerate() {
                let bad = chrono::format::StrftimeItems::new(f)
                    .any(|item| matches!(item, chrono::format::Item::Error));
                if bad || f.is_empty() {
                    return Err(("formats", format!("[{i}] {f:?} is not a date format")));
                }
            }
            let offset = match timezone.as_deref() {
                None | Some("UTC" | "Z") => FixedOffset::east_opt(0),
                Some(tz) => parse_offset(tz),
            }
            .ok_or(("timezone", "must be UTC or an offset like +02:00".into()))?;
            Ok(Compiled::Date(formats, offset))
        }
        Step::ValueMap { ref map, .. } if map.len() > MAX_MAP_ENTRIES => {
            Err(("map", format!("holds more than {MAX_MAP_ENTRIES} values")))
        }
        Step::Scale { factor } if !factor.is_finite() || factor == 0.0 => {
            Err(("factor", "must be a finite number other than 0".into()))
        }
        Step::Split { ref separator, .. } if separator.is_empty() => {
            Err(("separator", "must not be empty".into()))
        }
        Step::Replace { ref from, .. } if from.is_empty() => {
            Err(("from", "must not be empty".into()))
        }
        step => Ok(Compiled::Plain(step)),
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

fn apply_step(step: &Compiled, v: String) -> Result<Option<String>, String> {
    Ok(match step {
        Compiled::Regex(re, group) => re
            .captures(&v)
            .and_then(|c| c.get(*group))
            .map(|m| m.as_str().to_owned()),
        Compiled::Date(formats, offset) => Some(read_date(&v, formats, *offset)?),
        Compiled::Plain(step) => match step {
            Step::Trim {} => Some(v.trim().to_owned()),
            Step::Case { to } => Some(match to {
                CaseTo::Upper => v.to_uppercase(),
                CaseTo::Lower => v.to_lowercase(),
                CaseTo::Title => title_case(&v),
            }),
            Step::ValueMap {
                map,
                default,
                case_insensitive,
            } => {
                let key = v.trim();
                let found = map.get(key).or_else(|| {
                    case_insensitive
                        .then(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
                        .flatten()
                        .map(|(_, to)| to)
                });
                Some(found.or(default.as_ref()).cloned().unwrap_or(v))
            }
            Step::Scale { factor } => {
                let n: f64 = v
                    .trim()
                    .replace(',', "")
                    .parse()
                    .map_err(|_| format!("{v:?} is not a number to scale"))?;
                Some(format_number(n * factor))
            }
            Step::Epoch { unit } => {
                let n: i64 = v
                    .trim()
                    .parse()
                    .map_err(|_| format!("{v:?} is not a whole number of {unit:?}"))?;
                let at = match unit {
                    EpochUnit::Seconds => DateTime::<Utc>::from_timestamp(n, 0),
                    EpochUnit::Milliseconds => DateTime::<Utc>::from_timestamp_millis(n),
                }
                .ok_or_else(|| format!("{n} is out of range for a date"))?;
                Some(at.to_rfc3339())
            }
            Step::Split { separator, index } => {
                let parts: Vec<&str> = v.split(separator.as_str()).collect();
                let at = if *index < 0 {
                    parts.len() as i64 + index
                } else {
                    *index
                };
                usize::try_from(at)
                    .ok()
                    .and_then(|i| parts.get(i))
                    .map(|p| p.trim().to_owned())
            }
            Step::Replace { from, to } => Some(v.replace(from.as_str(), to)),
            // Handled before (it applies to a missing value too).
            Step::Default { .. } => Some(v),
            // Compiled into their own variants.
            Step::Regex { .. } | Step::Date { .. } => Some(v),
        },
    })
}

fn read_date(v: &str, formats: &[String], offset: FixedOffset) -> Result<String, String> {
    let text = v.trim();
    for f in formats {
        if let Ok(at) = DateTime::parse_from_str(text, f) {
            return Ok(at.with_timezone(&Utc).to_rfc3339());
        }
        if let Ok(at) = NaiveDateTime::parse_from_str(text, f) {
            if let Some(at) = offset.from_local_datetime(&at).single() {
                return Ok(at.with_timezone(&Utc).to_rfc3339());
            }
        }
        if let Ok(day) = NaiveDate::parse_from_str(text, f) {
            return Ok(day.format("%Y-%m-%d").to_string());
        }
    }
    Err(format!("{text:?} matches none of the formats {formats:?}"))
}

fn title_case(v: &str) -> String {
    v.split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(c.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Without a trailing `.0` or float noise (1999 × 0.01 = 19.99, not 19.990000000000002).
fn format_number(n: f64) -> String {
    let rounded = (n * 1e9).round() / 1e9;
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(steps: Value, input: &str) -> Result<Option<String>, String> {
        Transform::parse(&json!({ "steps": steps }))
            .unwrap()
            .apply(input)
    }

    fn refused(raw: Value) -> TransformProblem {
        Transform::parse(&raw).unwrap_err()
    }

    #[test]
    fn each_step_does_what_it_says() {
        let cases: Vec<(Value, &str, Option<&str>)> = vec![
            (json!([{ "op": "trim" }]), "  Acme  ", Some("Acme")),
            (
                json!([{ "op": "case", "to": "upper" }]),
                "acme",
                Some("ACME"),
            ),
            (
                json!([{ "op": "case", "to": "title" }]),
                "jOHN smith",
                Some("John Smith"),
            ),
            (
                json!([{ "op": "valueMap", "map": { "Hot": "HIGH" }, "default": "LOW" }]),
                "hot",
                Some("HIGH"),
            ),
            (
                json!([{ "op": "valueMap", "map": { "Hot": "HIGH" }, "default": "LOW" }]),
                "Cold",
                Some("LOW"),
            ),
            (
                json!([{ "op": "valueMap", "map": { "Hot": "HIGH" } }]),
                "Cold",
                Some("Cold"),
            ),
            (
                json!([{ "op": "valueMap", "map": { "Hot": "HIGH" }, "caseInsensitive": false }]),
                "hot",
                Some("hot"),
            ),
            (
                json!([{ "op": "scale", "factor": 0.01 }]),
                "1999",
                Some("19.99"),
            ),
            (
                json!([{ "op": "scale", "factor": 0.000001 }]),
                "2500000",
                Some("2.5"),
            ),
            (
                json!([{ "op": "date", "formats": ["%d/%m/%Y"] }]),
                "31/12/2024",
                Some("2024-12-31"),
            ),
            (
                json!([{ "op": "date", "formats": ["%d/%m/%Y %H:%M"], "timezone": "+02:00" }]),
                "31/12/2024 10:00",
                Some("2024-12-31T08:00:00+00:00"),
            ),
            (
                json!([{ "op": "epoch", "unit": "s" }]),
                "1700000000",
                Some("2023-11-14T22:13:20+00:00"),
            ),
            (
                json!([{ "op": "epoch", "unit": "ms" }]),
                "1700000000000",
                Some("2023-11-14T22:13:20+00:00"),
            ),
            (
                json!([{ "op": "regex", "pattern": "^(\\w+)@", "group": 1 }]),
                "ann@acme.test",
                Some("ann"),
            ),
            (json!([{ "op": "regex", "pattern": "^\\d+$" }]), "n/a", None),
            (
                json!([{ "op": "split", "separator": " ", "index": 0 }]),
                "Ann Lee",
                Some("Ann"),
            ),
            (
                json!([{ "op": "split", "separator": " ", "index": -1 }]),
                "Ann Marie Lee",
                Some("Lee"),
            ),
            (
                json!([{ "op": "split", "separator": " ", "index": 3 }]),
                "Ann Lee",
                None,
            ),
            (
                json!([{ "op": "replace", "from": "-", "to": "" }]),
                "555-0100",
                Some("5550100"),
            ),
            (
                json!([{ "op": "trim" }, { "op": "default", "value": "unknown" }]),
                "   ",
                Some("unknown"),
            ),
            (
                json!([{ "op": "regex", "pattern": "x" }, { "op": "default", "value": "none" }]),
                "abc",
                Some("none"),
            ),
        ];
        for (steps, input, want) in cases {
            assert_eq!(
                run(steps.clone(), input),
                Ok(want.map(str::to_owned)),
                "{steps} on {input:?}"
            );
        }
    }

    #[test]
    fn values_a_step_cannot_read_are_errors_with_a_reason() {
        let e = run(json!([{ "op": "scale", "factor": 100 }]), "twelve").unwrap_err();
        assert!(e.contains("not a number"), "{e}");
        let e = run(
            json!([{ "op": "date", "formats": ["%Y-%m-%d"] }]),
            "12/31/2024",
        )
        .unwrap_err();
        assert!(e.contains("matches none"), "{e}");
        assert!(run(json!([{ "op": "epoch", "unit": "s" }]), "soon").is_err());
    }

    #[test]
    fn bad_transforms_are_refused_with_the_path_of_the_problem() {
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({ "steps": [{ "op": "trim" }, { "op": "regex", "pattern": "(" }] }),
                "steps[1].pattern",
            ),
            (
                json!({ "steps": [{ "op": "regex", "pattern": "a", "group": 2 }] }),
                "steps[0].group",
            ),
            (
                json!({ "steps": [{ "op": "date", "formats": ["%Q"] }] }),
                "steps[0].formats",
            ),
            (
                json!({ "steps": [{ "op": "date", "formats": ["%Y"], "timezone": "Mars/Base" }] }),
                "steps[0].timezone",
            ),
            (
                json!({ "steps": [{ "op": "scale", "factor": 0 }] }),
                "steps[0].factor",
            ),
            (
                json!({ "steps": [{ "op": "split", "separator": "", "index": 0 }] }),
                "steps[0].separator",
            ),
            (json!({ "steps": [{ "op": "teleport" }] }), "steps[0].op"),
            (
                json!({ "steps": [{ "op": "case", "to": "sideways" }] }),
                "steps[0].to",
            ),
            (
                json!({ "steps": [{ "op": "trim", "extra": 1 }] }),
                "steps[0].extra",
            ),
            (json!({ "steps": [] }), "steps"),
            (json!({ "stages": [] }), "stages"),
        ];
        for (raw, path) in cases {
            let p = refused(raw.clone());
            assert_eq!(p.path, path, "{raw}: {}", p.reason);
            assert!(!p.reason.is_empty());
        }
    }
}
