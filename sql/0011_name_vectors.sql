-- 0011: a second, small vector per code chunk: of its name alone, in words ("infinite query behavior: has
-- next page (function)"), next to the vector of its code. The dense side scores a chunk by both (the
-- name's weight in search/_vectors.py). Untyped halfvec (never indexed: only the in-memory exact search
-- reads it; sized by whatever model wrote it, like package_cache). Chunks indexed before this migration
-- get theirs from the next index run, without re-embedding their code; until every chunk of a root has
-- one, that root is searched by its code vectors alone.
ALTER TABLE code_chunks ADD COLUMN name_embedding halfvec;
-- The index run looks for chunks missing either vector; this keeps that lookup small on a big root.
CREATE INDEX code_chunks_pending_names ON code_chunks (root_id, id) WHERE name_embedding IS NULL;
