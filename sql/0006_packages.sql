-- 0006: package_lookup's cache of registry facts, per-version facts and advisories.
-- One row per (kind, ecosystem, name, version): kind 'package' (the package document, version ''),
-- 'release' (one version's facts) or 'advisories' (OSV records for one version).
-- found = false remembers that the registry said "no such package/version" (payload NULL).
CREATE TABLE package_cache (
    kind            text        NOT NULL CHECK (kind IN ('package', 'release', 'advisories')),
    ecosystem       text        NOT NULL,
    name_key        text        NOT NULL,
    version         text        NOT NULL DEFAULT '',
    found           boolean     NOT NULL,
    payload         jsonb,
    fetched_at      timestamptz NOT NULL,
    -- for search by meaning over known packages (kind = 'package' only)
    search_text     text,
    license         text,
    downloads       bigint,
    embedding       vector,
    embedding_model text,
    PRIMARY KEY (kind, ecosystem, name_key, version)
);

CREATE INDEX package_cache_searchable ON package_cache (embedding_model)
    WHERE kind = 'package' AND found;
