-- 0005: plans (plan_task). A plan is a goal and a tree of tasks with dependency edges between them.
-- Every change to a plan happens in one transaction that first locks its `plans` row.
CREATE TABLE plans (
    plan_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    goal       text        NOT NULL CHECK (length(goal) BETWEEN 1 AND 2000),
    context    text,
    source     text        NOT NULL,           -- explicit | template:<artifact_id> | llm:<model>
    version    integer     NOT NULL DEFAULT 1,  -- bumped by every change
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plan_tasks (
    plan_id              bigint      NOT NULL REFERENCES plans ON DELETE CASCADE,
    task_id              text        NOT NULL CHECK (task_id ~ '^[0-9]+(\.[0-9]+)*$'),
    parent_id            text,
    position             integer     NOT NULL DEFAULT 0,
    title                text        NOT NULL,
    description          text        NOT NULL DEFAULT '',
    status               text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'in_progress', 'done', 'failed', 'blocked', 'cancelled')),
    complexity           smallint    NOT NULL CHECK (complexity BETWEEN 1 AND 10),
    priority             text        NOT NULL DEFAULT 'medium' CHECK (priority IN ('high', 'medium', 'low')),
    base_confidence      real        NOT NULL CHECK (base_confidence BETWEEN 0 AND 1),
    confidence           real        NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    acceptance_criteria  jsonb       NOT NULL DEFAULT '[]',
    estimate_hours       real        CHECK (estimate_hours >= 0),
    not_before           timestamptz,
    recommended_subtasks smallint,
    blocked_by           text[]      NOT NULL DEFAULT '{}',  -- failed tasks behind a derived block
    source_artifacts     text[]      NOT NULL DEFAULT '{}',  -- knowledge artifacts the task came from
    note                 text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, task_id),
    FOREIGN KEY (plan_id, parent_id) REFERENCES plan_tasks (plan_id, task_id) ON DELETE CASCADE
);

CREATE TABLE plan_dependencies (
    plan_id    bigint NOT NULL,
    task_id    text   NOT NULL,
    depends_on text   NOT NULL,
    PRIMARY KEY (plan_id, task_id, depends_on),
    CHECK (task_id <> depends_on),
    FOREIGN KEY (plan_id, task_id) REFERENCES plan_tasks (plan_id, task_id) ON DELETE CASCADE,
    FOREIGN KEY (plan_id, depends_on) REFERENCES plan_tasks (plan_id, task_id) ON DELETE CASCADE
);

-- What happened to a plan, one row per call that changed it (the answer's message).
CREATE TABLE plan_events (
    event_id bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id  bigint      NOT NULL REFERENCES plans ON DELETE CASCADE,
    action   text        NOT NULL,
    task_id  text,
    changes  jsonb       NOT NULL DEFAULT '[]',
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plan_events_plan ON plan_events (plan_id, event_id);
CREATE INDEX plans_updated ON plans (updated_at DESC);
