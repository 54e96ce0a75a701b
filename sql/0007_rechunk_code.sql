-- 0007: chunks now carry every definition name they contain (tsvector weights A and C) and small
-- definitions no longer share a chunk. Mark every indexed file as changed on disk so the next
-- index_codebase run (or a search hitting the file) re-chunks it; unchanged chunk texts keep their
-- vectors through the embedding cache.
UPDATE code_files SET mtime_ns = -1;
-- A definition's chunk may carry module code merged around it (imports, exports); its vector is of the
-- definition alone (NULL: the content itself).
ALTER TABLE code_chunks ADD COLUMN IF NOT EXISTS embed_text text;
