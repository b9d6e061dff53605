//! Generated CRM sources with known truth: two systems (a CRM and a HubSpot-like one), each
//! with accounts and contacts; 30% of the real-world entities appear in both, with the
//! differences real exports have (legal forms, typos, case, phone formats, missing fields),
//! and namesakes that are not the same entity. Deterministic (a seeded generator).
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// xorshift64*: small, fast, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
}

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ren", "to", "va", "sel", "dor", "an", "bri", "cu", "fen", "gar", "hol",
    "ix", "jo", "mar", "nov", "pel", "qua", "ros", "tan", "ul", "zen",
];
const NOUNS: [&str; 20] = [
    "Systems",
    "Logistics",
    "Foods",
    "Labs",
    "Partners",
    "Energy",
    "Media",
    "Health",
    "Capital",
    "Motors",
    "Textiles",
    "Robotics",
    "Farms",
    "Pharma",
    "Studios",
    "Networks",
    "Metals",
    "Travel",
    "Design",
    "Analytics",
];
const LEGAL_A: [&str; 4] = ["Inc.", "LLC", "Ltd", "Corp"];
const LEGAL_B: [&str; 5] = ["Incorporated", "L.L.C.", "Limited", "Corporation", ""];
const FIRST: [&str; 40] = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Dennis",
    "Margaret",
    "Tim",
    "Radia",
    "Guido",
    "Bjarne",
    "Anita",
    "Leslie",
    "Shafi",
    "Silvio",
    "Yukihiro",
    "Hedy",
];
const CITIES: [(&str, &str); 30] = [
    ("San Francisco", "94105"),
    ("New York", "10001"),
    ("Austin", "73301"),
    ("Seattle", "98101"),
    ("Boston", "02108"),
    ("Chicago", "60601"),
    ("Denver", "80202"),
    ("Atlanta", "30303"),
    ("Miami", "33101"),
    ("Portland", "97201"),
    ("Phoenix", "85001"),
    ("Dallas", "75201"),
    ("Houston", "77001"),
    ("Detroit", "48201"),
    ("Columbus", "43004"),
    ("Nashville", "37201"),
    ("Raleigh", "27601"),
    ("Omaha", "68101"),
    ("Tucson", "85701"),
    ("Fresno", "93650"),
    ("Mesa", "85201"),
    ("Tulsa", "74101"),
    ("Wichita", "67201"),
    ("Tampa", "33601"),
    ("Aurora", "80010"),
    ("Anaheim", "92801"),
    ("Toledo", "43601"),
    ("Reno", "89501"),
    ("Boise", "83701"),
    ("Madison", "53701"),
];

