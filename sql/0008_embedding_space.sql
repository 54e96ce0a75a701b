-- 0008: one embedding model per database, its vectors sized by the model's manifest and stored at half
-- precision (halfvec: 2 bytes a dimension instead of 4, in the tables and in their HNSW indexes).
--
-- `embedding_space` records the model whose vectors the database holds. The code claims it for the
-- configured model on first use and sizes the typed vector columns to its manifest's `dimensions`
-- (embedding/_space.py); another model is refused until `singularity-mcp model switch` clears the old
-- vectors. This migration keeps whatever dimension a database already has (384 for every database
-- built so far), so an existing index keeps working without re-embedding.
CREATE TABLE embedding_space (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    model_id   text        NOT NULL,
    dimensions integer     NOT NULL CHECK (dimensions > 0),
    claimed_at timestamptz NOT NULL DEFAULT now()
);

-- The HNSW indexes are built with an operator class of the column type: drop, convert, rebuild.
DROP INDEX code_chunks_embedding;
DROP INDEX agent_cache_embedding;
DO $$
DECLARE
    tbl  text;
    dims integer;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['embedding_cache', 'code_chunks', 'knowledge_artifacts', 'agent_cache'] LOOP
        SELECT atttypmod INTO dims FROM pg_attribute
        WHERE attrelid = tbl::regclass AND attname = 'embedding' AND NOT attisdropped;
        EXECUTE format('ALTER TABLE %I ALTER COLUMN embedding TYPE halfvec(%s) USING embedding::halfvec(%s)',
                       tbl, dims, dims);
    END LOOP;
END $$;
-- Package vectors are filtered by their model column and never indexed: untyped.
ALTER TABLE package_cache ALTER COLUMN embedding TYPE halfvec USING embedding::halfvec;
CREATE INDEX code_chunks_embedding ON code_chunks USING hnsw (embedding halfvec_cosine_ops);
CREATE INDEX agent_cache_embedding ON agent_cache USING hnsw (embedding halfvec_cosine_ops);

-- Writes of vectors by a process embedding with another model than the database's are refused, also
-- when another process switched the database while this one was running. Each pooled connection names
-- its model in the setting `singularity.embedding_model`; connections that do not (psql, migrations)
-- are not checked. The triggers name no column (a column used in a trigger definition cannot be
-- retyped, and the columns are resized when the database changes model).
CREATE FUNCTION embedding_space_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    want text := nullif(current_setting('singularity.embedding_model', true), '');
    have text;
BEGIN
    IF want IS NULL OR NEW.embedding IS NULL
       OR (TG_OP = 'UPDATE' AND NEW.embedding IS NOT DISTINCT FROM OLD.embedding) THEN
        RETURN NEW;
    END IF;
    SELECT model_id INTO have FROM embedding_space;
    IF have IS DISTINCT FROM want AND have IS NOT NULL THEN
        RAISE EXCEPTION 'this database holds vectors of embedding model %, this process embeds with %', have, want
            USING ERRCODE = 'SG001',
                  HINT = 'restart this process with the model the database holds (SINGULARITY_MODEL, '
                         'SINGULARITY_MODEL_VARIANT), or run `singularity-mcp model switch` to re-embed';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER embedding_space_guard BEFORE INSERT OR UPDATE ON embedding_cache
    FOR EACH ROW EXECUTE FUNCTION embedding_space_guard();
CREATE TRIGGER embedding_space_guard BEFORE INSERT OR UPDATE ON code_chunks
    FOR EACH ROW EXECUTE FUNCTION embedding_space_guard();
CREATE TRIGGER embedding_space_guard BEFORE INSERT OR UPDATE ON knowledge_artifacts
    FOR EACH ROW EXECUTE FUNCTION embedding_space_guard();
CREATE TRIGGER embedding_space_guard BEFORE INSERT OR UPDATE ON agent_cache
    FOR EACH ROW EXECUTE FUNCTION embedding_space_guard();
CREATE TRIGGER embedding_space_guard BEFORE INSERT OR UPDATE ON package_cache
    FOR EACH ROW EXECUTE FUNCTION embedding_space_guard();
