"""Decomposition: knowledge-base templates with no key; the LLM behind a mocked Anthropic transport,
including malformed and partial JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest

from singularity_mcp.agent import LLMClient
from singularity_mcp.errors import NotConfigured, Unavailable
from singularity_mcp.knowledge import load_artifact_files
from singularity_mcp.planning import Decomposer, Plan, Template, parse_decomposition
from singularity_mcp.planning._build import add_subtasks
from singularity_mcp.planning.graph import topological_order
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio


def shipped_templates() -> list[Template]:
    return [
        Template.from_artifact(a)
        for a in load_artifact_files()
        if a.artifact_type == "decomposition_template"
    ]


async def _templates() -> list[Template]:
    return shipped_templates()


def test_every_shipped_template_instantiates_as_an_acyclic_plan() -> None:
    templates = shipped_templates()
    assert len(templates) >= 8
    for template in templates:
        plan = Plan(plan_id=1, goal="g")
        from singularity_mcp.planning._templates import instantiate

        add_subtasks(plan, instantiate(template, "g", confidence=0.8))
        order = topological_order(plan)
        keys = [s.key for s in template.steps]
        assert len(order) == len(keys), template.artifact_id


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ("Fix the crash when saving an empty file", "bug-fix"),
        ("Add OAuth login to the web app", "new-feature"),
        ("Upgrade Django from 4.2 to 5.1", "dependency-upgrade"),
        ("The search endpoint is slow: p99 latency is 2 s", "performance-investigation"),
        ("Security audit of the payment API", "security-review"),
        ("Migrate the user table from MySQL to PostgreSQL", "migration"),
        ("Refactor the billing module into smaller pieces", "refactor"),
        ("SPARC: a greenfield notification service", "sparc"),
    ],
)
async def test_template_decomposition_needs_no_key(goal: str, expected: str) -> None:
    result = await Decomposer(_templates).decompose(goal)
    assert result.source == f"template:{expected}"
    assert result.artifacts == [expected]
    template = next(t for t in shipped_templates() if t.artifact_id == expected)
    assert [s.key for s in result.specs] == [s.key for s in template.steps]
    assert [s.depends_on for s in result.specs] == [list(s.depends_on) for s in template.steps]
    assert all(0.5 <= (s.confidence or 0) <= 0.9 for s in result.specs)
    assert all(s.recommended_subtasks for s in result.specs if s.complexity >= 7)


async def test_unmatched_goal_without_llm_takes_the_general_template_and_says_so() -> None:
    result = await Decomposer(_templates).decompose("write a poem about autumn")
    assert result.source.startswith("template:")
    assert any("no template fits" in note for note in result.notes)
    with pytest.raises(NotConfigured, match="API key"):
        await Decomposer(_templates).decompose("write a poem", method="llm")


# --- LLM through a mocked Anthropic transport ----------------------------------------------------------

GOOD = {
    "tasks": [
        {
            "key": "schema",
            "title": "Design the token schema",
            "description": "Tables for OAuth tokens.",
            "depends_on": [],
            "complexity": 4,
            "priority": "high",
            "acceptance_criteria": ["Migration reviewed"],
            "estimate_hours": 3,
        },
        {
            "key": "flow",
            "title": "Implement the authorization code flow",
            "description": "Redirect, callback, token exchange.",
            "depends_on": ["schema"],
            "complexity": 8,
            "priority": "high",
            "acceptance_criteria": ["Login works against the provider sandbox"],
            "estimate_hours": 8,
            "recommended_subtasks": 4,
        },
        {
            "key": "tests",
            "title": "End-to-end tests",
            "description": "Cover login, refresh, logout.",
            "depends_on": ["flow"],
            "complexity": 5,
            "priority": "medium",
            "acceptance_criteria": ["CI green"],
            "estimate_hours": 4,
        },
    ]
}


def message(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 420, "output_tokens": 380},
    }


class FakeMessages:
    """Answers each Messages API call with the next text; keeps the request bodies."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.requests: list[dict[str, Any]] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        return httpx2.Response(200, json=message(self.texts.pop(0), body["model"]))


@pytest.fixture
def llm_for(tmp_path: Path) -> Callable[[FakeMessages], LLMClient]:
    settings = make_settings(tmp_path, anthropic_api_key="sk-test-key", agent_llm_max_retries=0)

    def build(fake: FakeMessages) -> LLMClient:
        return LLMClient(
            settings, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handler))
        )

    return build


async def test_llm_decomposition_asks_for_structured_output(
    llm_for: Callable[[FakeMessages], LLMClient],
) -> None:
    fake = FakeMessages(json.dumps(GOOD))
    result = await Decomposer(_templates, llm=llm_for(fake)).decompose(
        "Let people sign in with their Google account", method="llm"
    )
    assert result.source.startswith("llm:")
    assert [s.key for s in result.specs] == ["schema", "flow", "tests"]
    assert result.specs[1].depends_on == ["schema"] and result.specs[1].recommended_subtasks == 4
    assert result.specs[0].estimate_hours == 3
    [body] = fake.requests
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert "tasks" in body["output_config"]["format"]["schema"]["properties"]
    assert "Google account" in body["messages"][0]["content"]
    assert "complexity" in body["system"]


