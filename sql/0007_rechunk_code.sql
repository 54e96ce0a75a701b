-- 0007: chunks now carry every definition name they contain (tsvector weights A and C), small
-- definitions no longer share a chunk, and a definition's vector is of the definition alone (embed_text).
-- Mark every indexed file as changed on disk AND in content (the indexer skips re-chunking a file whose
-- content hash is unchanged), so the next index_codebase run (or a search hitting the file) re-chunks it;
-- unchanged chunk texts keep their vectors through the embedding cache.
-- A definition's chunk may carry module code merged around it (imports, exports); its vector is of the
-- definition alone, stored here (NULL: the content itself).
ALTER TABLE code_chunks ADD COLUMN IF NOT EXISTS embed_text text;
UPDATE code_files SET mtime_ns = -1, content_sha256 = '\x'::bytea;