/// A made-up word of 2 to 4 syllables (many distinct family and company names).
fn word(rng: &mut Rng) -> String {
    let n = 2 + rng.below(3);
    let w: String = (0..n)
        .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
        .collect();
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// One keyboard slip: a letter dropped, doubled or swapped with the next.
fn typo(rng: &mut Rng, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() < 4 {
        return s.to_owned();
    }
    let i = 1 + rng.below(c.len() - 2);
    match rng.below(3) {
        0 => {
            c.remove(i);
        }
        1 => c.insert(i, c[i]),
        _ => c.swap(i, i + 1),
    }
    c.into_iter().collect()
}

fn csv(s: &str) -> String {
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// (file, connector name, source entity, canonical entity, [(source field, canonical field)]).
pub type Source = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

pub struct Generated {
    pub dir: PathBuf,
    pub sources: Vec<Source>,
    /// (source system, source record id) → real-world entity, per canonical entity.
    pub truth: HashMap<(String, String), u64>,
    pub records: u64,
}

/// Writes the four files for about `records` source records in all.
pub fn generate(dir: &Path, records: u64) -> anyhow::Result<Generated> {
    std::fs::create_dir_all(dir)?;
    let entities = (records as f64 / 1.3) as u64;
    let accounts = entities / 4;
    let contacts = entities - accounts;
    let mut rng = Rng(0x5EED_2026);
    let mut truth = HashMap::new();
    let open = |name: &str, header: &str| -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
        let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join(name))?);
        writeln!(w, "{header}")?;
        Ok(w)
    };
    let mut crm_acc = open("crm-accounts.csv", "Id,Name,Website,Phone,City,Postal Code")?;
    let mut hub_acc = open("hub-companies.csv", "id,company,domain,phone,city,zip")?;
    let mut crm_con = open(
        "crm-contacts.csv",
        "Id,First Name,Last Name,Email,Phone,City,Account Id",
    )?;
    let mut hub_con = open(
        "hub-contacts.csv",
        "id,firstname,lastname,email,phone,city,company_id",
    )?;
    // Where each account is: (in crm, in hub), and its domain and city.
    let mut placed: Vec<(bool, bool, String, usize)> = Vec::with_capacity(accounts as usize);
    let mut written = 0u64;
    for a in 0..accounts {
        let (in_crm, in_hub) = placement(&mut rng);
        let base = format!("{} {}", word(&mut rng), NOUNS[rng.below(NOUNS.len())]);
        let domain = format!("{}{a}.com", base.to_lowercase().replace(' ', ""));
        let city = rng.below(CITIES.len());
        let (city_name, zip) = CITIES[city];
        // A hundred postal codes per city.
        let zip = format!("{}{:02}", &zip[..3], rng.below(100));
        let phone = 2_000_000_000 + a * 7 % 7_000_000_000;
        if in_crm {
            let name = format!("{base} {}", LEGAL_A[rng.below(4)]);
            writeln!(
                crm_acc,
                "A{a},{},https://www.{domain},({:03}) {:03}-{:04},{city_name},{zip}",
                csv(&name),
                phone / 10_000_000,
                phone / 10_000 % 1000,
                phone % 10_000
            )?;
            truth.insert(("crm-accounts".to_owned(), format!("A{a}")), a);
            written += 1;
        }
        if in_hub {
            let mut name = format!("{base} {}", LEGAL_B[rng.below(5)])
                .trim()
                .to_owned();
            if rng.chance(0.1) {
                name = typo(&mut rng, &name);
            }
            let dom = if rng.chance(0.7) {
                domain.clone()
            } else {
                String::new()
            };
            let ph = if rng.chance(0.8) {
                format!("+1 {phone}")
            } else {
                String::new()
            };
            let c = if rng.chance(0.5) {
                city_name.to_uppercase()
            } else {
                city_name.to_owned()
            };
            writeln!(hub_acc, "H{a},{},{dom},{ph},{c},{zip}", csv(&name))?;
            truth.insert(("hub-companies".to_owned(), format!("H{a}")), a);
            written += 1;
        }
        placed.push((in_crm, in_hub, domain, city));
    }
    for p in 0..contacts {
        let (in_crm, in_hub) = placement(&mut rng);
        let first = FIRST[rng.below(FIRST.len())];
        let last = word(&mut rng);
        let account = rng.below(placed.len().max(1));
        let (acc_crm, acc_hub, domain, acc_city) =
            placed
                .get(account)
                .cloned()
                .unwrap_or((false, false, "x.com".into(), 0));
        let city = if rng.chance(0.8) {
            acc_city
        } else {
            rng.below(CITIES.len())
        };
        let email = format!(
            "{}.{}{p}@{domain}",
            first.to_lowercase(),
            last.to_lowercase()
        );
        let phone = 3_000_000_000 + p * 13 % 6_000_000_000;
        let entity = accounts + p;
        if in_crm {
            let acc = if acc_crm {
                format!("A{account}")
            } else {
                String::new()
            };
            writeln!(
                crm_con,
                "C{p},{first},{last},{email},{},{},{acc}",
                phone, CITIES[city].0
            )?;
            truth.insert(("crm-contacts".to_owned(), format!("C{p}")), entity);
            written += 1;
        }
        if in_hub {
            let first = if rng.chance(0.05) {
                typo(&mut rng, first)
            } else {
                first.to_owned()
            };
            let last = if rng.chance(0.1) {
                typo(&mut rng, &last)
            } else {
                last.clone()
            };
            let mail = if rng.chance(0.7) {
                if rng.chance(0.3) {
                    email.to_uppercase()
                } else {
                    email.clone()
                }
            } else {
                String::new()
            };
            let ph = if rng.chance(0.6) {
                format!(
                    "({:03}) {:03}-{:04}",
                    phone / 10_000_000,
                    phone / 10_000 % 1000,
                    phone % 10_000
                )
            } else {
                String::new()
            };
            let acc = if acc_hub {
                format!("H{account}")
            } else {
                String::new()
            };
            writeln!(
                hub_con,
                "K{p},{first},{last},{mail},{ph},{},{acc}",
                CITIES[city].0.to_lowercase()
            )?;
            truth.insert(("hub-contacts".to_owned(), format!("K{p}")), entity);
            written += 1;
        }
    }
    for mut w in [crm_acc, hub_acc, crm_con, hub_con] {
        w.flush()?;
    }
    Ok(Generated {
        dir: dir.to_owned(),
        sources: vec![
            (
                "crm-accounts.csv",
                "crm-accounts",
                "accounts",
                "account",
                vec![
                    ("Id", "account_id"),
                    ("Name", "name"),
                    ("Website", "website"),
                    ("Phone", "phone"),
                    ("City", "billing_city"),
                    ("Postal Code", "billing_postal_code"),
                ],
            ),
            (
                "hub-companies.csv",
                "hub-companies",
                "companies",
                "account",
                vec![
                    ("id", "account_id"),
                    ("company", "name"),
                    ("domain", "website"),
                    ("phone", "phone"),
                    ("city", "billing_city"),
                    ("zip", "billing_postal_code"),
                ],
            ),
            (
                "crm-contacts.csv",
                "crm-contacts",
                "contacts",
                "contact",
                vec![
                    ("Id", "contact_id"),
                    ("First Name", "first_name"),
                    ("Last Name", "last_name"),
                    ("Email", "email"),
                    ("Phone", "phone"),
                    ("City", "mailing_city"),
                    ("Account Id", "account_id"),
                ],
            ),
            (
                "hub-contacts.csv",
                "hub-contacts",
                "hcontacts",
                "contact",
                vec![
                    ("id", "contact_id"),
                    ("firstname", "first_name"),
                    ("lastname", "last_name"),
                    ("email", "email"),
                    ("phone", "phone"),
                    ("city", "mailing_city"),
                    ("company_id", "account_id"),
                ],
            ),
        ],
        truth,
        records: written,
    })
}

