//! What each canonical field means to entity resolution, read from its name and type (so a
//! tenant's own model resolves too): which fields are keys, which are compared, which refer to
//! another entity. And the keys a record gives: deterministic, blocking, and reference keys.
use serde_json::{Map, Value};

use super::normalize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Email,
    Domain,
    Phone,
    /// A registry number (DUNS, VAT, LEI, tax id, external id): equal means the same thing.
    Identifier,
    GivenName,
    FamilyName,
    OrgName,
    Street,
    City,
    State,
    PostalCode,
    Country,
    Date,
    Amount,
    /// The source's own id of the record (`account_id` on account).
    OwnId,
    /// The source's id of a record of another entity (`account_id` on contact).
    Reference(String),
}

impl Role {
    /// Equal values link without a score: the value names one real-world thing.
    fn is_deterministic(&self, person: bool) -> bool {
        match self {
            Self::Email | Self::Identifier => true,
            // A company's website; a person's would be their employer's.
            Self::Domain => !person,
            _ => false,
        }
    }
}

/// One entity's fields with a role.
#[derive(Debug, Clone)]
pub struct Profile {
    pub entity: String,
    pub fields: Vec<(String, Role)>,
    /// Records of people (given or family names), not organizations.
    pub person: bool,
    /// Calling code for phone numbers written without one.
    pub country: String,
    /// What resolution learned of the tenant's records of the entity, once it has.
    pub model: Option<std::sync::Arc<super::learn::Model>>,
}

/// A canonical field as resolution needs it: name and type.
pub struct FieldInfo<'a> {
    pub name: &'a str,
    pub data_type: &'a str,
}

