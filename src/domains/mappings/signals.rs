//! What sample values and declared types say about a field.

/// A recognizable shape shared by most samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    Email,
    Url,
    Phone,
    Date,
    Money,
    Number,
    Identifier,
    CurrencyCode,
    Boolean,
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && !s.contains(' ')
}

fn is_url(s: &str) -> bool {
    let l = s.to_lowercase();
    l.starts_with("http://")
        || l.starts_with("https://")
        || l.starts_with("www.")
        || (!l.contains(' ')
            && !l.contains('@')
            && [".com", ".io", ".org", ".net", ".de", ".co"]
                .iter()
                .any(|t| l.ends_with(t)))
}

fn is_phone(s: &str) -> bool {
    let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
    (7..=15).contains(&digits)
        && s.chars()
            .all(|c| c.is_ascii_digit() || " +-().x".contains(c))
        && (s.contains(' ') || s.contains('-') || s.contains('(') || s.starts_with('+'))
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let iso =
        b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit);
    let slashed = s.split('/').count() == 3
        && s.len() <= 10
        && s.split('/')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    iso || slashed
}

fn is_money(s: &str) -> bool {
    let t = s.trim();
    let symbol = ["$", "€", "£", "¥"]
        .iter()
        .any(|c| t.starts_with(c) || t.ends_with(c));
    let rest: String = t.chars().filter(|c| !"$€£¥ ,".contains(*c)).collect();
    symbol && rest.parse::<f64>().is_ok()
}

fn is_number(s: &str) -> bool {
    let rest: String = s.trim().chars().filter(|c| *c != ',').collect();
    !rest.is_empty() && rest.parse::<f64>().is_ok()
}

fn is_identifier(s: &str) -> bool {
    let t = s.trim();
    let hexish = t.len() >= 15
        && !t.contains(' ')
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && t.chars().any(|c| c.is_ascii_digit());
    let uuid = t.len() == 36 && t.chars().filter(|c| *c == '-').count() == 4;
    hexish || uuid
}

/// ISO 4217 codes in everyday business use; other three-letter capitals (`USA`, `CEO`) are not
/// currencies.
fn is_currency_code(s: &str) -> bool {
    const CODES: &[&str] = &[
        "AED", "ARS", "AUD", "BGN", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK", "EGP",
        "EUR", "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "ISK", "JPY", "KES", "KRW", "KWD", "MAD",
        "MXN", "MYR", "NGN", "NOK", "NZD", "PEN", "PHP", "PKR", "PLN", "QAR", "RON", "RUB", "SAR",
        "SEK", "SGD", "THB", "TRY", "TWD", "UAH", "USD", "VND", "ZAR",
    ];
    CODES.contains(&s.trim())
}

fn is_boolean(s: &str) -> bool {
    matches!(
        s.trim().to_lowercase().as_str(),
        "true" | "false" | "yes" | "no"
    )
}

type Check = fn(&str) -> bool;

/// The pattern at least 80% of the non-empty samples share, checked most specific first.
pub fn detect(samples: &[String]) -> Option<Pattern> {
    let values: Vec<&str> = samples
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if values.is_empty() {
        return None;
    }
    let checks: [(Pattern, Check); 9] = [
        (Pattern::Email, is_email),
        (Pattern::Url, is_url),
        (Pattern::Date, is_date),
        (Pattern::Money, is_money),
        (Pattern::Phone, is_phone),
        (Pattern::CurrencyCode, is_currency_code),
        (Pattern::Boolean, is_boolean),
        (Pattern::Identifier, is_identifier),
        (Pattern::Number, is_number),
    ];
    checks
        .iter()
        .find(|(_, check)| values.iter().filter(|v| check(v)).count() * 5 >= values.len() * 4)
        .map(|(p, _)| *p)
}

