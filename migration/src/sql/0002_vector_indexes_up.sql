-- Proposals search knowledge (approved mappings, canonical fields); semantic search also
-- searches source fields, which outnumber knowledge by far. One HNSW graph for both made
-- knowledge searches dig through source-field rows (filtered out after the scan); a graph per
-- purpose keeps each search and each insert on the rows it is about.
DROP INDEX IF EXISTS mapping_embeddings_hnsw_idx;
CREATE INDEX mapping_embeddings_knowledge_hnsw_idx ON mapping_embeddings
    USING hnsw (embedding vector_cosine_ops) WHERE kind IN ('MAPPING', 'CANONICAL_FIELD');
CREATE INDEX mapping_embeddings_source_hnsw_idx ON mapping_embeddings
    USING hnsw (embedding vector_cosine_ops) WHERE kind = 'SOURCE_FIELD';
