//! A mapping's transform: a typed, declarative list of steps applied to a source value before
//! it is coerced to the canonical type (no code is ever run). Read and checked when a mapping is
//! saved, so a bad transform is refused with the path of the problem
//! (`transform.steps[2].pattern`), and applied by the pipeline to every value.
//!
//! ```json
//! { "steps": [ { "op": "trim" }, { "op": "valueMap", "map": { "Hot": "HIGH" }, "default": "LOW" } ] }
//! ```
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use self::time::{read_date, Zone};

mod time;
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
    /// (`UTC`, an offset such as `+02:00`, or an IANA zone such as `America/New_York`) when it
    /// carries none; written as RFC 3339 in UTC.
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
    /// The value joined with other source fields of the same record (`fields`, by name), in
    /// order, with `separator` (a space by default); empty ones are left out. A COMPUTED field
    /// from several source fields: full name from first and last.
    Concat {
        fields: Vec<String>,
        #[serde(default = "space")]
        separator: String,
    },
}

fn space() -> String {
    " ".to_owned()
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
    Date(Vec<String>, Zone),
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
        self.apply_in(raw, &[])
    }

    /// Applies the steps to a value of a record whose other values `concat` may read.
    pub fn apply_in(
        &self,
        raw: &str,
        record: &[(String, String)],
    ) -> Result<Option<String>, String> {
        let mut value = Some(raw.to_owned());
        for step in &self.steps {
            value = match (step, value) {
                (Compiled::Plain(Step::Default { value: fallback }), v) => match v {
                    Some(v) if !v.trim().is_empty() => Some(v),
                    _ => Some(fallback.clone()),
                },
                (Compiled::Plain(Step::Concat { fields, separator }), v) => {
                    concat(v, fields, separator, record)
                }
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
            let zone = Zone::parse(timezone.as_deref()).ok_or((
                "timezone",
                "must be UTC, an offset like +02:00 or a zone like Europe/Berlin".into(),
            ))?;
            Ok(Compiled::Date(formats, zone))
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
        Step::Concat { ref fields, .. } if fields.is_empty() || fields.len() > 10 => {
            Err(("fields", "needs 1 to 10 source fields".into()))
        }
        step => Ok(Compiled::Plain(step)),
    }
}

fn apply_step(step: &Compiled, v: String) -> Result<Option<String>, String> {
    Ok(match step {
        Compiled::Regex(re, group) => re
            .captures(&v)
            .and_then(|c| c.get(*group))
            .map(|m| m.as_str().to_owned()),
        Compiled::Date(formats, zone) => Some(read_date(&v, formats, *zone)?),
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
            // Handled before (they apply to a missing value too).
            Step::Default { .. } | Step::Concat { .. } => Some(v),
            // Compiled into their own variants.
            Step::Regex { .. } | Step::Date { .. } => Some(v),
        },
    })
}

/// The value, then each named field's value of the record (names compared without case).
fn concat(
    v: Option<String>,
    fields: &[String],
    separator: &str,
    record: &[(String, String)],
) -> Option<String> {
    let others = fields.iter().map(|f| {
        record
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(f))
            .map(|(_, value)| value.trim().to_owned())
    });
    let parts: Vec<String> = std::iter::once(v.map(|v| v.trim().to_owned()))
        .chain(others)
        .flatten()
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(separator))
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
mod tests;
