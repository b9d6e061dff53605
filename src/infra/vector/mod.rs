//! The vector tier behind one interface. `Pgvector` keeps vectors beside the data, under the
//! same row-level security; `Qdrant` is the scale-out tier for deployments that outgrow one
//! Postgres. Selected by `vectors.backend`.
mod pgvector;
mod qdrant;

use uuid::Uuid;

use crate::config::{VectorBackend, VectorSettings};
use crate::infra::embed::Vector;
use crate::tenancy::ScopedTx;
use crate::text_enum::text_enum;

text_enum! {
    pub enum VectorKind {
        /// An approved mapping of the tenant: source field text → canonical field.
        Mapping => "MAPPING",
        /// Knowledge about a canonical field (name, alias or description); baseline or tenant.
        CanonicalField => "CANONICAL_FIELD",
        /// A source field the tenant has shown us.
        SourceField => "SOURCE_FIELD",
    }
}

#[derive(Debug, Clone)]
pub struct VectorRecord {
    pub kind: VectorKind,
    pub mapping_id: Option<Uuid>,
    pub canonical: Option<(String, String)>,
    pub source: Option<(String, String, String)>,
    pub content: String,
    pub vector: Vector,
}

#[derive(Debug, Clone)]
pub struct VectorHit {
    pub kind: VectorKind,
    /// True when the hit comes from the global baseline, not the tenant.
    pub baseline: bool,
    pub mapping_id: Option<Uuid>,
    pub canonical: Option<(String, String)>,
    pub source: Option<(String, String, String)>,
    pub content: String,
    /// Cosine similarity in [-1, 1].
    pub score: f32,
}

/// The reserved tenant that owns the global baseline namespace.
pub const BASELINE_TENANT: Uuid = Uuid::nil();

#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error("qdrant: {0}")]
    Qdrant(#[from] qdrant_client::QdrantError),
}

pub enum VectorStore {
    Pgvector(pgvector::PgVectorStore),
    Qdrant(qdrant::QdrantStore),
}

impl VectorStore {
    pub fn pgvector() -> Self {
        Self::Pgvector(pgvector::PgVectorStore)
    }

    /// The configured backend; Qdrant's collection is created for `dimension` if missing.
    pub async fn from_settings(
        settings: &VectorSettings,
        dimension: u64,
    ) -> Result<Self, VectorError> {
        Ok(match settings.backend {
            VectorBackend::Pgvector => Self::pgvector(),
            VectorBackend::Qdrant => {
                Self::Qdrant(qdrant::QdrantStore::connect(&settings.qdrant, dimension).await?)
            }
        })
    }

    /// Writes records into the namespace of the transaction's tenant; existing ones are kept.
    pub async fn upsert(
        &self,
        tx: &ScopedTx<'_>,
        model: &str,
        records: &[VectorRecord],
    ) -> Result<u64, VectorError> {
        match self {
            Self::Pgvector(store) => Ok(store.upsert(tx, model, records).await?),
            Self::Qdrant(store) => store.upsert(tx, model, records).await,
        }
    }

    /// Nearest records of `kinds`, from the tenant's namespace and the baseline together.
    pub async fn search(
        &self,
        tx: &ScopedTx<'_>,
        query: &[f32],
        kinds: &[VectorKind],
        limit: u64,
    ) -> Result<Vec<VectorHit>, VectorError> {
        let query: Vector = query.into();
        let mut lists = self.search_many(tx, &[query], kinds, limit).await?;
        Ok(lists.pop().unwrap_or_default())
    }

    /// `search` for many queries in one round trip; one result list per query, in order.
    pub async fn search_many(
        &self,
        tx: &ScopedTx<'_>,
        queries: &[Vector],
        kinds: &[VectorKind],
        limit: u64,
    ) -> Result<Vec<Vec<VectorHit>>, VectorError> {
        match self {
            Self::Pgvector(store) => Ok(store.search_many(tx, queries, kinds, limit).await?),
            Self::Qdrant(store) => store.search_many(tx, queries, kinds, limit).await,
        }
    }

    /// Targets of the tenant's MAPPING vectors whose text is exactly one of `contents`.
    pub async fn learned_targets(
        &self,
        tx: &ScopedTx<'_>,
        contents: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<(String, String)>>, VectorError> {
        match self {
            Self::Pgvector(store) => Ok(store.learned_targets(tx, contents).await?),
            Self::Qdrant(store) => store.learned_targets(tx, contents).await,
        }
    }

    /// How many knowledge vectors (MAPPING, CANONICAL_FIELD) the tenant and the baseline hold.
    /// Knowledge is insert-only, so this changes whenever nearest-knowledge results may.
    pub async fn knowledge_generation(&self, tx: &ScopedTx<'_>) -> Result<u64, VectorError> {
        match self {
            Self::Pgvector(store) => Ok(store.knowledge_generation(tx).await?),
            Self::Qdrant(store) => store.knowledge_generation(tx).await,
        }
    }

    pub async fn count(&self, tx: &ScopedTx<'_>, kind: VectorKind) -> Result<u64, VectorError> {
        match self {
            Self::Pgvector(store) => Ok(store.count(tx, kind).await?),
            Self::Qdrant(store) => store.count(tx, kind).await,
        }
    }
}
