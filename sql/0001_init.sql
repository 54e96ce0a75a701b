-- 0001: the shared core. Each capability adds its own tables in its own numbered migration.
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Embeddings are never computed twice for the same text and model.
CREATE TABLE embedding_cache (
    model_id    text        NOT NULL,
    text_sha256 bytea       NOT NULL,
    embedding   vector(384) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, text_sha256)
);
