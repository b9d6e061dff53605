//! Source text → canonical value, by the canonical field's type (and, for a few well-known
//! fields, its meaning: currency codes, emails). A value that does not fit is reported with a
//! reason, never silently dropped.

use crate::domains::connectors::values::{parse_date, parse_timestamp};
use crate::domains::mappings::transform::Transform;
use serde_json::{json, Value};

/// A source value as the canonical field stores it: through the mapping's transform (if any),
/// then the field's type. The pipeline and `previewTransform` both read values through here.
pub fn canonical_value(
    transform: Option<&Transform>,
    canonical_field: &str,
    data_type: &str,
    (raw, record): (&str, &[(String, String)]),
) -> Result<Option<Value>, String> {
    let value = match transform {
        None => Some(raw.to_owned()),
        Some(t) => t
            .apply_in(raw, record)
            .map_err(|e| format!("transform: {e}"))?,
    };
    match value {
        Some(v) => coerce(canonical_field, data_type, &v),
        None => Ok(None),
    }
}

/// Returns the canonical value, `Ok(None)` for an empty source value, or why it does not fit.
pub fn coerce(canonical_field: &str, data_type: &str, raw: &str) -> Result<Option<Value>, String> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let value = match data_type {
        "integer" => json!(parse_integer(v).ok_or("is not a whole number")?),
        "decimal" => json!(parse_decimal(v).ok_or("is not a number")?),
        "boolean" => json!(parse_bool(v).ok_or("is not true/false, yes/no or 1/0")?),
        "date" => json!(parse_date(v)
            .ok_or("is not a date (YYYY-MM-DD, MM/DD/YYYY, DD.MM.YYYY)")?
            .to_string()),
        "timestamp" => json!(parse_timestamp(v)
            .ok_or("is not a timestamp (RFC 3339, YYYY-MM-DD HH:MM:SS or a date)")?
            .to_rfc3339()),
        "json" => serde_json::from_str(v).map_err(|e| format!("is not JSON: {e}"))?,
        _ if canonical_field == "currency" => {
            json!(parse_currency(v).ok_or("is not an ISO 4217 currency code")?)
        }
        "email" => json!(parse_email(v).ok_or("is not an email address")?),
        _ if canonical_field == "email" => json!(parse_email(v).ok_or("is not an email address")?),
        _ => json!(v),
    };
    Ok(Some(value))
}

fn parse_integer(v: &str) -> Option<i64> {
    let cleaned: String = v
        .chars()
        .filter(|c| !matches!(c, ',' | '%' | ' '))
        .collect();
    cleaned.parse::<i64>().ok().or_else(|| {
        // "60.0" is a whole number written as a decimal.
        let f = cleaned.parse::<f64>().ok()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

fn parse_decimal(v: &str) -> Option<f64> {
    let cleaned: String = v
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '$' | '€' | '£' | '¥'))
        .collect();
    cleaned.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "t" => Some(true),
        "false" | "no" | "n" | "0" | "f" => Some(false),
        _ => None,
    }
}

fn parse_currency(v: &str) -> Option<String> {
    let code = v.to_ascii_uppercase();
    (code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())).then_some(code)
}

fn parse_email(v: &str) -> Option<String> {
    let (local, domain) = v.split_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !v.contains(char::is_whitespace)
        && !domain.contains('@');
    ok.then(|| v.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_coerced_to_the_canonical_type() {
        assert_eq!(
            coerce("amount", "decimal", "$1,200.50").unwrap(),
            Some(json!(1200.5))
        );
        assert_eq!(
            coerce("probability", "integer", "60%").unwrap(),
            Some(json!(60))
        );
        assert_eq!(
            coerce("close_date", "date", "09/30/2024").unwrap(),
            Some(json!("2024-09-30"))
        );
        assert_eq!(
            coerce("created_at", "timestamp", "2024-01-02 03:04:05").unwrap(),
            Some(json!("2024-01-02T03:04:05+00:00"))
        );
        assert_eq!(
            coerce("currency", "string", "usd").unwrap(),
            Some(json!("USD"))
        );
        assert_eq!(
            coerce("email", "string", "Ada@Example.com").unwrap(),
            Some(json!("ada@example.com"))
        );
        assert_eq!(
            coerce("name", "string", "  Acme ").unwrap(),
            Some(json!("Acme"))
        );
        assert_eq!(coerce("name", "string", "   ").unwrap(), None);
    }

    #[test]
    fn values_that_do_not_fit_say_why() {
        assert!(coerce("amount", "decimal", "lots")
            .unwrap_err()
            .contains("number"));
        assert!(coerce("close_date", "date", "soon")
            .unwrap_err()
            .contains("date"));
        assert!(coerce("currency", "string", "dollars")
            .unwrap_err()
            .contains("ISO 4217"));
        assert!(coerce("email", "string", "not an email")
            .unwrap_err()
            .contains("email"));
        assert!(coerce("probability", "integer", "2.5").is_err());
    }
}
