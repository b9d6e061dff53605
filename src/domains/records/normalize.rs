//! Values as entity resolution compares them: emails, website domains, E.164 phones, names
//! without case, accents, punctuation or legal suffixes. Pure.
use unicode_normalization::UnicodeNormalization;

/// Lower case, trimmed, one `@` with something either side.
pub fn email(raw: &str) -> Option<String> {
    let v = raw.trim().trim_start_matches("mailto:").to_lowercase();
    let (local, domain) = v.split_once('@')?;
    (!local.is_empty() && domain.contains('.') && !domain.contains('@')).then_some(v)
}

/// The registrable part a website or email names: no scheme, `www.`, port, path or query.
pub fn domain(raw: &str) -> Option<String> {
    let v = raw.trim().to_lowercase();
    let v = v.rsplit_once('@').map_or(v.as_str(), |(_, d)| d);
    let v = v.split_once("://").map_or(v, |(_, rest)| rest);
    let host = v.split(['/', '?', '#', ':']).next().unwrap_or_default();
    let host = host.trim_start_matches("www.").trim_end_matches('.');
    let ok = host.contains('.')
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    ok.then(|| host.to_owned())
}

/// Mailbox providers: a shared domain says nothing about which company a person is with.
pub fn is_free_mail(domain: &str) -> bool {
    const FREE: &[&str] = &[
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
        "zoho.com",
        "example.com",
    ];
    FREE.contains(&domain) || domain.starts_with("yahoo.") || domain.starts_with("hotmail.")
}

/// E.164 (`+` and 8 to 15 digits). A number without a country code takes `default_country`;
/// a trunk `0` is dropped; `00` is the international prefix; extensions are cut off.
pub fn phone(raw: &str, default_country: &str) -> Option<String> {
    let lower = raw.trim().to_lowercase();
    let main = ["ext", "x", "#", ";"]
        .iter()
        .filter_map(|sep| lower.find(sep))
        .min()
        .map_or(lower.as_str(), |at| &lower[..at]);
    let international = main.trim_start().starts_with('+');
    let mut digits: String = main.chars().filter(char::is_ascii_digit).collect();
    if !international {
        if let Some(rest) = digits.strip_prefix("00") {
            digits = rest.to_owned();
        } else if default_country == "1" && digits.len() == 11 && digits.starts_with('1') {
            // A North American number written with its country code but no plus.
        } else {
            digits = format!("{default_country}{}", digits.trim_start_matches('0'));
        }
    }
    (8..=15)
        .contains(&digits.len())
        .then(|| format!("+{digits}"))
}

/// Lower case, accents folded, anything not a letter or digit a single space.
pub fn text(raw: &str) -> String {
    let folded: String = raw
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A company name without its legal form (`Acme, Inc.` and `ACME Incorporated` are `acme`).
pub fn org_name(raw: &str) -> String {
    const LEGAL: &[&str] = &[
        "inc",
        "incorporated",
        "llc",
        "llp",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "bv",
        "nv",
        "plc",
        "pty",
        "srl",
        "spa",
        "oy",
        "ab",
        "kk",
        "the",
    ];
    let folded = text(raw);
    let words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    let kept: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !LEGAL.contains(w))
        .collect();
    if kept.is_empty() {
        words.join(" ")
    } else {
        kept.join(" ")
    }
}

/// A country as an ISO 3166 alpha-2 code where its common names are known (`USA`, `United
/// States`, `us` are all `us`); otherwise its text.
pub fn country(raw: &str) -> String {
    const ALIASES: &[(&str, &[&str])] = &[
        (
            "us",
            &[
                "us",
                "usa",
                "u s a",
                "u s",
                "united states",
                "united states of america",
                "america",
            ],
        ),
        (
            "gb",
            &[
                "gb",
                "uk",
                "u k",
                "united kingdom",
                "great britain",
                "england",
                "scotland",
                "wales",
            ],
        ),
        ("de", &["de", "deu", "germany", "deutschland"]),
        ("fr", &["fr", "fra", "france"]),
        ("es", &["es", "esp", "spain", "espana"]),
        ("it", &["it", "ita", "italy", "italia"]),
        (
            "nl",
            &["nl", "nld", "netherlands", "the netherlands", "holland"],
        ),
        ("ca", &["ca", "can", "canada"]),
        ("au", &["au", "aus", "australia"]),
        ("in", &["in", "ind", "india"]),
        ("jp", &["jp", "jpn", "japan"]),
        ("cn", &["cn", "chn", "china"]),
        ("br", &["br", "bra", "brazil", "brasil"]),
        ("mx", &["mx", "mex", "mexico"]),
        ("ch", &["ch", "che", "switzerland", "schweiz", "suisse"]),
        ("se", &["se", "swe", "sweden"]),
        ("no", &["no", "nor", "norway"]),
        ("ie", &["ie", "irl", "ireland"]),
    ];
    let t = text(raw);
    ALIASES
        .iter()
        .find(|(_, names)| names.contains(&t.as_str()))
        .map_or(t, |(code, _)| (*code).to_owned())
}

