"""The tiered router: rules → semantic cache → LLM (Anthropic API, else MCP sampling) → knowledge hits."""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.to_thread

from singularity_mcp.agent import _cache, _knowledge
from singularity_mcp.agent._complexity import decide_complexity
from singularity_mcp.agent._guard import Signature, normalise, signature
from singularity_mcp.agent._llm import (
    COMPLEXITIES,
    Completion,
    Complexity,
    LLMClient,
    LLMUnavailable,
    cost_usd,
    model_for,
)
from singularity_mcp.agent._rules import MIN_CONFIDENCE, Rule, RuleBook, learned_pattern
from singularity_mcp.agent._verify import Refusal
from singularity_mcp.agent.models import AgentAnswer, CodeRef, KnowledgeRef, Usage
from singularity_mcp.errors import InvalidInput, NotFound, NotIndexed, SingularityError, check_text, quoted
from singularity_mcp.paths import AllowedRoots, allowed_roots, read_file, resolve_allowed

if TYPE_CHECKING:
    import numpy as np
    from psycopg_pool import AsyncConnectionPool

    from singularity_mcp.core import Core

logger = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 100_000
MAX_CONTEXT_CHARS = 200_000
MAX_TOKENS: dict[str, int] = {"simple": 1024, "medium": 2048, "complex": 4096}
_TASK_TYPE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
#: Knowledge hits put in front of the LLM (more are listed in a source-`none` answer).
_CONTEXT_ARTIFACTS = 3
_NONE_ARTIFACTS = 5
_CODE_HITS = 3
_CODE_CHARS = 4000
_CODE_FILE_BYTES = 1_000_000  # the index skips larger files
_ENABLE_HINT = (
    "For LLM answers set ANTHROPIC_API_KEY (or SINGULARITY_ANTHROPIC_API_KEY), "
    "or use an MCP client that supports sampling."
)
_DEFAULT_SYSTEM = (
    "You are a senior software engineer answering a developer inside their IDE. Answer precisely and "
    "briefly; show code when it helps; say so when you are unsure. Use the knowledge and context given "
    "when they are relevant and ignore them when they are not."
)


@dataclass(frozen=True)
class LLMRequest:
    """What tier 3 sends: to the Anthropic API, or to the client's model through MCP sampling."""

    system: str
    prompt: str
    max_tokens: int
    complexity: Complexity
    model: str
    """The model the API tier would use (a hint for the client when sampling)."""
    artifacts: tuple[KnowledgeRef, ...] = ()
    code: tuple[CodeRef, ...] = ()


Sampler = Callable[[LLMRequest], Awaitable[Completion]]


@dataclass
class _Router:
    rules: RuleBook
    llm: LLMClient


@dataclass
class _Routed:
    """The outcome of the cheap tiers for one prompt (no side effects yet)."""

    task_type: str
    complexity: Complexity
    context_hash: str
    normalised: str
    prompt_sha: bytes
    sig: Signature
    rule: Rule | None = None
    hit: _cache.CacheHit | None = None
    vector: np.ndarray | None = None
    rejected: Refusal | None = None
    notes: list[str] = field(default_factory=list)


async def _router(core: Core) -> _Router:
    async def build(core: Core) -> _Router:
        router = _Router(RuleBook(), LLMClient(core.settings))
        core.on_close(router.llm.aclose)
        return router

    return await core.service("agent.router", build)