impl Profile {
    pub fn infer(entity: &str, fields: &[FieldInfo<'_>], entities: &[&str]) -> Self {
        let fields: Vec<(String, Role)> = fields
            .iter()
            .filter_map(|f| role_of(entity, f, entities).map(|r| (f.name.to_owned(), r)))
            .collect();
        let person = fields
            .iter()
            .any(|(_, r)| matches!(r, Role::GivenName | Role::FamilyName));
        Self {
            entity: entity.to_owned(),
            fields,
            person,
            country: "1".to_owned(),
            model: None,
        }
    }

    /// Whether records of the entity can be compared at all.
    pub fn resolves(&self) -> bool {
        self.fields.iter().any(|(_, r)| {
            !matches!(
                r,
                Role::OwnId | Role::Reference(_) | Role::Date | Role::Amount
            )
        })
    }

    /// Every key of a record: `(kind, value)`.
    pub fn keys(&self, source_record_id: &str, data: &Map<String, Value>) -> Vec<(String, String)> {
        // References name a record by its source id; which source is settled when they are
        // followed (the referring record's own source first).
        let mut keys: Vec<(String, String)> = vec![("self".into(), source_record_id.to_owned())];
        let text = |field: &str| data.get(field).and_then(value_text);
        let mut given = None;
        let mut family = None;
        let mut org: Option<String> = None;
        let mut place = None;
        for (field, role) in &self.fields {
            let Some(v) = text(field) else { continue };
            match role {
                Role::Email => {
                    if let Some(e) = normalize::email(&v) {
                        if self.role_deterministic(role) {
                            keys.push(("k:email".into(), e));
                        }
                    }
                }
                Role::Domain => {
                    if let Some(d) = normalize::domain(&v).filter(|d| !normalize::is_free_mail(d)) {
                        // A key blocks too: a second, blocking key would find the same records.
                        let kind = if self.role_deterministic(role) {
                            "k:domain"
                        } else {
                            "b:domain"
                        };
                        keys.push((kind.into(), d));
                    }
                }
                Role::Identifier => {
                    let id = normalize::text(&v).replace(' ', "");
                    if !id.is_empty() {
                        keys.push((format!("k:id:{field}"), id));
                    }
                }
                Role::Phone => {
                    if let Some(p) = normalize::phone(&v, &self.country) {
                        keys.push(("b:phone".into(), p));
                    }
                }
                Role::OrgName => org = Some(normalize::org_name(&v)),
                Role::GivenName => given = Some(normalize::text(&v)),
                Role::FamilyName => family = Some(v),
                Role::PostalCode | Role::City if place.is_none() => {
                    place = Some(normalize::text(&v).chars().take(3).collect::<String>())
                }
                Role::OwnId => keys.push(("self".into(), v)),
                Role::Reference(target) => keys.push((format!("ref:{target}"), v)),
                _ => {}
            }
        }
        // People: the family name's sound with the given name's first two letters, and with
        // the place (a typo in either still shares one block). With the initial alone, blocks
        // filled as a tenant grew (4 records on average at 100,000 records, 65% of all pairs
        // compared), and a block over the cap blocks nothing.
        if let Some(sx) = family.as_deref().and_then(normalize::soundex) {
            let start: Option<String> = given.as_deref().map(|g| g.chars().take(2).collect());
            if let Some(start) = start.filter(|s| !s.is_empty()) {
                keys.push(("b:person".into(), format!("{sx}{start}")));
            }
            if let Some(p) = &place {
                keys.push(("b:personplace".into(), format!("{sx}{p}")));
            }
        }
        // Organizations: the whole name without its legal form, and its first word's sound
        // with the place (a typo in the name).
        if let Some(name) = org.filter(|n| n.chars().filter(|c| *c != ' ').count() >= 2) {
            let first = name.split(' ').next().unwrap_or_default().to_owned();
            keys.push(("b:name".into(), name.replace(' ', "")));
            if let (Some(sx), Some(p)) = (normalize::soundex(&first), &place) {
                keys.push(("b:namesx".into(), format!("{sx}{p}")));
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    fn role_deterministic(&self, role: &Role) -> bool {
        role.is_deterministic(self.person)
    }

    /// Reference fields: canonical field → the entity it points at.
    pub fn references(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().filter_map(|(f, r)| match r {
            Role::Reference(target) => Some((f.as_str(), target.as_str())),
            _ => None,
        })
    }
}

/// A value as text to compare (numbers and booleans as written; nothing for empty values).
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn role_of(entity: &str, f: &FieldInfo<'_>, entities: &[&str]) -> Option<Role> {
    let n = f.name.to_lowercase();
    let has = |parts: &[&str]| parts.iter().any(|p| n.contains(p));
    let ends = |parts: &[&str]| {
        parts
            .iter()
            .any(|p| n == *p || n.ends_with(&format!("_{p}")))
    };
    if let Some(stem) = n.strip_suffix("_id") {
        if stem == entity {
            return Some(Role::OwnId);
        }
        // `account_id`, `converted_account_id`: the longest entity name the stem ends with.
        return entities
            .iter()
            .filter(|e| **e != entity && (stem == **e || stem.ends_with(&format!("_{e}"))))
            .max_by_key(|e| e.len())
            .map(|e| Role::Reference((*e).to_owned()))
            .or_else(|| {
                has(&["external", "duns", "lei", "vat", "tax"]).then_some(Role::Identifier)
            });
    }
    Some(if has(&["email"]) {
        Role::Email
    } else if has(&["website", "domain", "url"]) {
        Role::Domain
    } else if has(&["phone", "mobile"]) {
        Role::Phone
    } else if has(&["duns", "vat_number", "tax_number", "registration_number"]) || n == "lei" {
        Role::Identifier
    } else if ends(&["first_name", "given_name", "firstname"]) {
        Role::GivenName
    } else if ends(&["last_name", "family_name", "surname", "lastname"]) {
        Role::FamilyName
    } else if n == "name" || ends(&["company", "company_name", "account_name", "organization"]) {
        Role::OrgName
    } else if ends(&["street", "address", "address_line1"]) {
        Role::Street
    } else if ends(&["city", "town"]) {
        Role::City
    } else if ends(&["state", "region", "province"]) {
        Role::State
    } else if has(&["postal", "zip"]) {
        Role::PostalCode
    } else if ends(&["country"]) {
        Role::Country
    } else if f.data_type == "date" {
        Role::Date
    } else if n == "amount" {
        Role::Amount
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENTITIES: &[&str] = &["account", "contact", "opportunity", "lead"];

    fn profile(entity: &str, fields: &[(&str, &str)]) -> Profile {
        let infos: Vec<FieldInfo<'_>> = fields
            .iter()
            .map(|(name, data_type)| FieldInfo { name, data_type })
            .collect();
        Profile::infer(entity, &infos, ENTITIES)
    }

    #[test]
    fn roles_come_from_names_of_any_model() {
        let p = profile(
            "contact",
            &[
                ("contact_id", "string"),
                ("account_id", "string"),
                ("first_name", "string"),
                ("last_name", "string"),
                ("work_email", "string"),
                ("mobile_phone", "string"),
                ("mailing_city", "string"),
                ("title", "string"),
            ],
        );
        let roles: Vec<_> = p
            .fields
            .iter()
            .map(|(f, r)| (f.as_str(), r.clone()))
            .collect();
        assert_eq!(
            roles,
            vec![
                ("contact_id", Role::OwnId),
                ("account_id", Role::Reference("account".into())),
                ("first_name", Role::GivenName),
                ("last_name", Role::FamilyName),
                ("work_email", Role::Email),
                ("mobile_phone", Role::Phone),
                ("mailing_city", Role::City),
            ]
        );
        assert!(p.person && p.resolves());
        let lead = profile(
            "lead",
            &[("converted_account_id", "string"), ("company", "string")],
        );
        assert_eq!(lead.fields[0].1, Role::Reference("account".into()));
        assert_eq!(lead.fields[1].1, Role::OrgName);
    }

    #[test]
    fn keys_are_normalized_and_deterministic_only_where_they_name_one_thing() {
        let account = profile(
            "account",
            &[
                ("name", "string"),
                ("website", "string"),
                ("phone", "string"),
            ],
        );
        let data = json!({"name": "Acme, Inc.", "website": "https://www.acme.com/", "phone": "(415) 555-0134"});
        let keys = account.keys("7", data.as_object().unwrap());
        let has = |k: &str, v: &str| keys.iter().any(|(a, b)| a == k && b == v);
        assert!(has("k:domain", "acme.com"), "{keys:?}");
        assert!(!has("b:domain", "acme.com"), "a key blocks by itself");
        assert!(has("b:phone", "+14155550134"));
        assert!(has("b:name", "acme"));
        assert!(has("self", "7"));

        let contact = profile(
            "contact",
            &[
                ("first_name", "string"),
                ("last_name", "string"),
                ("website", "string"),
                ("email", "string"),
            ],
        );
        let data = json!({"first_name": "Ada", "last_name": "Lovelace", "website": "acme.com", "email": "ADA@acme.com"});
        let keys = contact.keys("1", data.as_object().unwrap());
        assert!(
            !keys.iter().any(|(k, _)| k == "k:domain"),
            "a person's website is no key"
        );
        assert!(keys.iter().any(|(k, v)| k == "b:domain" && v == "acme.com"));
        assert!(keys
            .iter()
            .any(|(k, v)| k == "k:email" && v == "ada@acme.com"));
        assert!(
            keys.iter().any(|(k, v)| k == "b:person" && v == "L142ad"),
            "{keys:?}"
        );

        let free = json!({"name": "Bob's Shop", "website": "bobshop@gmail.com"});
        let keys = account.keys("2", free.as_object().unwrap());
        assert!(
            !keys.iter().any(|(k, _)| k.ends_with("domain")),
            "a mailbox provider is no company"
        );
    }
}