/// American Soundex of the first word (`Robert` and `Rupert` are `R163`): a blocking key that
/// survives most typos after the first letter.
pub fn soundex(raw: &str) -> Option<String> {
    let word = text(raw);
    let word = word.split(' ').next().unwrap_or_default();
    let mut chars = word.chars().filter(char::is_ascii_alphabetic);
    let first = chars.next()?;
    let code = |c: char| match c {
        'b' | 'f' | 'p' | 'v' => '1',
        'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => '2',
        'd' | 't' => '3',
        'l' => '4',
        'm' | 'n' => '5',
        'r' => '6',
        'h' | 'w' => '-',
        _ => '0',
    };
    let mut out = String::from(first.to_ascii_uppercase());
    let mut last = code(first);
    for c in chars {
        let k = code(c);
        if k == '-' {
            continue;
        }
        if k != '0' && k != last {
            out.push(k);
        }
        last = k;
        if out.len() == 4 {
            break;
        }
    }
    while out.len() < 4 {
        out.push('0');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_case_and_checked() {
        assert_eq!(email(" Ada@Example.COM "), Some("ada@example.com".into()));
        assert_eq!(email("mailto:a@b.io"), Some("a@b.io".into()));
        assert_eq!(email("not an email"), None);
        assert_eq!(email("@b.io"), None);
    }

    #[test]
    fn domains_come_from_urls_and_emails() {
        assert_eq!(
            domain("https://www.Acme.com/about?x=1"),
            Some("acme.com".into())
        );
        assert_eq!(domain("acme.com"), Some("acme.com".into()));
        assert_eq!(domain("http://acme.co.uk:8080"), Some("acme.co.uk".into()));
        assert_eq!(domain("sales@acme.com"), Some("acme.com".into()));
        assert_eq!(domain("n/a"), None);
        assert!(
            is_free_mail("gmail.com") && is_free_mail("yahoo.co.uk") && !is_free_mail("acme.com")
        );
    }

    #[test]
    fn phones_become_e164() {
        assert_eq!(phone("(415) 555-0134", "1"), Some("+14155550134".into()));
        assert_eq!(phone("1-415-555-0134", "1"), Some("+14155550134".into()));
        assert_eq!(
            phone("+1 415.555.0134 ext. 22", "1"),
            Some("+14155550134".into())
        );
        assert_eq!(
            phone("0044 20 7946 0958", "1"),
            Some("+442079460958".into())
        );
        assert_eq!(phone("030 1234567", "49"), Some("+49301234567".into()));
        assert_eq!(phone("12", "1"), None);
    }

    #[test]
    fn names_lose_case_accents_punctuation_and_legal_forms() {
        assert_eq!(text("  Zoë-Anne  O'Brien "), "zoe anne o brien");
        assert_eq!(org_name("Acme, Inc."), "acme");
        assert_eq!(org_name("ACME Incorporated"), "acme");
        assert_eq!(org_name("The Company"), "the company");
        assert_eq!(org_name("Müller GmbH & Co. KG"), "muller kg");
    }

    #[test]
    fn countries_compare_by_code() {
        assert_eq!(country("USA"), country("United States"));
        assert_eq!(country("U.K."), "gb");
        assert_eq!(country("Atlantis"), "atlantis");
    }

    #[test]
    fn soundex_keeps_the_sound() {
        assert_eq!(soundex("Robert").as_deref(), Some("R163"));
        assert_eq!(soundex("Rupert").as_deref(), Some("R163"));
        assert_eq!(soundex("Tymczak").as_deref(), Some("T522"));
        assert_eq!(soundex("Ashcraft").as_deref(), Some("A261"));
        assert_eq!(soundex("123"), None);
    }
}
