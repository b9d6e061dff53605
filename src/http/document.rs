//! What the gateway checks of a GraphQL request before any work is done on it: the cost of its
//! documents, computed from the text and the parsed document without expanding a fragment
//! (so a fragment that spreads the next one twice, 20 levels deep, costs a linear walk, not
//! 2^20 fields), and text no database can store (NUL bytes) in any string argument or variable.
use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::parser::Positioned;
use async_graphql::Name;

/// The limits, from `graphql.*` settings.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    /// Lexical tokens in one document (checked before parsing).
    pub max_tokens: usize,
    /// Brackets open at once (checked before parsing: the parser recurses on them).
    pub max_nesting: usize,
    /// Fields the operations would select with every fragment spread expanded.
    pub max_fields: u64,
    /// Fragment spreads written in one document.
    pub max_spreads: usize,
    /// Directives on one field, fragment spread or inline fragment.
    pub max_directives: usize,
}

/// Brackets the parser may meet nested (it recurses on each).
const MAX_NESTING: usize = 64;

impl DocumentLimits {
    pub fn from_settings(s: &crate::config::GraphqlSettings) -> Self {
        Self {
            max_tokens: s.max_tokens,
            max_nesting: MAX_NESTING,
            max_fields: s.max_fields,
            max_spreads: s.max_fragment_spreads,
            max_directives: s.max_directives,
        }
    }
}

/// Counts tokens and bracket nesting in one pass over the text; `Err` names the first limit
/// passed. Strings, block strings and comments are one token (or none) whatever they hold.
pub fn scan(query: &str, limits: &DocumentLimits) -> Result<(), String> {
    let bytes = query.as_bytes();
    let (mut i, mut tokens, mut depth) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                if depth > limits.max_nesting {
                    return Err(format!(
                        "the document nests brackets more than {} deep",
                        limits.max_nesting
                    ));
                }
                i += 1;
            }
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            b if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'.') => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'_' | b'-' | b'+' | b'.'))
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        tokens += 1;
        if tokens > limits.max_tokens {
            return Err(format!(
                "the document has more than {} tokens",
                limits.max_tokens
            ));
        }
    }
    Ok(())
}

/// What one parsed document would cost.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// Fields selected with every fragment spread expanded (saturating).
    pub fields: u64,
    pub spreads: usize,
    pub aliases: usize,
    /// The most directives on one selection.
    pub directives: usize,
}

impl Cost {
    pub fn check(&self, limits: &DocumentLimits) -> Result<(), String> {
        if self.spreads > limits.max_spreads {
            return Err(format!(
                "the document has {} fragment spreads; at most {} are allowed",
                self.spreads, limits.max_spreads
            ));
        }
        if self.directives > limits.max_directives {
            return Err(format!(
                "a selection has {} directives; at most {} are allowed",
                self.directives, limits.max_directives
            ));
        }
        if self.fields > limits.max_fields {
            return Err(format!(
                "the document selects {} fields once its fragments are expanded; at most {} are allowed",
                self.fields, limits.max_fields
            ));
        }
        Ok(())
    }
}

/// The cost of a document: each fragment's expanded size is computed once and reused.
pub fn cost(doc: &ExecutableDocument) -> Cost {
    let mut walk = Walk {
        fragments: &doc.fragments,
        sizes: HashMap::new(),
        visiting: HashSet::new(),
        cost: Cost::default(),
    };
    // Written parts are counted once each, expansions by size.
    for (_, op) in doc.operations.iter() {
        walk.count_written(&op.node.selection_set.node);
    }
    for fragment in doc.fragments.values() {
        walk.count_written(&fragment.node.selection_set.node);
    }
    let mut fields: u64 = 0;
    for (_, op) in doc.operations.iter() {
        fields = fields.saturating_add(walk.size(&op.node.selection_set.node));
    }
    walk.cost.fields = fields;
    walk.cost
}

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    sizes: HashMap<&'a str, u64>,
    visiting: HashSet<&'a str>,
    cost: Cost,
}

