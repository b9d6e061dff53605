//! Field-name normalization: `AnnualRevenue__c`, `hs_annual_revenue` and `annual-revenue` all
//! become the words `annual revenue`.

/// Vendor prefixes and suffixes that carry no meaning for matching.
const PREFIXES: &[&str] = &[
    "hs_", "cf_", "c_", "x_", "custom_", "fld_", "sf_", "crm_", "zoho_", "pd_",
];
const SUFFIXES: &[&str] = &["__c", "__pc", "_c"];

/// Lower-case words of a field or entity name.
pub fn words(raw: &str) -> Vec<String> {
    let mut name = raw.trim().to_owned();
    let lower = name.to_lowercase();
    for s in SUFFIXES {
        if lower.ends_with(s) && lower.len() > s.len() + 1 {
            name.truncate(name.len() - s.len());
            break;
        }
    }
    let lower = name.to_lowercase();
    for p in PREFIXES {
        if lower.starts_with(p) && lower.len() > p.len() + 1 {
            name = name[p.len()..].to_owned();
            break;
        }
    }
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        let next = chars.get(i + 1).copied();
        let boundary = match prev {
            Some(p) if p.is_alphanumeric() => {
                (p.is_lowercase() && c.is_uppercase())
                    || (p.is_alphabetic() && c.is_numeric())
                    || (p.is_numeric() && c.is_alphabetic())
                    || (p.is_uppercase()
                        && c.is_uppercase()
                        && next.is_some_and(|n| n.is_lowercase()))
            }
            _ => false,
        };
        if boundary && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Words joined by spaces: what gets embedded.
pub fn phrase(raw: &str) -> String {
    words(raw).join(" ")
}

/// Words joined without spaces: `annualrevenue` equals `annual revenue`.
pub fn compact(raw: &str) -> String {
    words(raw).concat()
}

/// Similarity of two phrases in [0, 1]: 1 when equal ignoring spacing, else the Dice
/// coefficient of their character trigrams.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (ca, cb) = (compact(a), compact(b));
    if ca.is_empty() || cb.is_empty() {
        return 0.0;
    }
    if ca == cb {
        return 1.0;
    }
    let grams = |s: &str| -> Vec<String> {
        let padded: Vec<char> = format!("  {s} ").chars().collect();
        padded.windows(3).map(|w| w.iter().collect()).collect()
    };
    let (ga, gb) = (grams(&ca), grams(&cb));
    let mut used = vec![false; gb.len()];
    let mut common = 0;
    for g in &ga {
        if let Some(j) = gb.iter().enumerate().position(|(j, h)| !used[j] && h == g) {
            used[j] = true;
            common += 1;
        }
    }
    2.0 * common as f64 / (ga.len() + gb.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_words() {
        assert_eq!(phrase("AnnualRevenue"), "annual revenue");
        assert_eq!(phrase("annual_revenue"), "annual revenue");
        assert_eq!(phrase("hs_lead_status"), "lead status");
        assert_eq!(phrase("Industry__c"), "industry");
        assert_eq!(phrase("billingPostalCode"), "billing postal code");
        assert_eq!(phrase("HTTPStatusCode"), "http status code");
        assert_eq!(phrase("address1"), "address 1");
        assert_eq!(phrase("e-mail"), "e mail");
        assert_eq!(compact("Annual Revenue"), "annualrevenue");
    }

    #[test]
    fn similarity_ignores_spacing_and_rewards_overlap() {
        assert_eq!(similarity("annualrevenue", "annual revenue"), 1.0);
        assert!(similarity("annual revenue", "annual revenues") > 0.8);
        assert!(similarity("annual revenue", "first name") < 0.2);
    }
}
