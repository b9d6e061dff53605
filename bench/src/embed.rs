//! The raw-embedding reference: the server's model files through fastembed directly, with no
//! server, cache or database in the way.
use std::path::Path;

use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};

pub struct RawEmbedder {
    model: TextEmbedding,
}

impl RawEmbedder {
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.join(name).display()))
        };
        let runtime = std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so"))
            })
            .ok_or_else(|| anyhow::anyhow!("no libonnxruntime.so* in {}", dir.display()))?;
        let _environment = ort::init_from(&runtime)?;
        let tokenizer = TokenizerFiles {
            tokenizer_file: read("tokenizer.json")?,
            config_file: read("config.json")?,
            special_tokens_map_file: read("special_tokens_map.json")?,
            tokenizer_config_file: read("tokenizer_config.json")?,
        };
        let model = UserDefinedEmbeddingModel::new(read("model.onnx")?, tokenizer)
            .with_pooling(Pooling::Mean);
        let model =
            TextEmbedding::try_new_from_user_defined(model, InitOptionsUserDefined::default())?;
        Ok(Self { model })
    }

    /// Embeds `texts` in batches of 32 (the server's batch size), on the blocking pool.
    pub async fn embed(self, texts: Vec<String>) -> anyhow::Result<(Self, usize)> {
        tokio::task::spawn_blocking(move || {
            let mut me = self;
            let n = me.model.embed(&texts, Some(32))?.len();
            Ok((me, n))
        })
        .await?
    }
}
