-- 0004: the agent router (ask_agent): answer cache, answer log, LLM call log, learned rules.

-- Tier 2: answers served again to the same or a paraphrased prompt (same task type, same context).
CREATE TABLE agent_cache (
    cache_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_type      text        NOT NULL,
    context_hash   text        NOT NULL,          -- '' when the prompt came without context
    prompt_sha256  bytea       NOT NULL,          -- of the normalised prompt
    prompt         text        NOT NULL,
    embedding      vector(384) NOT NULL,          -- of the normalised prompt
    guard          jsonb       NOT NULL,          -- numbers, negation, identifiers, languages, poles
    answer         text        NOT NULL,
    source         text        NOT NULL CHECK (source IN ('llm', 'sampling')),
    model          text,
    complexity     text        NOT NULL,
    input_tokens   integer     NOT NULL DEFAULT 0,
    output_tokens  integer     NOT NULL DEFAULT 0,
    cost_usd       double precision NOT NULL DEFAULT 0,
    hits           integer     NOT NULL DEFAULT 0,
    confirmations  integer     NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    UNIQUE (task_type, context_hash, prompt_sha256)
);
CREATE INDEX agent_cache_embedding ON agent_cache USING hnsw (embedding vector_cosine_ops);
CREATE INDEX agent_cache_expiry ON agent_cache (expires_at);
CREATE INDEX agent_cache_last_used ON agent_cache (confirmations, last_used_at);

-- Tier 1 (learned part): cached answers confirmed often enough; knowledge-base rules live in knowledge.
CREATE TABLE agent_rules (
    rule_id        text        PRIMARY KEY,
    task_type      text        NOT NULL,
    context_hash   text        NOT NULL,
    pattern        text        NOT NULL,          -- regex over the raw prompt (case-insensitive)
    prompt         text        NOT NULL,
    answer         text        NOT NULL,
    confidence     double precision NOT NULL,
    uses           integer     NOT NULL DEFAULT 0,
    successes      integer     NOT NULL DEFAULT 0,
    failures       integer     NOT NULL DEFAULT 0,
    source_cache_id bigint,
    artifact_id    text,                          -- the learned artifact handed to the knowledge base
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per ask(): which tier answered, how fast, what it cost and what it saved (router stats).
CREATE TABLE agent_answers (
    answer_id      uuid        PRIMARY KEY,
    created_at     timestamptz NOT NULL DEFAULT now(),
    task_type      text        NOT NULL,
    complexity     text        NOT NULL,
    source         text        NOT NULL CHECK (source IN ('rule', 'cache', 'llm', 'sampling', 'none')),
    latency_ms     double precision NOT NULL,
    model          text,
    input_tokens   integer     NOT NULL DEFAULT 0,
    output_tokens  integer     NOT NULL DEFAULT 0,
    cost_usd       double precision NOT NULL DEFAULT 0,
    saved_usd      double precision NOT NULL DEFAULT 0,  -- estimated LLM cost avoided (rule, cache)
    similarity     double precision,
    cache_id       bigint,
    rule_id        text,
    guard_rejected text,                          -- why the nearest cached prompt was refused
    artifact_ids   text[]      NOT NULL DEFAULT '{}',  -- knowledge artifacts the answer used
    feedback       boolean
);
CREATE INDEX agent_answers_created ON agent_answers (created_at);

-- Every LLM attempt (fallbacks included) and every sampling request.
CREATE TABLE agent_llm_calls (
    call_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    answer_id      uuid,
    created_at     timestamptz NOT NULL DEFAULT now(),
    provider       text        NOT NULL CHECK (provider IN ('anthropic', 'sampling')),
    model          text,
    ok             boolean     NOT NULL,
    error          text,
    input_tokens   integer     NOT NULL DEFAULT 0,
    output_tokens  integer     NOT NULL DEFAULT 0,
    cost_usd       double precision NOT NULL DEFAULT 0,
    latency_ms     double precision
);
CREATE INDEX agent_llm_calls_answer ON agent_llm_calls (answer_id);
