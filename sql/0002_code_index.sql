-- 0002: the codebase index. A root is an indexed folder; files and chunks hang off it.
-- A file row (with its content hash) is written in the same transaction as its chunks, so an interrupted
-- run never leaves a file that looks indexed but is not. Chunk vectors stay NULL until the dense phase
-- fills them; lexical search works without them.
CREATE TABLE code_roots (
    id              bigserial   PRIMARY KEY,
    path            text        NOT NULL UNIQUE,
    embedding_model text,
    state           text        NOT NULL DEFAULT 'new',   -- new | indexing | ready | failed
    phase           text,                                 -- scan | lexical | dense | done
    files_total     integer     NOT NULL DEFAULT 0,
    files_done      integer     NOT NULL DEFAULT 0,
    chunks          integer     NOT NULL DEFAULT 0,       -- chunks stored, refreshed after each run
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    indexed_at      timestamptz
);

CREATE TABLE code_files (
    id             bigserial   PRIMARY KEY,
    root_id        bigint      NOT NULL REFERENCES code_roots (id) ON DELETE CASCADE,
    rel_path       text        NOT NULL,
    language       text,
    size           bigint      NOT NULL,
    mtime_ns       bigint      NOT NULL,
    content_sha256 bytea       NOT NULL,
    indexed_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (root_id, rel_path)
);

CREATE TABLE code_chunks (
    id          bigserial   PRIMARY KEY,
    file_id     bigint      NOT NULL REFERENCES code_files (id) ON DELETE CASCADE,
    root_id     bigint      NOT NULL,
    rel_path    text        NOT NULL,
    language    text,
    start_line  integer     NOT NULL,
    end_line    integer     NOT NULL,
    symbol      text,
    kind        text        NOT NULL,
    content     text        NOT NULL,
    embed_sha256 bytea      NOT NULL,   -- sha256 of the text given to the embedder
    embedding   vector(384)
);
CREATE INDEX code_chunks_file ON code_chunks (file_id);
CREATE INDEX code_chunks_root ON code_chunks (root_id, language);
CREATE INDEX code_chunks_embedding ON code_chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX code_chunks_pending ON code_chunks (root_id, id) WHERE embedding IS NULL;

-- The full-text side lives in a narrow table (with copies of the filter columns): a keyword lookup then
-- visits a few small rows per page instead of one wide chunk row (content, vector) per match.
CREATE TABLE code_chunk_lexemes (
    chunk_id bigint   PRIMARY KEY REFERENCES code_chunks (id) ON DELETE CASCADE,
    root_id  bigint   NOT NULL,
    language text,
    kind     text     NOT NULL,
    rel_path text     NOT NULL,
    lexemes  tsvector NOT NULL  -- weights: A symbol, B path, D content (identifier-aware words)
);
CREATE INDEX code_chunk_lexemes_gin ON code_chunk_lexemes USING gin (lexemes);

-- Document frequency of each lexeme per root, refreshed after a run changes the root: query terms are
-- weighted by inverse document frequency (full-text ranking alone has none) and very common ones dropped.
CREATE TABLE code_terms (
    root_id bigint  NOT NULL REFERENCES code_roots (id) ON DELETE CASCADE,
    lexeme  text    NOT NULL,
    ndoc    integer NOT NULL,
    PRIMARY KEY (root_id, lexeme)
);
