//! The optional LLM step: for fields that names, aliases and vectors cannot place, ask a
//! chat-completion model to pick a canonical field. Closed set of providers; none by default.
use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use super::knowledge::Knowledge;
use crate::config::LlmSettings;

pub enum LlmProvider {
    None,
    OpenAiCompatible(OpenAiCompatible),
}

pub struct OpenAiCompatible {
    http: reqwest::Client,
    url: String,
    model: String,
    api_key: secrecy::SecretString,
    pub max_fields: usize,
    pub max_confidence: f64,
}

/// What the model answered, before it is checked against the canonical model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Suggestion {
    pub entity: String,
    pub field: String,
    pub confidence: f64,
}

pub struct FieldQuestion<'a> {
    pub source_system: &'a str,
    pub source_entity: &'a str,
    pub name: &'a str,
    pub data_type: Option<&'a str>,
    pub description: Option<&'a str>,
    pub samples: &'a [String],
}

impl LlmProvider {
    pub fn from_settings(settings: &LlmSettings) -> anyhow::Result<Self> {
        if settings.provider != "openai_compatible" {
            return Ok(Self::None);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .build()?;
        Ok(Self::OpenAiCompatible(OpenAiCompatible {
            http,
            url: format!(
                "{}/chat/completions",
                settings.base_url.trim_end_matches('/')
            ),
            model: settings.model.clone(),
            api_key: settings.api_key.clone(),
            max_fields: settings.max_fields_per_call,
            max_confidence: settings.max_confidence,
        }))
    }

    pub fn is_configured(&self) -> bool {
        !matches!(self, Self::None)
    }

    /// A validated suggestion, or None (also when the provider fails: the field then simply
    /// goes to review, as it would without an LLM).
    pub async fn suggest(
        &self,
        knowledge: &Knowledge,
        q: &FieldQuestion<'_>,
    ) -> Option<Suggestion> {
        let Self::OpenAiCompatible(p) = self else {
            return None;
        };
        match p.ask(knowledge, q).await {
            Ok(Some(s))
                if knowledge.field(&s.entity, &s.field).is_some() && s.confidence.is_finite() =>
            {
                Some(Suggestion {
                    confidence: s.confidence.clamp(0.0, p.max_confidence),
                    ..s
                })
            }
            Ok(Some(s)) => {
                tracing::warn!(entity = %s.entity, field = %s.field, "LLM suggested a field outside the canonical model");
                None
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "LLM provider failed; the field goes to review");
                None
            }
        }
    }
}

impl OpenAiCompatible {
    async fn ask(
        &self,
        knowledge: &Knowledge,
        q: &FieldQuestion<'_>,
    ) -> anyhow::Result<Option<Suggestion>> {
        let catalogue: Vec<String> = knowledge
            .fields
            .iter()
            .map(|f| {
                format!(
                    "{}.{}: {}",
                    f.entity,
                    f.field,
                    f.description.as_deref().unwrap_or("")
                )
            })
            .collect();
        let system = format!(
            "You map fields of CRM source systems onto a canonical model. Canonical fields:\n{}\n\
             Answer with JSON only: {{\"entity\": \"…\", \"field\": \"…\", \"confidence\": 0.0-1.0}}, \
             or {{\"entity\": null, \"field\": null, \"confidence\": 0}} when none fits.",
            catalogue.join("\n")
        );
        let user = json!({
            "sourceSystem": q.source_system, "sourceEntity": q.source_entity, "field": q.name,
            "dataType": q.data_type, "description": q.description, "samples": q.samples,
        })
        .to_string();
        let body = json!({
            "model": self.model,
            "temperature": 0,
            "response_format": { "type": "json_object" },
            "messages": [{ "role": "system", "content": system }, { "role": "user", "content": user }],
        });
        let mut req = self.http.post(&self.url).json(&body);
        if !self.api_key.expose_secret().is_empty() {
            req = req.bearer_auth(self.api_key.expose_secret());
        }
        let resp: serde_json::Value = req.send().await?.error_for_status()?.json().await?;
        let content = resp["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no message content in the completion"))?;
        #[derive(Deserialize)]
        struct Answer {
            entity: Option<String>,
            field: Option<String>,
            confidence: Option<f64>,
        }
        let answer: Answer = serde_json::from_str(content.trim())?;
        Ok(match (answer.entity, answer.field) {
            (Some(entity), Some(field)) => Some(Suggestion {
                entity,
                field,
                confidence: answer.confidence.unwrap_or(0.5),
            }),
            _ => None,
        })
    }
}