/// How well a pattern fits a canonical field: > 1 supports it, < 1 argues against it.
pub fn pattern_fit(pattern: Pattern, field: &str, data_type: &str) -> f64 {
    let has = |w: &str| field.contains(w);
    match pattern {
        Pattern::Email => {
            if has("email") {
                1.15
            } else {
                0.6
            }
        }
        Pattern::Url => {
            if has("website") {
                1.15
            } else {
                0.6
            }
        }
        Pattern::Phone => {
            if has("phone") {
                1.1
            } else {
                0.75
            }
        }
        Pattern::Date => {
            if matches!(data_type, "date" | "timestamp") {
                1.1
            } else {
                0.6
            }
        }
        Pattern::Money => {
            if data_type == "decimal" {
                1.1
            } else {
                0.6
            }
        }
        Pattern::CurrencyCode => {
            if has("currency") {
                1.15
            } else {
                0.8
            }
        }
        Pattern::Identifier => {
            if field.ends_with("_id") {
                1.1
            } else {
                0.85
            }
        }
        Pattern::Number => {
            if matches!(data_type, "integer" | "decimal") || field.ends_with("_id") || has("postal")
            {
                1.05
            } else {
                0.85
            }
        }
        Pattern::Boolean => {
            if has("status") {
                1.0
            } else {
                0.9
            }
        }
    }
}

/// Whether a declared source type can feed a canonical type: 1 fits, lower is a penalty.
pub fn type_fit(source_type: &str, canonical_type: &str) -> f64 {
    let s = source_type.trim().to_lowercase();
    let family = |t: &str| -> &'static str {
        match t {
            "int" | "integer" | "bigint" | "smallint" | "long" | "int64" | "int32" => "integer",
            "number" | "numeric" | "decimal" | "float" | "double" | "real" | "money"
            | "currency" | "float64" => "number",
            "date" => "date",
            "datetime" | "timestamp" | "timestamptz" | "date_time" | "datetime_tz" | "time" => {
                "timestamp"
            }
            "bool" | "boolean" | "checkbox" => "boolean",
            _ => "string",
        }
    };
    match (family(&s), canonical_type) {
        (_, "string") => 1.0,
        ("integer", "integer") | ("integer" | "number", "decimal") | ("number", "integer") => 1.0,
        ("date" | "timestamp", "date" | "timestamp") => 1.0,
        ("string", _) => 0.9,
        _ => 0.55,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn patterns_are_detected_from_samples() {
        assert_eq!(
            detect(&v(&["ada@example.com", "bob@acme.io"])),
            Some(Pattern::Email)
        );
        assert_eq!(
            detect(&v(&["https://acme.com", "www.globex.io"])),
            Some(Pattern::Url)
        );
        assert_eq!(
            detect(&v(&["+1 415 555 0100", "(030) 1234-567"])),
            Some(Pattern::Phone)
        );
        assert_eq!(
            detect(&v(&["2024-01-31", "2023-12-01T10:00:00Z"])),
            Some(Pattern::Date)
        );
        assert_eq!(detect(&v(&["$1,200.00", "€300"])), Some(Pattern::Money));
        assert_eq!(detect(&v(&["USD", "EUR"])), Some(Pattern::CurrencyCode));
        assert_eq!(
            detect(&v(&["USA", "GER"])),
            None,
            "countries are not currencies"
        );
        assert_eq!(detect(&v(&["1200000", "350"])), Some(Pattern::Number));
        assert_eq!(
            detect(&v(&["0015g00000XyZ12AAB", "0015g00000AbC34AAB"])),
            Some(Pattern::Identifier)
        );
        assert_eq!(detect(&v(&["hello world", "x"])), None);
        assert_eq!(detect(&[]), None);
    }

    #[test]
    fn types_fit_or_not() {
        assert_eq!(type_fit("number", "decimal"), 1.0);
        assert_eq!(type_fit("datetime", "timestamp"), 1.0);
        assert!(type_fit("boolean", "decimal") < 0.6);
        assert_eq!(type_fit("string", "string"), 1.0);
    }
}