/// 30% in both systems, the rest in one of them.
fn placement(rng: &mut Rng) -> (bool, bool) {
    if rng.chance(0.3) {
        (true, true)
    } else {
        let crm = rng.chance(0.5);
        (crm, !crm)
    }
}

/// Pairwise precision, recall and F1 of predicted clusters against the truth.
pub fn pairwise(
    clusters: &HashMap<String, Vec<u64>>,
    truth: &HashMap<(String, String), u64>,
) -> (f64, f64, f64, u64, u64) {
    let pairs = |n: u64| n * n.saturating_sub(1) / 2;
    let mut predicted = 0u64;
    let mut correct = 0u64;
    for members in clusters.values() {
        predicted += pairs(members.len() as u64);
        let mut by_entity: HashMap<u64, u64> = HashMap::new();
        for e in members {
            *by_entity.entry(*e).or_default() += 1;
        }
        correct += by_entity.values().map(|n| pairs(*n)).sum::<u64>();
    }
    let mut per_entity: HashMap<u64, u64> = HashMap::new();
    for e in truth.values() {
        *per_entity.entry(*e).or_default() += 1;
    }
    let actual: u64 = per_entity.values().map(|n| pairs(*n)).sum();
    let precision = if predicted == 0 {
        1.0
    } else {
        correct as f64 / predicted as f64
    };
    let recall = if actual == 0 {
        1.0
    } else {
        correct as f64 / actual as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    (precision, recall, f1, predicted, actual)
}