impl<'a> Walk<'a> {
    fn count_written(&mut self, set: &SelectionSet) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    self.cost.aliases += usize::from(f.node.alias.is_some());
                    self.cost.directives = self.cost.directives.max(f.node.directives.len());
                    self.count_written(&f.node.selection_set.node);
                }
                Selection::InlineFragment(i) => {
                    self.cost.directives = self.cost.directives.max(i.node.directives.len());
                    self.count_written(&i.node.selection_set.node);
                }
                Selection::FragmentSpread(s) => {
                    self.cost.spreads += 1;
                    self.cost.directives = self.cost.directives.max(s.node.directives.len());
                }
            }
        }
    }

    /// Fields under `set` with spreads expanded. A cycle counts as nothing here; validation
    /// refuses it before anything runs.
    fn size(&mut self, set: &'a SelectionSet) -> u64 {
        let mut total: u64 = 0;
        for item in &set.items {
            let add = match &item.node {
                Selection::Field(f) => 1u64.saturating_add(self.size(&f.node.selection_set.node)),
                Selection::InlineFragment(i) => self.size(&i.node.selection_set.node),
                Selection::FragmentSpread(s) => {
                    self.fragment_size(s.node.fragment_name.node.as_str())
                }
            };
            total = total.saturating_add(add);
        }
        total
    }

    fn fragment_size(&mut self, name: &str) -> u64 {
        let Some((key, fragment)) = self.fragments.get_key_value(name) else {
            return 0;
        };
        let key = key.as_str();
        if let Some(size) = self.sizes.get(key) {
            return *size;
        }
        if !self.visiting.insert(key) {
            return 0;
        }
        let size = self.size(&fragment.node.selection_set.node);
        self.visiting.remove(key);
        self.sizes.insert(key, size);
        size
    }
}

/// The first string argument or variable holding a NUL byte, named as the client wrote it
/// (`$input.name`, `createConnector(name:)`); PostgreSQL cannot store such text.
pub fn nul_input(
    doc: Option<&ExecutableDocument>,
    variables: &async_graphql::Variables,
) -> Option<String> {
    if let Some(path) = variables
        .iter()
        .find_map(|(k, v)| nul_in_variable(v, &format!("${k}")))
    {
        return Some(path);
    }
    let doc = doc?;
    let mut found = None;
    for (_, op) in doc.operations.iter() {
        nul_in_set(&op.node.selection_set.node, &mut found);
    }
    for fragment in doc.fragments.values() {
        nul_in_set(&fragment.node.selection_set.node, &mut found);
    }
    found
}

