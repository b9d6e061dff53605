//! Sentence embeddings from a local ONNX model (fastembed + ONNX Runtime loaded dynamically).
//! Inference is CPU-heavy: it runs on the blocking pool, in batches, behind a cache of
//! normalized texts so repeated field names cost nothing.
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};
use lru::LruCache;

use crate::config::EmbeddingSettings;

pub const DIMENSIONS: usize = 384;

pub type Vector = Arc<[f32]>;

pub struct Embedder {
    model: Arc<Mutex<TextEmbedding>>,
    cache: Mutex<LruCache<String, Vector>>,
    model_id: String,
    batch_size: usize,
}

/// Lower-cased, whitespace-collapsed: the cache key and what the model sees.
pub fn normalize(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Embedder {
    pub fn load(settings: &EmbeddingSettings) -> anyhow::Result<Self> {
        let dir = settings.resolved_model_dir();
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .with_context(|| format!("reading {}", dir.join(name).display()))
        };
        let runtime = find_runtime(&dir)?;
        // The ONNX Runtime library ships with the model (from the onnxruntime wheel).
        let _environment =
            ort::init_from(&runtime).with_context(|| format!("loading {}", runtime.display()))?;
        let tokenizer = TokenizerFiles {
            tokenizer_file: read("tokenizer.json")?,
            config_file: read("config.json")?,
            special_tokens_map_file: read("special_tokens_map.json")?,
            tokenizer_config_file: read("tokenizer_config.json")?,
        };
        let model = UserDefinedEmbeddingModel::new(read("model.onnx")?, tokenizer)
            .with_pooling(Pooling::Mean);
        let model =
            TextEmbedding::try_new_from_user_defined(model, InitOptionsUserDefined::default())
                .context("initializing the embedding model")?;
        let capacity =
            NonZeroUsize::new(settings.cache_entries.max(1)).unwrap_or(NonZeroUsize::MIN);
        Ok(Self {
            model: Arc::new(Mutex::new(model)),
            cache: Mutex::new(LruCache::new(capacity)),
            model_id: settings.model_id.clone(),
            batch_size: settings.batch_size.max(1),
        })
    }

    /// Length of the vectors this model produces (asked of the model, not assumed).
    pub async fn dimension(&self) -> anyhow::Result<u64> {
        let probe = self.embed(&["dimension probe".to_owned()]).await?;
        probe
            .first()
            .map(|v| v.len() as u64)
            .ok_or_else(|| anyhow::anyhow!("the model returned no vector"))
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Embeds texts (normalized first); one vector per input, in order, L2-normalized.
    pub async fn embed(&self, texts: &[String]) -> anyhow::Result<Vec<Vector>> {
        let keys: Vec<String> = texts.iter().map(|t| normalize(t)).collect();
        let mut out: Vec<Option<Vector>> = Vec::with_capacity(keys.len());
        let mut missing: Vec<String> = Vec::new();
        {
            let mut cache = self
                .cache
                .lock()
                .map_err(|_| anyhow::anyhow!("embedding cache poisoned"))?;
            for key in &keys {
                let hit = cache.get(key).cloned();
                if hit.is_none() && !missing.contains(key) {
                    missing.push(key.clone());
                }
                out.push(hit);
            }
        }
        if !missing.is_empty() {
            // Similar lengths per batch waste less padding.
            missing.sort_by_key(|k| k.len());
            let computed = self.compute(missing.clone()).await?;
            let mut cache = self
                .cache
                .lock()
                .map_err(|_| anyhow::anyhow!("embedding cache poisoned"))?;
            for (key, vector) in missing.into_iter().zip(computed) {
                cache.put(key, vector);
            }
            for (slot, key) in out.iter_mut().zip(&keys) {
                if slot.is_none() {
                    *slot = cache.get(key).cloned();
                }
            }
        }
        out.into_iter()
            .map(|v| v.ok_or_else(|| anyhow::anyhow!("embedding evicted before use")))
            .collect()
    }

    /// Runs the model without the cache (for raw-throughput benchmarks).
    pub async fn compute(&self, texts: Vec<String>) -> anyhow::Result<Vec<Vector>> {
        let model = self.model.clone();
        let batch = self.batch_size;
        tokio::task::spawn_blocking(move || {
            let mut model = model
                .lock()
                .map_err(|_| anyhow::anyhow!("embedding model poisoned"))?;
            let vectors = model.embed(&texts, Some(batch))?;
            Ok(vectors.into_iter().map(|v| unit(v).into()).collect())
        })
        .await?
    }
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn find_runtime(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "model directory {} (run scripts/install-model.sh)",
            dir.display()
        )
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("libonnxruntime.so") {
            return Ok(entry.path());
        }
    }
    anyhow::bail!(
        "no libonnxruntime.so* in {} (run scripts/install-model.sh)",
        dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_normalized_for_the_cache() {
        assert_eq!(normalize("  Annual   Revenue\t"), "annual revenue");
    }

    #[test]
    fn vectors_are_scaled_to_unit_length() {
        let v = unit(vec![3.0, 4.0]);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
    }
}
