"""`ask` on the real database and model: each tier answers when it should and passes when it should not."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from singularity_mcp.agent import Completion, LLMClient, LLMRequest, ask, record_answer_feedback, router_stats
from singularity_mcp.core import Core
from singularity_mcp.errors import InvalidInput, NotFound
from tests.agent.fake_anthropic import FakeAnthropic

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> FakeAnthropic:
    return FakeAnthropic()


@pytest.fixture
def llm(agent_core: Core, fake: FakeAnthropic) -> LLMClient:
    settings = agent_core.settings.model_copy(
        update={"anthropic_api_key": SecretStr("sk-test"), "agent_llm_max_retries": 0}
    )
    return LLMClient(settings, http_client=fake.client())


async def _rows(core: Core, sql: str, *params) -> list[tuple]:
    pool = (await core.database()).pool
    async with pool.connection() as conn:
        return await (await conn.execute(sql, params)).fetchall()


async def test_llm_answer_is_cached_and_served_to_repeats_and_paraphrases(
    agent_core: Core, llm: LLMClient, fake: FakeAnthropic
) -> None:
    first = await ask(agent_core, "How do I reverse a linked list in Python?", task_type="coder", llm=llm)
    assert first.source == "llm" and first.model == "claude-sonnet-5-5" and first.complexity == "medium"
    assert (first.usage.input_tokens, first.usage.output_tokens) == (612, 87)
    assert first.cost_usd == pytest.approx((612 * 3 + 87 * 15) / 1e6)
    logged = await _rows(
        agent_core,
        "SELECT a.source, a.cost_usd, c.model, c.ok, c.input_tokens, c.output_tokens, c.cost_usd "
        "FROM agent_answers a JOIN agent_llm_calls c USING (answer_id) WHERE a.answer_id = %s",
        first.answer_id,
    )
    assert logged == [("llm", first.cost_usd, "claude-sonnet-5-5", True, 612, 87, first.cost_usd)]

    repeat = await ask(agent_core, "how do i reverse a linked list in python", task_type="coder", llm=llm)
    assert repeat.source == "cache" and repeat.similarity == 1.0 and repeat.answer == first.answer
    assert repeat.cost_usd == 0 and repeat.usage.input_tokens == 0
    paraphrase = await ask(
        agent_core, "In Python, how can I reverse a linked list?", task_type="coder", llm=llm
    )
    assert paraphrase.source == "cache" and paraphrase.similarity >= 0.95
    assert len(fake.requests) == 1

    other_task = await ask(
        agent_core, "How do I reverse a linked list in Python?", task_type="reviewer", llm=llm
    )
    assert other_task.source == "llm"  # the cache is per task type
    with_context = await ask(
        agent_core,
        "How do I reverse a linked list in Python?",
        task_type="coder",
        context="class Node: ...",
        llm=llm,
    )
    assert with_context.source == "llm"  # and per context
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    "near_miss",
    [
        "How do I sort a list of numbers in Rust in descending order?",  # ordering word
        "How do I sort a list of numbers in Go in ascending order?",  # language
        "How do I sort a list of 5 numbers in Rust in ascending order?",  # number
        "How do I not sort a list of numbers in Rust in ascending order?",  # negation
    ],
)
async def test_near_misses_are_not_served_from_the_cache(
    agent_core: Core, llm: LLMClient, near_miss: str
) -> None:
    cached = await ask(agent_core, "How do I sort a list of numbers in Rust in ascending order?", llm=llm)
    assert cached.source in ("llm", "cache")
    answer = await ask(agent_core, near_miss, llm=llm)
    assert answer.source == "llm", f"{near_miss!r} was served {answer.source}"
    assert answer.answer != cached.answer


async def test_feedback_evicts_on_failure_and_learns_a_rule_after_confirmations(
    agent_core: Core, llm: LLMClient
) -> None:
    prompt = "What does the walrus operator do in Python?"
    first = await ask(agent_core, prompt, task_type="explainer", llm=llm)
    assert first.source == "llm"
    evicted = await record_answer_feedback(agent_core, first.answer_id, False)
    assert evicted["cache"]["evicted"] is True
    again = await ask(agent_core, prompt, task_type="explainer", llm=llm)
    assert again.source == "llm" and again.answer != first.answer

    learn_after = agent_core.settings.agent_learn_after
    feedback = await record_answer_feedback(agent_core, again.answer_id, True)
    assert feedback["cache"]["confirmations"] == 1
    for _ in range(learn_after - 1):
        hit = await ask(agent_core, prompt, task_type="explainer", llm=llm)
        assert hit.source == "cache"
        feedback = await record_answer_feedback(agent_core, hit.answer_id, True)
    assert feedback["learned_rule_id"].startswith("learned-")
    ruled = await ask(
        agent_core, "what does the WALRUS operator do in python?!", task_type="explainer", llm=llm
    )
    assert ruled.source == "rule" and ruled.rule_id == feedback["learned_rule_id"]
    assert ruled.answer == again.answer and ruled.confidence >= 0.9

    weakened = await record_answer_feedback(agent_core, ruled.answer_id, False)
    assert weakened["rule"]["active"] is False
    after = await ask(agent_core, prompt, task_type="explainer", llm=llm)
    assert after.source != "rule"


async def test_overload_falls_back_and_both_attempts_are_logged(
    agent_core: Core, fake: FakeAnthropic
) -> None:
    settings = agent_core.settings.model_copy(
        update={"anthropic_api_key": SecretStr("sk-test"), "agent_llm_max_retries": 0}
    )
    fake.overloaded.add(settings.agent_model_complex)
    llm = LLMClient(settings, http_client=fake.client())
    answer = await ask(agent_core, "Design the architecture for a multi-tenant billing service", llm=llm,
                       task_type="architect")  # fmt: skip
    assert (
        answer.source == "llm"
        and answer.complexity == "complex"
        and answer.model == settings.agent_model_medium
    )
    calls = await _rows(
        agent_core, "SELECT model, ok, error FROM agent_llm_calls WHERE answer_id = %s ORDER BY call_id",
        answer.answer_id,
    )  # fmt: skip
    assert calls == [
        (settings.agent_model_complex, False, "HTTP 529"),
        (settings.agent_model_medium, True, None),
    ]


async def test_sampler_answers_without_a_key_and_none_lists_knowledge(agent_core: Core) -> None:
    from singularity_mcp.knowledge import import_artifacts

    await import_artifacts(agent_core)
    requests: list[LLMRequest] = []

    async def sampler(request: LLMRequest) -> Completion:
        requests.append(request)
        return Completion("sampled answer", "client-model", 0, 0, 0.0, 12.0)

    prompt = "How should I structure error handling in a Go HTTP service?"
    sampled = await ask(agent_core, prompt, sampler=sampler)
    assert (
        sampled.source == "sampling"
        and sampled.answer == "sampled answer"
        and sampled.model == "client-model"
    )
    assert requests[0].system and prompt in requests[0].prompt and requests[0].max_tokens >= 1024
    assert sampled.artifacts and "<knowledge>" in requests[0].prompt  # knowledge went in as context

    none = await ask(agent_core, "How do I write a table-driven test in Go with subtests?")
    assert none.source == "none" and none.artifacts
    assert "ANTHROPIC_API_KEY" in none.answer and none.artifacts[0].title in none.answer
    assert "no Anthropic API key" in (none.note or "")

    async def refusing(request: LLMRequest) -> Completion:
        raise RuntimeError("user declined")

    declined = await ask(agent_core, "How do I profile memory in a Go program?", sampler=refusing)
    assert declined.source == "none" and "user declined" in (declined.note or "")

    no_llm = await ask(agent_core, "How do I benchmark a Go function?", use_llm=False, sampler=sampler)
    assert no_llm.source == "none" and len(requests) == 1


async def test_shipped_rule_answers_and_stats_add_up(agent_core: Core, llm: LLMClient) -> None:
    from singularity_mcp.knowledge import load_artifact_files

    strong = [a for a in load_artifact_files() if a.artifact_type == "rule" and a.content.confidence >= 0.9
              and a.content.triggers.keywords and "general" in a.content.task_types]  # fmt: skip
    if not strong:
        pytest.skip("no shipped rule with confidence >= 0.9 and keywords")
    rule = strong[0]
    answer = await ask(agent_core, " ".join(rule.content.triggers.keywords) + "?", llm=llm)
    assert answer.source == "rule" and answer.confidence >= 0.9 and answer.rule_id.startswith("rule")

    stats = await router_stats(agent_core)
    counts = {t.source: t.count for t in stats.tiers}
    assert stats.total == sum(counts.values()) and counts["rule"] >= 1 and counts["cache"] >= 1
    assert counts["llm"] >= 1 and stats.cost_usd > 0 and stats.estimated_saving_usd > 0
    assert stats.estimated_always_llm_usd == pytest.approx(
        stats.cost_usd + stats.estimated_saving_usd, abs=1e-6
    )
    assert stats.guard_rejections >= 1 and stats.llm_failures >= 1
    cache = next(t for t in stats.tiers if t.source == "cache")
    assert cache.p50_ms is not None and cache.p95_ms >= cache.p50_ms


async def test_bad_input_is_refused_with_a_message(agent_core: Core) -> None:
    with pytest.raises(InvalidInput, match="prompt is empty"):
        await ask(agent_core, "   ")
    with pytest.raises(InvalidInput, match="task_type"):
        await ask(agent_core, "hi", task_type="Not A Type!")
    with pytest.raises(InvalidInput, match="complexity"):
        await ask(agent_core, "hi", complexity="huge")
    with pytest.raises(InvalidInput, match="answer_id"):
        await record_answer_feedback(agent_core, "nope", True)
    with pytest.raises(NotFound):
        await record_answer_feedback(agent_core, "00000000-0000-0000-0000-000000000000", True)


async def test_path_puts_the_relevant_code_in_front_of_the_model(
    agent_core: Core, llm: LLMClient, fake: FakeAnthropic, tmp_path
) -> None:
    from singularity_mcp.search import index_repository

    repo = tmp_path / "shop"
    repo.mkdir()
    (repo / "pricing.py").write_text(
        "def apply_discount(total: float, percent: float) -> float:\n"
        '    """Reduce the order total by a percentage discount."""\n'
        "    return total * (1 - percent / 100)\n"
    )
    (repo / "mailer.py").write_text(
        "def send_welcome_email(address: str) -> None:\n    print('hi', address)\n"
    )
    pool = (await agent_core.database()).pool
    await index_repository(pool, repo.resolve(), agent_core.embedder)

    prompt = "Why can the discount make the order total negative?"
    answer = await ask(agent_core, prompt, task_type="debugger", path=str(repo), llm=llm)
    assert answer.source == "llm" and answer.code
    assert answer.code[0].path.endswith("pricing.py") and answer.code[0].symbol
    sent = fake.requests[-1]["messages"][0]["content"]
    assert "<code>" in sent and "def apply_discount" in sent
    without = await ask(agent_core, prompt, task_type="debugger", llm=llm)
    assert without.source == "llm"  # an answer given code is not served for the question without it
    again = await ask(agent_core, prompt, task_type="debugger", path=str(repo), llm=llm)
    assert again.source == "cache" and again.answer == answer.answer

    with pytest.raises(InvalidInput, match="does not exist"):
        await ask(agent_core, prompt, path=str(tmp_path / "missing"))
