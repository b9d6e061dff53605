//! Field-name normalization: `AnnualRevenue__c`, `hs_annual_revenue` and `annual-revenue` all
//! become the words `annual revenue`, and so does `annualrevenue`.
use std::collections::HashSet;
use std::sync::OnceLock;

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
    out.into_iter().flat_map(|w| segment(&w)).collect()
}

/// Words of CRM field names that the canonical model and alias files may not spell out.
const EXTRA_WORDS: &str = include_str!("knowledge/words.txt");

/// Known words: the canonical model's and the alias file's, plus `EXTRA_WORDS`.
fn vocabulary() -> &'static HashSet<String> {
    static VOCABULARY: OnceLock<HashSet<String>> = OnceLock::new();
    VOCABULARY.get_or_init(|| {
        let mut vocabulary = HashSet::new();
        let mut add = |text: &str| {
            for word in text.split(|c: char| !c.is_ascii_alphabetic()) {
                if word.len() >= 2 {
                    vocabulary.insert(word.to_ascii_lowercase());
                }
            }
        };
        add(EXTRA_WORDS);
        for source in [
            include_str!("knowledge/crm-v1-aliases.json"),
            include_str!("../ontology/crm-v1.json"),
        ] {
            // Keys and values alike: entity and field names are keys in the alias file.
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(source) {
                walk_strings(&json, &mut add);
            }
        }
        // Alias lists spell some names run together (`annualrevenue`): such compounds of
        // other known words are not words of their own.
        let compounds: Vec<String> = vocabulary
            .iter()
            .filter(|w| w.len() >= 6 && split_known(w, &vocabulary, 2).is_some_and(|p| p.len() > 1))
            .cloned()
            .collect();
        for c in compounds {
            vocabulary.remove(&c);
        }
        vocabulary
    })
}

fn walk_strings(value: &serde_json::Value, f: &mut impl FnMut(&str)) {
    match value {
        serde_json::Value::String(s) => f(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| walk_strings(v, f)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                f(k);
                walk_strings(v, f);
            }
        }
        _ => {}
    }
}

/// Splits a run-together lower-case word (`estimatedclosedate`) into known words
/// (`estimated close date`). Unknown or unsplittable words stay whole.
fn segment(word: &str) -> Vec<String> {
    const MIN_LEN: usize = 6;
    let vocabulary = vocabulary();
    if word.len() < MIN_LEN
        || !word.bytes().all(|b| b.is_ascii_lowercase())
        || vocabulary.contains(word)
    {
        return vec![word.to_owned()];
    }
    split_known(word, vocabulary, 2).unwrap_or_else(|| vec![word.to_owned()])
}

/// The split of `word` into vocabulary words of at least `min_part` letters with the fewest
/// words, longer words breaking ties; None when there is none.
fn split_known(word: &str, vocabulary: &HashSet<String>, min_part: usize) -> Option<Vec<String>> {
    let n = word.len();
    // best[i]: (words, -sum of squared lengths, start of the last word) for word[..i].
    let mut best: Vec<Option<(usize, i64, usize)>> = vec![None; n + 1];
    best[0] = Some((0, 0, 0));
    for end in min_part..=n {
        for start in 0..=end - min_part {
            let Some((count, score, _)) = best[start] else {
                continue;
            };
            // The whole word is not a split of itself.
            if (start == 0 && end == n) || !vocabulary.contains(&word[start..end]) {
                continue;
            }
            let len = (end - start) as i64;
            let candidate = (count + 1, score - len * len, start);
            if best[end].is_none_or(|b| (candidate.0, candidate.1) < (b.0, b.1)) {
                best[end] = Some(candidate);
            }
        }
    }
    let mut parts = Vec::new();
    let mut end = n;
    while end > 0 {
        let (_, _, start) = best[end]?;
        parts.push(word[start..end].to_owned());
        end = start;
    }
    parts.reverse();
    Some(parts)
}

/// The word a name is about: its last word that is not a generic suffix (`industry code` →
/// `industry`, `address 1 city` → `city`), or its last word when all are generic.
pub fn head(raw: &str) -> Option<String> {
    let words: Vec<String> = words(raw)
        .into_iter()
        .filter(|w| !w.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    words
        .iter()
        .rev()
        .find(|w| !is_vague(w) && *w != "value")
        .or(words.last())
        .cloned()
}

/// Words that say what kind of value a name holds but not what it is about.
pub fn is_vague(word: &str) -> bool {
    const VAGUE: &[&str] = &[
        "id", "code", "name", "number", "no", "num", "key", "type", "text",
    ];
    VAGUE.contains(&word)
}

/// The proper word suffixes of a name, longest first, skipping those made only of vague
/// words or numbers: `address 1 city` → `1 city`, `city`.
pub fn suffixes(raw: &str) -> Vec<String> {
    let words = words(raw);
    (1..words.len())
        .map(|k| &words[k..])
        .filter(|tail| {
            tail.iter()
                .any(|w| !is_vague(w) && !w.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|tail| tail.join(" "))
        .collect()
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
    fn run_together_names_split_into_known_words() {
        assert_eq!(phrase("annualrevenue"), "annual revenue");
        assert_eq!(phrase("estimatedclosedate"), "estimated close date");
        assert_eq!(phrase("transactioncurrencyid"), "transaction currency id");
        assert_eq!(phrase("numberofemployees"), "number of employees");
        assert_eq!(phrase("parentcustomerid"), "parent customer id");
        // Known words and words that do not split stay whole.
        assert_eq!(phrase("industry"), "industry");
        assert_eq!(phrase("xyzzyplugh"), "xyzzyplugh");
        // Spacing never changes the compact form exact matching uses.
        assert_eq!(compact("estimatedclosedate"), "estimatedclosedate");
    }

    #[test]
    fn the_head_word_skips_generic_suffixes_and_numbers() {
        assert_eq!(head("address1_city").as_deref(), Some("city"));
        assert_eq!(head("industrycode").as_deref(), Some("industry"));
        assert_eq!(head("transactioncurrencyid").as_deref(), Some("currency"));
        assert_eq!(head("Name").as_deref(), Some("name"));
        assert_eq!(head("").as_deref(), None);
    }

    #[test]
    fn suffixes_skip_vague_tails() {
        assert_eq!(suffixes("address1_city"), vec!["1 city", "city"]);
        assert_eq!(suffixes("estimatedvalue"), vec!["value"]);
        assert!(suffixes("stepname").is_empty());
        assert!(suffixes("email").is_empty());
    }

    #[test]
    fn similarity_ignores_spacing_and_rewards_overlap() {
        assert_eq!(similarity("annualrevenue", "annual revenue"), 1.0);
        assert!(similarity("annual revenue", "annual revenues") > 0.8);
        assert!(similarity("annual revenue", "first name") < 0.2);
    }
}
