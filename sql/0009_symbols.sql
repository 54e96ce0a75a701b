-- 0009: the symbol index beside the code index. Definitions (one row each) and references (one row per
-- file and referenced name, with the lines) hang off a code_files row: written in the same transaction
-- as the file's chunks, replaced when its content changes, gone when the file is (ON DELETE CASCADE).
CREATE TABLE code_symbols (
    id             bigserial PRIMARY KEY,
    file_id        bigint    NOT NULL REFERENCES code_files (id) ON DELETE CASCADE,
    root_id        bigint    NOT NULL,
    rel_path       text      NOT NULL,
    language       text,
    name           text      NOT NULL,
    qualified_name text      NOT NULL,
    kind           text      NOT NULL,   -- function | method | class | struct | interface | module | ...
    start_line     integer   NOT NULL,
    end_line       integer   NOT NULL,
    signature      text      NOT NULL    -- the definition's head, whitespace collapsed
);
CREATE INDEX code_symbols_name ON code_symbols (lower(name), root_id);
CREATE INDEX code_symbols_qualified ON code_symbols (lower(qualified_name) text_pattern_ops);
CREATE INDEX code_symbols_file ON code_symbols (file_id);
CREATE INDEX code_symbols_root ON code_symbols (root_id, rel_path);

CREATE TABLE code_refs (
    file_id   bigint    NOT NULL REFERENCES code_files (id) ON DELETE CASCADE,
    root_id   bigint    NOT NULL,
    rel_path  text      NOT NULL,
    name      text      NOT NULL,
    lines     integer[] NOT NULL,   -- 1-based, ascending
    enclosing text[]    NOT NULL,   -- per line: qualified name of the innermost definition, '' at top level
    kinds     text[]    NOT NULL,   -- per line: call | type | name
    PRIMARY KEY (file_id, name)
);
CREATE INDEX code_refs_name ON code_refs (name, root_id);
CREATE INDEX code_refs_root ON code_refs (root_id, rel_path);

-- Files indexed before this migration have no symbols yet: make the next index run re-read them (their
-- chunks keep the same text, so their vectors come back from the embedding cache).
UPDATE code_files SET mtime_ns = -1, content_sha256 = ''::bytea;
