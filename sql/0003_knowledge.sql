-- 0003: the knowledge base. Files in knowledge_base/ are the source of truth for curated artifacts;
-- learned artifacts are written at run time. Usage and feedback figures drive the ranking.
CREATE TABLE knowledge_artifacts (
    artifact_id      text        PRIMARY KEY,
    artifact_type    text        NOT NULL,
    version          text        NOT NULL,
    title            text        NOT NULL,
    summary          text        NOT NULL,
    language         text,
    tags             text[]      NOT NULL DEFAULT '{}',
    body             jsonb       NOT NULL,              -- the parsed artifact
    raw_text         text        NOT NULL,              -- the file exactly as written
    content_sha256   text        NOT NULL,              -- sha256 of raw_text: unchanged files are skipped
    source           text        NOT NULL DEFAULT 'curated' CHECK (source IN ('curated', 'learned')),
    source_path      text,                              -- relative to the knowledge base folder
    search_text      text        NOT NULL,
    tsv              tsvector    GENERATED ALWAYS AS (to_tsvector('english', search_text)) STORED,
    embedding        vector(384),
    embedding_model  text,
    embedding_sha256 text,                              -- sha256 of the embedded text: re-embed only on change
    usage_count      integer     NOT NULL DEFAULT 0,
    success_count    integer     NOT NULL DEFAULT 0,
    failure_count    integer     NOT NULL DEFAULT 0,
    last_used_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX knowledge_artifacts_type ON knowledge_artifacts (artifact_type);
CREATE INDEX knowledge_artifacts_tsv ON knowledge_artifacts USING gin (tsv);

-- Every replaced or removed version of an artifact.
CREATE TABLE knowledge_artifact_history (
    id             bigserial   PRIMARY KEY,
    artifact_id    text        NOT NULL,
    artifact_type  text        NOT NULL,
    version        text        NOT NULL,
    body           jsonb       NOT NULL,
    raw_text       text        NOT NULL,
    content_sha256 text        NOT NULL,
    change         text        NOT NULL CHECK (change IN ('updated', 'removed')),
    replaced_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX knowledge_artifact_history_id ON knowledge_artifact_history (artifact_id, replaced_at);