def context_hash(context: str | None, path: Path | None = None) -> str:
    """'' without context; answers given code from `path` are cached apart from the same prompt without."""
    if not context and path is None:
        return ""
    key = (context or "") + (f"\0path:{path}" if path is not None else "")
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _check(prompt: str, task_type: str, complexity: str, context: str | None) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidInput("prompt is empty: pass the question or instruction to answer")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidInput(
            f"prompt has {len(prompt):,} characters (limit {MAX_PROMPT_CHARS:,}): shorten it or move "
            "material into `context`"
        )
    check_text("prompt", prompt)
    if context is not None:
        check_text("context", context, MAX_CONTEXT_CHARS)
    task_type = (task_type or "general").strip().lower()
    if not _TASK_TYPE.match(task_type):
        raise InvalidInput(
            f"task_type {quoted(task_type)} is not a name (letters, digits, _ or -, up to 40): "
            "use e.g. general, coder, architect, refactoring, reviewer, debugger, classifier"
        )
    if complexity != "auto" and complexity not in COMPLEXITIES:
        raise InvalidInput(f"complexity {quoted(complexity)} is not auto, simple, medium or complex")
    return task_type


def _threshold(core: Core, task_type: str) -> float:
    settings = core.settings
    return settings.agent_cache_thresholds.get(task_type, settings.agent_cache_threshold)


async def _embed(core: Core, pool: AsyncConnectionPool, text: str) -> np.ndarray:
    from singularity_mcp.embedding import embed_cached

    embedder = await core.embedder()
    return (await embed_cached(pool, embedder, [text]))[0]


async def _cheap_tiers(
    core: Core, router: _Router, pool: AsyncConnectionPool, prompt: str, task_type: str, complexity: str,
    context: str | None, path: Path | None = None,
) -> _Routed:  # fmt: skip
    level: Complexity = decide_complexity(task_type, prompt, context) if complexity == "auto" else complexity  # type: ignore[assignment]
    normalised = normalise(prompt) or prompt.strip().lower()
    routed = _Routed(
        task_type=task_type,
        complexity=level,
        context_hash=context_hash(context, path),
        normalised=normalised,
        prompt_sha=hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).digest(),
        sig=signature(prompt),
    )
    if router.rules.stale:
        await router.rules.refresh(core, pool)
    routed.rule = router.rules.match(prompt, task_type, routed.context_hash)
    if routed.rule is not None:
        return routed
    routed.hit = await _cache.find_exact(pool, task_type, routed.context_hash, routed.prompt_sha, routed.sig)
    if routed.hit is not None:
        return routed
    try:
        routed.vector = await _embed(core, pool, normalised)
    except Exception as exc:  # no model (offline, first build failed): the cache tier is skipped
        logger.warning("semantic cache skipped: %s", exc)
        routed.notes.append(f"semantic cache skipped: {exc}")
        return routed
    lookup = await _cache.find_similar(
        pool, routed.vector, task_type, routed.context_hash, prompt, _threshold(core, task_type)
    )
    routed.hit, routed.rejected = lookup.hit, lookup.rejected
    if lookup.hit is None and lookup.rejected is not None:
        routed.notes.append(f"a cached answer to a similar prompt was not served ({lookup.rejected})")
    return routed


async def _code_hits(
    core: Core, pool: AsyncConnectionPool, prompt: str, path: Path
) -> tuple[list[CodeRef], str | None]:
    """The indexed code under `path` most relevant to the prompt, or a note why there is none."""
    from singularity_mcp.search import MAX_QUERY_CHARS, search_code

    try:
        result = await search_code(
            pool, core.embedder, prompt[:MAX_QUERY_CHARS], path=path, top_k=_CODE_HITS,
            allowed=allowed_roots(core.settings),
        )  # fmt: skip
    except NotIndexed as exc:
        return [], str(exc)
    except Exception as exc:  # code context is a bonus: never fail the answer for it
        logger.warning("code search for ask_agent failed: %s", exc)
        return [], f"code search failed: {exc}"
    refs = []
    for hit in result.results:
        if hit.kind == "code":
            refs.append(CodeRef(path=hit.path, start_line=hit.start_line, end_line=hit.end_line,
                                symbol=hit.symbol, score=hit.score))  # fmt: skip
    return refs, None


