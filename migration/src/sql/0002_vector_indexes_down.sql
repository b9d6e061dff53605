DROP INDEX IF EXISTS mapping_embeddings_knowledge_hnsw_idx;
DROP INDEX IF EXISTS mapping_embeddings_source_hnsw_idx;
CREATE INDEX mapping_embeddings_hnsw_idx ON mapping_embeddings USING hnsw (embedding vector_cosine_ops);
