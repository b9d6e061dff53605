//! The built-in canonical model, shipped in the binary (a copy of `shared/canonical/crm-v1.json`).
use serde::Deserialize;

const CRM_V1: &str = include_str!("crm-v1.json");

#[derive(Debug, Deserialize)]
pub struct ModelSpec {
    pub name: String,
    pub version: i32,
    pub entities: Vec<EntitySpec>,
}

#[derive(Debug, Deserialize)]
pub struct EntitySpec {
    pub name: String,
    pub description: Option<String>,
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Deserialize)]
pub struct FieldSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub description: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub required: bool,
}

pub fn crm_v1() -> Result<ModelSpec, serde_json::Error> {
    serde_json::from_str(CRM_V1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_model_has_the_four_crm_entities() {
        let model = crm_v1().unwrap();
        let names: Vec<_> = model.entities.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["account", "contact", "opportunity", "lead"]);
        assert!(model.entities.iter().all(|e| !e.fields.is_empty()));
    }
}