def _code_text(code: list[CodeRef], root: Path | None, roots: AllowedRoots) -> str:
    """The hits' lines, read only where the file's real path lies inside `root` and the allowed roots."""
    blocks = []
    for ref in code:
        try:
            read = read_file(ref.path, max_bytes=_CODE_FILE_BYTES, roots=roots, within=root)
        except InvalidInput as exc:
            logger.info("code context for ask_agent skipped: %s", exc)
            continue
        lines = read.data.decode("utf-8", errors="replace").splitlines()
        body = "\n".join(lines[ref.start_line - 1 : ref.end_line])[:_CODE_CHARS]
        blocks.append(f"# {ref.path}:{ref.start_line}-{ref.end_line}\n{body}")
    return "\n\n".join(blocks)


async def _llm_request(
    core: Core,
    routed: _Routed,
    prompt: str,
    context: str | None,
    hits: list[KnowledgeRef],
    code: list[CodeRef] | None = None,
    code_root: Path | None = None,
) -> LLMRequest:
    found = await _knowledge.system_prompt(core, routed.task_type)
    system = found[0] if found else _DEFAULT_SYSTEM
    used = hits[:_CONTEXT_ARTIFACTS]
    parts = []
    if used:
        lines = [f"[{h.artifact_id}] {h.title or ''}: {h.snippet or ''}".strip() for h in used]
        parts.append("<knowledge>\n" + "\n\n".join(lines) + "\n</knowledge>")
    code_text = await anyio.to_thread.run_sync(
        _code_text, code or [], code_root, allowed_roots(core.settings)
    )
    if code_text:
        parts.append("<code>\n" + code_text + "\n</code>")
    if context:
        parts.append("<context>\n" + context + "\n</context>")
    parts.append(prompt)
    return LLMRequest(
        system=system,
        prompt="\n\n".join(parts),
        max_tokens=MAX_TOKENS[routed.complexity],
        complexity=routed.complexity,
        model=model_for(core.settings, routed.complexity),
        artifacts=tuple(used),
        code=tuple(code or ()),
    )


Tier = Literal["rule", "cache", "llm", "sampling", "none"]


@dataclass
class Decision:
    """Which tier answers a prompt, and what it needs: made once by `decide`, for `ask` and the MCP tool."""

    tier: Tier
    routed: _Routed
    request: LLMRequest | None = None
    """What the llm / sampling tier sends."""
    sample_on_failure: bool = False
    """Tier llm: when every model is overloaded or unreachable, ask the client's model instead."""
    hits: list[KnowledgeRef] = field(default_factory=list)
    code: list[CodeRef] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    """When deciding began (`perf_counter`): an answer's latency counts from here."""


async def decide(
    core: Core,
    prompt: str,
    *,
    task_type: str = "general",
    complexity: str = "auto",
    context: str | None = None,
    use_llm: bool = True,
    can_sample: bool = False,
    path: str | None = None,
    llm: LLMClient | None = None,
) -> Decision:
    """The tier decision: a rule, else the cache, else the API (with a key), else the client's model
    (`can_sample`), else `none`. Read-only: nothing is logged or cached. Raises for bad input."""
    started = time.perf_counter()
    task_type = _check(prompt, task_type, complexity, context)
    root = resolve_allowed(path, core.settings) if path else None
    router = await _router(core)
    llm = llm or router.llm
    pool = (await core.database()).pool
    routed = await _cheap_tiers(core, router, pool, prompt, task_type, complexity, context, root)
    if routed.rule is not None:
        return Decision("rule", routed, started=started)
    if routed.hit is not None:
        return Decision("cache", routed, started=started)
    hits = await _knowledge.search(core, prompt, _NONE_ARTIFACTS)
    decision = Decision("none", routed, hits=hits, started=started)
    decision.notes = list(routed.notes)
    if root is not None:
        decision.code, code_note = await _code_hits(core, pool, prompt, root)
        if code_note:
            decision.notes.append(code_note)
    if not use_llm:
        decision.notes.append("use_llm is false: only rules and the cache were consulted")
    elif llm.configured or can_sample:
        decision.tier = "llm" if llm.configured else "sampling"
        decision.sample_on_failure = llm.configured and can_sample
        decision.request = await _llm_request(
            core, routed, prompt, context, decision.hits, decision.code, root
        )
    else:
        decision.notes.append("no Anthropic API key and the client does not support sampling")
    return decision


