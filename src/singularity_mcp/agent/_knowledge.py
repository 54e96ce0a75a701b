"""What the router takes from the knowledge base: rules, system prompts, context, usage, learned rules.

The knowledge package is optional at run time: when it is missing or fails, the router works on with
its own learned rules and built-in prompts (logged once).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from singularity_mcp.agent.models import KnowledgeRef

if TYPE_CHECKING:
    from singularity_mcp.core import Core

logger = logging.getLogger(__name__)
_warned: set[str] = set()


def _warn_once(what: str, exc: BaseException) -> None:
    if what not in _warned:
        _warned.add(what)
        logger.warning("knowledge base %s unavailable to the agent router: %s", what, exc)


def field(obj: Any, name: str, default: Any = None) -> Any:
    """Read `name` from a pydantic model, a dataclass or a dict."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def as_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    return dict(vars(obj))


async def artifacts(core: Core, artifact_type: str) -> list[Any]:
    """Artifacts of one type: the database's (imported and learned) over the files' (not imported yet)."""
    found: dict[str, Any] = {}
    try:
        from singularity_mcp.knowledge import load_artifact_files

        folder = getattr(core.settings, "knowledge_dir", None)
        for artifact in load_artifact_files(folder) if folder else load_artifact_files():
            if field(artifact, "artifact_type") == artifact_type:
                found[str(field(artifact, "artifact_id"))] = artifact
    except Exception as exc:
        _warn_once("load_artifact_files", exc)
    try:
        from singularity_mcp.knowledge import list_artifacts

        for artifact in await list_artifacts(core, artifact_type=artifact_type):
            found[str(field(artifact, "artifact_id"))] = artifact
    except Exception as exc:
        _warn_once(f"list_artifacts({artifact_type})", exc)
    return list(found.values())


async def system_prompt(core: Core, task_type: str) -> tuple[str, str] | None:
    """(prompt, artifact_id) of the task type's system_prompt artifact, else the general one."""
    prompts = await artifacts(core, "system_prompt")
    by_type: dict[str, tuple[str, str]] = {}
    for artifact in prompts:
        content = as_dict(field(artifact, "content"))
        text = content.get("prompt")
        if text:
            by_type.setdefault(
                str(content.get("task_type", "")), (str(text), str(field(artifact, "artifact_id")))
            )
    return by_type.get(task_type) or by_type.get("general")


async def search(core: Core, query: str, top_k: int) -> list[KnowledgeRef]:
    try:
        from singularity_mcp.knowledge import search_knowledge

        hits = await search_knowledge(core, query, top_k=top_k)
    except Exception as exc:
        _warn_once("search_knowledge", exc)
        return []
    hits = field(hits, "results", hits) or []
    refs = []
    for hit in hits:
        artifact_id = field(hit, "artifact_id")
        if artifact_id is None:
            continue
        score = field(hit, "score")
        refs.append(
            KnowledgeRef(
                artifact_id=str(artifact_id),
                artifact_type=field(hit, "artifact_type"),
                title=field(hit, "title"),
                score=round(float(score), 4) if score is not None else None,
                snippet=field(hit, "snippet") or field(hit, "summary"),
                uri=field(hit, "uri"),
            )
        )
    return refs


async def record_usage(core: Core, artifact_ids: list[str]) -> None:
    if not artifact_ids:
        return
    try:
        from singularity_mcp.knowledge import record_usage as record

        await record(core, artifact_ids)
    except Exception as exc:
        _warn_once("record_usage", exc)


async def save_learned_rule(core: Core, artifact: dict[str, Any]) -> str | None:
    """Hand a learned rule to the knowledge base (exported for review); return its artifact id."""
    try:
        from singularity_mcp.knowledge import parse_artifact, save_learned_artifact

        saved = await save_learned_artifact(core, parse_artifact(artifact))
    except Exception as exc:
        _warn_once("save_learned_artifact", exc)
        return None
    return str(field(saved, "artifact_id", artifact["artifact_id"]))