async def test_auto_prefers_a_fitting_template_over_the_llm(
    llm_for: Callable[[FakeMessages], LLMClient],
) -> None:
    fake = FakeMessages(json.dumps(GOOD))
    result = await Decomposer(_templates, llm=llm_for(fake)).decompose("Fix the crash on startup")
    assert result.source == "template:bug-fix"
    assert fake.requests == [], "the cheaper tier answered: no LLM call"
    result = await Decomposer(_templates, llm=llm_for(fake)).decompose("Let people sign in with Google")
    assert result.source.startswith("llm:") and len(fake.requests) == 1


async def test_malformed_json_is_retried_once(llm_for: Callable[[FakeMessages], LLMClient]) -> None:
    truncated = json.dumps(GOOD)[:150]  # cut off mid-object, as at max_tokens
    fake = FakeMessages(f"Here is the plan:\n```json\n{truncated}", f"```json\n{json.dumps(GOOD)}\n```")
    result = await Decomposer(_templates, llm=llm_for(fake)).decompose("Sign in with Google", method="llm")
    assert [s.key for s in result.specs] == ["schema", "flow", "tests"]
    assert len(fake.requests) == 2
    assert "could not be used" in fake.requests[1]["messages"][0]["content"]
    assert any("first answer refused" in n for n in result.notes)


async def test_malformed_twice_is_refused_or_falls_back(llm_for: Callable[[FakeMessages], LLMClient]) -> None:
    fake = FakeMessages("not json at all", '{"tasks": "nope"}')
    with pytest.raises(Unavailable, match="unusable twice"):
        await Decomposer(_templates, llm=llm_for(fake)).decompose("Sign in with Google", method="llm")
    fake = FakeMessages("{", "[]")
    result = await Decomposer(_templates, llm=llm_for(fake)).decompose("Sign in with Google")
    assert result.source.startswith("template:")
    assert "fell back to a template" in result.notes[0]


def test_partial_output_is_repaired() -> None:
    answer = {
        "tasks": [
            {"key": "a", "title": "A", "complexity": 15, "priority": "urgent", "depends_on": ["b"]},
            {"key": "b", "title": "B", "complexity": "3", "depends_on": ["a", "ghost"]},
            {"key": "a", "title": "A again", "complexity": 2},
            {"title": "", "complexity": 2},
        ]
    }
    specs, repairs = parse_decomposition("Sure:\n" + json.dumps(answer) + "\nDone.")
    assert [s.key for s in specs] == ["a", "b", "a-2"]
    assert specs[0].complexity == 10 and specs[0].priority == "medium"
    assert specs[0].depends_on == ["b"]
    assert specs[1].depends_on == [], "the edge back to a would close a cycle; ghost is unknown"
    assert specs[1].complexity == 3
    joined = " ".join(repairs)
    for expected in ("clamped", "urgent", "ghost", "cycle", "duplicate", "no title"):
        assert expected in joined
    plan = Plan(plan_id=1, goal="g")
    add_subtasks(plan, specs)
    assert topological_order(plan) == ["2", "1", "3"]


def test_mostly_unusable_output_is_refused() -> None:
    from singularity_mcp.planning._llm import DecompositionRefused

    with pytest.raises(DecompositionRefused, match="too few usable"):
        parse_decomposition(json.dumps({"tasks": [{"title": "ok"}, {"x": 1}, {"y": 2}, "z"]}))
    with pytest.raises(DecompositionRefused, match="no complete JSON"):
        parse_decomposition('{"tasks": [{"title": "a"')


# --- embedding similarity blended into template matching (the real ONNX model) --------------------------


@pytest.fixture(scope="module")
def embed(settings: Any) -> Any:
    from singularity_mcp.embedding import load_embedder
    from tests.conftest import test_model_dir

    try:
        embedder = load_embedder(settings.model_copy(update={"model_dir": test_model_dir()}))
    except Unavailable as exc:  # offline with no cached build
        pytest.skip(f"embedding model unavailable: {exc}")
    return embedder.embed


async def test_embeddings_pick_a_template_when_no_keyword_matches(embed: Any) -> None:
    from singularity_mcp.planning import memoize_embed, rank_templates

    calls: list[int] = []

    async def counting(texts: Any) -> Any:
        calls.append(len(texts))
        return await embed(texts)

    cached = memoize_embed(counting)
    goal = "Make the search endpoint faster, it takes 2 s"
    assert (await rank_templates(goal, shipped_templates()))[0].keyword_score == 0.0
    best = (await rank_templates(goal, shipped_templates(), cached))[0]
    assert best.template.artifact_id == "performance-investigation"
    assert best.similarity is not None and best.similarity > 0.3
    result = await Decomposer(_templates, embed=cached).decompose("Page loads take 8 seconds on mobile")
    assert result.source == "template:performance-investigation"
    assert calls[1] == 1, "the templates' texts are embedded once; later calls embed only the goal"