fn nul_in_set(set: &SelectionSet, found: &mut Option<String>) {
    for item in &set.items {
        if found.is_some() {
            return;
        }
        match &item.node {
            Selection::Field(f) => {
                for (arg, value) in &f.node.arguments {
                    let at = format!("{}({}:)", f.node.name.node, arg.node);
                    // Literals as written; variables inside them are checked with the variables.
                    let literal = serde_json::to_value(&value.node).unwrap_or_default();
                    if let Some(path) = nul_in(&literal, &at) {
                        *found = Some(path);
                        return;
                    }
                }
                nul_in_set(&f.node.selection_set.node, found);
            }
            Selection::InlineFragment(i) => nul_in_set(&i.node.selection_set.node, found),
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// A variable's value as it arrived (walked in place: variables can be large).
fn nul_in_variable(value: &async_graphql::Value, at: &str) -> Option<String> {
    use async_graphql::Value;
    match value {
        Value::String(s) if s.contains('\0') => Some(at.to_owned()),
        Value::Enum(e) if e.contains('\0') => Some(at.to_owned()),
        Value::List(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_in_variable(v, &format!("{at}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(format!("{at}.<key>"))
            } else {
                nul_in_variable(v, &format!("{at}.{k}"))
            }
        }),
        _ => None,
    }
}

/// A literal as written, through its JSON form (literals are small).
fn nul_in(value: &serde_json::Value, at: &str) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Some(at.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_in(v, &format!("{at}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(format!("{at}.<key>"))
            } else {
                nul_in(v, &format!("{at}.{k}"))
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits = DocumentLimits {
        max_tokens: 2_000,
        max_nesting: 40,
        max_fields: 2_000,
        max_spreads: 100,
        max_directives: 4,
    };

    fn bomb(levels: usize) -> String {
        let mut doc = String::from("query { ...F0 }\n");
        for i in 0..levels {
            doc.push_str(&format!(
                "fragment F{i} on QueryRoot {{ ...F{} ...F{} __typename }}\n",
                i + 1,
                i + 1
            ));
        }
        doc.push_str(&format!(
            "fragment F{levels} on QueryRoot {{ __typename }}\n"
        ));
        doc
    }

    #[test]
    fn a_fragment_bomb_is_priced_without_expanding_it() {
        let doc = bomb(40);
        assert!(doc.len() < 3_000);
        let started = std::time::Instant::now();
        assert!(scan(&doc, &LIMITS).is_ok());
        let cost = cost(&async_graphql::parser::parse_query(&doc).unwrap());
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
        assert_eq!(
            cost.spreads, 81,
            "one in the operation, two in each fragment"
        );
        assert!(cost.fields > 1 << 40, "{cost:?}");
        assert!(cost.check(&LIMITS).unwrap_err().contains("fields"));
    }

    #[test]
    fn ordinary_documents_pass_with_exact_counts() {
        let doc = "query Q($id: ID!) { a: connector(id: $id) { id name ...C } b: connector(id: $id) { ...C } }
                   fragment C on Connector { kind status @include(if: true) }";
        let cost = cost(&async_graphql::parser::parse_query(doc).unwrap());
        assert_eq!(
            cost,
            Cost {
                fields: (1 + 2 + 2) + (1 + 2),
                spreads: 2,
                aliases: 2,
                directives: 1
            }
        );
        assert!(cost.check(&LIMITS).is_ok());
        assert!(scan(doc, &LIMITS).is_ok());
    }

    #[test]
    fn tokens_nesting_and_directives_are_bounded() {
        let many = format!("{{ {} }}", "a ".repeat(3_000));
        assert!(scan(&many, &LIMITS).unwrap_err().contains("tokens"));
        let deep = format!("{}{}", "{a".repeat(50), "}".repeat(50));
        assert!(scan(&deep, &LIMITS).unwrap_err().contains("nests"));
        // A long string or comment is one token.
        let long = format!(
            "{{ a(x: \"{}\") }} # {}",
            "y ".repeat(5_000),
            "z ".repeat(5_000)
        );
        assert!(scan(&long, &LIMITS).is_ok());
        let d = "{ a @x @x @x @x @x }";
        let cost = cost(&async_graphql::parser::parse_query(d).unwrap());
        assert!(cost.check(&LIMITS).unwrap_err().contains("directives"));
    }

    #[test]
    fn nul_bytes_are_found_in_variables_and_literals() {
        let vars =
            async_graphql::Variables::from_json(serde_json::json!({ "i": { "name": "a\u{0}b" } }));
        assert_eq!(nul_input(None, &vars).as_deref(), Some("$i.name"));
        let doc = async_graphql::parser::parse_query(
            "{ connectors(filter: { search: \"x\\u0000\" }) { id } }",
        )
        .unwrap();
        let none = async_graphql::Variables::default();
        assert_eq!(
            nul_input(Some(&doc), &none).as_deref(),
            Some("connectors(filter:).search")
        );
        let clean =
            async_graphql::parser::parse_query("{ connectors(filter: { search: \"x\" }) { id } }")
                .unwrap();
        assert_eq!(nul_input(Some(&clean), &none), None);
    }
}
