//! Cleaning what a caller sends: names and texts trimmed and bounded, samples kept short, and
//! each field's query text (its name as a phrase), computed once per distinct text.
use std::collections::HashMap;

use super::FieldInput;
use crate::domains::mappings::names;
use crate::error::{AppError, AppResult};

const MAX_SAMPLES: usize = 20;
const MAX_SAMPLE_CHARS: usize = 200;

pub(super) fn clean_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let v: String = value
        .chars()
        .filter(|c| *c != '\0')
        .collect::<String>()
        .trim()
        .to_owned();
    if v.is_empty() {
        return Err(AppError::bad_field(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(AppError::bad_field(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v)
}

pub(super) fn clean_fields(fields: Vec<FieldInput>, max: usize) -> AppResult<Vec<FieldInput>> {
    if fields.is_empty() {
        return Err(AppError::bad_field(
            "fields",
            "must list at least one field",
        ));
    }
    if fields.len() > max {
        return Err(AppError::bad_field(
            "fields",
            format!("at most {max} fields per call"),
        ));
    }
    fields
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            Ok(FieldInput {
                name: clean_text(&format!("fields[{i}].name"), &f.name, 200)?,
                data_type: f
                    .data_type
                    .map(|t| t.chars().take(50).collect::<String>().trim().to_lowercase())
                    .filter(|t| !t.is_empty()),
                description: f
                    .description
                    .map(|d| d.replace('\0', "").chars().take(1000).collect()),
                // Samples are evidence, not data: keep a few, short, and without NUL bytes.
                samples: f
                    .samples
                    .into_iter()
                    .take(MAX_SAMPLES)
                    .map(|s| s.replace('\0', "").chars().take(MAX_SAMPLE_CHARS).collect())
                    .collect(),
            })
        })
        .collect()
}

/// Each field's query text, once: `distinct[text_of[i]]` is field i's. Names repeat a lot across
/// connectors, so each distinct text is embedded and searched once.
pub(super) struct QueryTexts {
    pub distinct: Vec<String>,
    pub text_of: Vec<usize>,
}

impl QueryTexts {
    pub fn of(fields: &[FieldInput]) -> Self {
        let mut distinct: Vec<String> = Vec::new();
        let mut index_of: HashMap<String, usize> = HashMap::new();
        let mut text_of: Vec<usize> = Vec::with_capacity(fields.len());
        for f in fields {
            let phrase = names::phrase(&f.name);
            let q = if phrase.is_empty() {
                f.name.to_lowercase()
            } else {
                phrase
            };
            let i = *index_of.entry(q.clone()).or_insert_with(|| {
                distinct.push(q);
                distinct.len() - 1
            });
            text_of.push(i);
        }
        Self { distinct, text_of }
    }

    /// Field i's text.
    pub fn of_field(&self, i: usize) -> &str {
        &self.distinct[self.text_of[i]]
    }
}