@dataclass(frozen=True)
class ApiOutcome:
    """What the Anthropic API tier produced: a completion, or the models that failed and why."""

    completion: Completion | None
    failures: tuple[tuple[str, str], ...] = ()
    note: str | None = None


async def call_api(core: Core, request: LLMRequest, llm: LLMClient | None = None) -> ApiOutcome:
    """Ask the API (the model chain, with fallback between models); never raises for an API failure.

    `llm` replaces the configured client (tests, benchmarks).
    """
    llm = llm or (await _router(core)).llm
    try:
        completion = await llm.complete(
            request.system, request.prompt, complexity=request.complexity, max_tokens=request.max_tokens
        )
    except LLMUnavailable as exc:
        return ApiOutcome(None, tuple(exc.attempts), str(exc))
    except SingularityError as exc:
        return ApiOutcome(None, (), str(exc))
    return ApiOutcome(completion, tuple(completion.attempts))


def _estimated_llm_cost(core: Core, complexity: str, prompt: str, answer: str) -> float:
    """What the LLM would have charged for this prompt (about 4 characters a token, plus the system)."""
    input_tokens = (len(prompt) + len(_DEFAULT_SYSTEM)) // 4 + 300
    output_tokens = len(answer) // 4 + 1
    return cost_usd(
        core.settings.agent_prices, model_for(core.settings, complexity), input_tokens, output_tokens
    )


async def ask(
    core: Core,
    prompt: str,
    *,
    task_type: str = "general",
    complexity: str = "auto",
    context: str | None = None,
    use_llm: bool = True,
    sampler: Sampler | None = None,
    llm: LLMClient | None = None,
    path: str | None = None,
    decision: Decision | None = None,
    api: ApiOutcome | None = None,
) -> AgentAnswer:
    """Answer from the cheapest tier that can: a rule, the semantic cache, the LLM, the client's model.

    Without a key and without a `sampler` (or with `use_llm=False`) the answer has source `none` and
    lists the best knowledge hits. `sampler` reaches the MCP client's model (also when every API model
    is overloaded); `llm` replaces the configured client (tests, benchmarks). `path` (an indexed folder)
    adds its most relevant code as context. `decision` and `api` are what `decide` and `call_api`
    already returned for this prompt (the MCP tool gets them before the body runs). Raises only for bad
    input or an unreachable database.
    """
    router = await _router(core)
    llm = llm or router.llm
    if decision is None:
        decision = await decide(core, prompt, task_type=task_type, complexity=complexity, context=context,
                                use_llm=use_llm, can_sample=sampler is not None, path=path, llm=llm)  # fmt: skip
    routed, started = decision.routed, decision.started
    pool = (await core.database()).pool
    answer_id = str(uuid.uuid4())
    base: dict[str, Any] = {
        "complexity": routed.complexity,
        "task_type": routed.task_type,
        "answer_id": answer_id,
    }
    refused = str(routed.rejected) if routed.rejected is not None else None

    if decision.tier == "rule":
        rule = routed.rule
        assert rule is not None
        result = AgentAnswer(
            answer=rule.answer, source="rule", confidence=rule.confidence, rule_id=rule.rule_id,
            latency_ms=_ms(started), **base,
        )  # fmt: skip
        saved = _estimated_llm_cost(core, routed.complexity, prompt, rule.answer)
        ids = [rule.artifact_id] if rule.artifact_id and not rule.learned else []
        await _log(pool, result, routed, saved_usd=saved, artifact_ids=ids)
        if rule.learned:
            await _bump_rule_use(pool, rule.rule_id)
        await _knowledge.record_usage(core, ids)
        return result

    if decision.tier == "cache":
        hit = routed.hit
        assert hit is not None
        result = AgentAnswer(
            answer=hit.answer, source="cache", similarity=hit.similarity, model=hit.model,
            latency_ms=_ms(started), cache_refused=refused, **base,
        )  # fmt: skip
        if hit.input_tokens and hit.model:
            saved = cost_usd(core.settings.agent_prices, hit.model, hit.input_tokens, hit.output_tokens)
        else:
            saved = _estimated_llm_cost(core, routed.complexity, prompt, hit.answer)
        await _log(pool, result, routed, saved_usd=saved, cache_id=hit.cache_id)
        return result

    hits, code, notes = decision.hits, decision.code, list(decision.notes)
    request = decision.request
    completion: Completion | None = None
    provider = None
    failures: list[tuple[str, str]] = []
    if decision.tier == "llm" and request is not None:
        if api is None:
            api = await call_api(core, request, llm)
        completion, failures = api.completion, list(api.failures)
        provider = "llm" if completion is not None else None
        if api.note:
            notes.append(api.note)
    if completion is None and request is not None and sampler is not None:
        if decision.tier == "llm":
            notes.append("fell back to the client's model (MCP sampling)")
        try:
            completion = await sampler(request)
            provider = "sampling"
        except Exception as exc:  # the client refused or failed: answer from knowledge instead
            logger.info("sampling failed: %s", exc)
            notes.append(f"sampling failed: {exc}")

    if completion is None or provider is None or not completion.text.strip():
        if completion is not None:
            notes.append("the model returned an empty answer")
        result = AgentAnswer(
            answer=_knowledge_answer(hits, code), source="none", latency_ms=_ms(started), artifacts=hits,
            code=code, note=" ".join(notes) or None, cache_refused=refused, **base,
        )  # fmt: skip
        await _log(pool, result, routed, failures=failures)
        return result

    assert request is not None
    result = AgentAnswer(
        answer=completion.text,
        source=provider,
        model=completion.model,
        usage=Usage(input_tokens=completion.input_tokens, output_tokens=completion.output_tokens),
        cost_usd=completion.cost_usd,
        latency_ms=_ms(started),
        artifacts=list(request.artifacts),
        code=list(request.code),
        note=" ".join(notes) or None,
        cache_refused=refused,
        **base,
    )
    cache_id = None
    if routed.vector is not None:
        cache_id = await _cache.store(
            pool, core.settings, task_type=routed.task_type, context_hash=routed.context_hash,
            prompt_sha=routed.prompt_sha, prompt=prompt, vector=routed.vector, sig=routed.sig,
            answer=completion.text, source=provider, model=completion.model, complexity=routed.complexity,
            input_tokens=completion.input_tokens, output_tokens=completion.output_tokens,
            cost_usd=completion.cost_usd,
        )  # fmt: skip
    ids = [a.artifact_id for a in request.artifacts]
    await _log(
        pool, result, routed, cache_id=cache_id, artifact_ids=ids, failures=failures,
        completion=completion, provider=provider,
    )  # fmt: skip
    await _knowledge.record_usage(core, ids)
    return result


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _knowledge_answer(hits: list[KnowledgeRef], code: list[CodeRef] | None = None) -> str:
    if not hits and not code:
        return "No rule, cached answer or knowledge artifact matches this prompt. " + _ENABLE_HINT
    lines = ["No rule or cached answer matches; the closest code and knowledge artifacts:"]
    for ref in code or []:
        lines.append(
            f"- {ref.path}:{ref.start_line}-{ref.end_line}" + (f" ({ref.symbol})" if ref.symbol else "")
        )
    for hit in hits:
        snippet = (hit.snippet or "").strip().replace("\n", " ")
        if len(snippet) > 240:
            snippet = snippet[:239] + "…"
        lines.append(f"- {hit.title or hit.artifact_id} ({hit.uri or hit.artifact_id}): {snippet}")
    lines.append(_ENABLE_HINT)
    return "\n".join(lines)


async def _log(
    pool: AsyncConnectionPool,
    result: AgentAnswer,
    routed: _Routed,
    *,
    saved_usd: float = 0.0,
    cache_id: int | None = None,
    artifact_ids: list[str] | None = None,
    failures: list[tuple[str, str]] | None = None,
    completion: Completion | None = None,
    provider: str | None = None,
) -> None:
    """One row per answer, one per LLM attempt; the cache hit counted, in one transaction."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO agent_answers (answer_id, task_type, complexity, source, latency_ms, model, "
            "input_tokens, output_tokens, cost_usd, saved_usd, similarity, cache_id, rule_id, "
            "guard_rejected, artifact_ids) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                result.answer_id, result.task_type, result.complexity, result.source, result.latency_ms,
                result.model, result.usage.input_tokens, result.usage.output_tokens, result.cost_usd,
                saved_usd, result.similarity, cache_id, result.rule_id, result.cache_refused, artifact_ids or [],
            ),
        )  # fmt: skip
        if result.source == "cache" and cache_id is not None:
            await _cache.mark_hit(conn, cache_id)
        rows: list[tuple[str, str, str, bool, str | None, int, int, float, float | None]] = [
            (result.answer_id, "anthropic", model, False, error, 0, 0, 0.0, None)
            for model, error in failures or []
        ]
        if completion is not None and provider is not None:
            rows.append((
                result.answer_id, "anthropic" if provider == "llm" else "sampling", completion.model, True, None,
                completion.input_tokens, completion.output_tokens, completion.cost_usd, completion.latency_ms,
            ))  # fmt: skip
        if rows:
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO agent_llm_calls (answer_id, provider, model, ok, error, input_tokens, "
                    "output_tokens, cost_usd, latency_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )


async def _bump_rule_use(pool: AsyncConnectionPool, rule_id: str) -> None:
    async with pool.connection() as conn:
        await conn.execute("UPDATE agent_rules SET uses = uses + 1 WHERE rule_id = %s", (rule_id,))


# --- feedback ---------------------------------------------------------------------------------------


async def record_answer_feedback(core: Core, answer_id: str, success: bool) -> dict[str, Any]:
    """Feedback on an answer: positive strengthens its cache entry (and, confirmed `agent_learn_after`
    times, turns it into a learned rule), negative evicts the entry or weakens the learned rule.

    Returns the updated figures plus `artifact_ids` the answer used (for knowledge feedback).
    """
    try:
        key = str(uuid.UUID(str(answer_id)))
    except ValueError:
        raise InvalidInput(
            f"answer_id {answer_id!r} is not an answer id: pass the answer_id ask_agent returned"
        ) from None
    settings = core.settings
    router = await _router(core)
    pool = (await core.database()).pool
    learned: dict[str, Any] | None = None
    result: dict[str, Any] = {"answer_id": key, "success": bool(success)}
    async with pool.connection() as conn, conn.transaction():
        cursor = await conn.execute(
            "SELECT source, cache_id, rule_id, artifact_ids FROM agent_answers "
            "WHERE answer_id = %s FOR UPDATE",
            (key,),
        )
        row = await cursor.fetchone()
        if row is None:
            raise NotFound(
                f"no answer {key}: answer ids come from ask_agent (they are kept with the router log)"
            )
        source, cache_id, rule_id, artifact_ids = row
        result.update(source=source, artifact_ids=list(artifact_ids or []))
        await conn.execute("UPDATE agent_answers SET feedback = %s WHERE answer_id = %s", (success, key))
        if cache_id is not None:
            if success:
                cursor = await conn.execute(
                    "UPDATE agent_cache SET confirmations = confirmations + 1, last_used_at = now(), "
                    "expires_at = greatest(expires_at, now() + make_interval(secs => %s)) WHERE cache_id = %s "
                    "RETURNING confirmations, task_type, context_hash, prompt, answer",
                    (settings.agent_cache_ttl_s, cache_id),
                )
                entry = await cursor.fetchone()
                if entry is None:
                    result["cache"] = {"cache_id": cache_id, "evicted": True, "note": "already evicted"}
                else:
                    confirmations, entry_task, entry_context, prompt, answer = entry
                    result["cache"] = {"cache_id": cache_id, "confirmations": confirmations, "evicted": False}
                    if confirmations >= settings.agent_learn_after:
                        learned = await _learn_rule(
                            conn,
                            cache_id,
                            entry_task,
                            entry_context,
                            prompt,
                            answer,
                            confirmations - settings.agent_learn_after,
                        )
                        if learned is not None:
                            result["learned_rule_id"] = learned["rule_id"]
            else:
                cursor = await conn.execute(
                    "DELETE FROM agent_cache WHERE cache_id = %s RETURNING 1", (cache_id,)
                )
                result["cache"] = {"cache_id": cache_id, "evicted": (await cursor.fetchone()) is not None}
        if rule_id is not None:
            cursor = await conn.execute(
                "UPDATE agent_rules SET successes = successes + %s, failures = failures + %s, "
                "confidence = least(0.99, greatest(0, confidence + %s)) WHERE rule_id = %s "
                "RETURNING confidence",
                (int(success), int(not success), 0.01 if success else -0.05, rule_id),
            )
            updated = await cursor.fetchone()
            if updated is not None:
                result["rule"] = {
                    "rule_id": rule_id,
                    "learned": True,
                    "confidence": round(updated[0], 4),
                    "active": updated[0] >= MIN_CONFIDENCE,
                }
                router.rules.invalidate()
            else:
                result["rule"] = {
                    "rule_id": rule_id,
                    "learned": False,
                    "note": "a knowledge-base rule: its figures move with the artifact's feedback",
                }
    if learned is not None:
        router.rules.invalidate()
        if not learned["context_hash"]:
            artifact_id = await _knowledge.save_learned_rule(core, _learned_artifact(learned))
            if artifact_id:
                async with pool.connection() as conn:
                    await conn.execute(
                        "UPDATE agent_rules SET artifact_id = %s WHERE rule_id = %s",
                        (artifact_id, learned["rule_id"]),
                    )
    return result


async def _learn_rule(
    conn: Any, cache_id: int, task_type: str, context: str, prompt: str, answer: str, extra: int
) -> dict[str, Any] | None:
    """Promote a confirmed cache entry to a learned rule (once); return it, or None when it exists."""
    rule_id = (
        "learned-" + hashlib.sha256(f"{task_type}\0{context}\0{normalise(prompt)}".encode()).hexdigest()[:12]
    )
    confidence = min(0.95, MIN_CONFIDENCE + 0.01 * extra)
    pattern = learned_pattern(prompt)
    cursor = await conn.execute(
        "INSERT INTO agent_rules (rule_id, task_type, context_hash, pattern, prompt, answer, confidence, "
        "source_cache_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (rule_id) DO NOTHING RETURNING 1",
        (rule_id, task_type, context, pattern, prompt, answer, confidence, cache_id),
    )
    if await cursor.fetchone() is None:
        return None
    return {"rule_id": rule_id, "task_type": task_type, "context_hash": context, "pattern": pattern,
            "prompt": prompt, "answer": answer, "confidence": confidence}  # fmt: skip


def _learned_artifact(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "artifact_id": rule["rule_id"],
        "artifact_type": "rule",
        "version": "1",
        "title": "Learned: " + rule["prompt"][:80],
        "summary": "An ask_agent answer confirmed by feedback; review before promoting.",
        "tags": ["learned", rule["task_type"]],
        "content": {
            "task_types": [rule["task_type"]],
            "triggers": {"patterns": [rule["pattern"]], "keywords": []},
            "answer": rule["answer"],
            "confidence": rule["confidence"],
        },
    }
