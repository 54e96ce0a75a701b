"""Where a running process's planner gets its parts: the knowledge base's templates (curated and learned),
embeddings once the model is built, and an LLM (the API with a key, else what the client's model
sampled). Used by the MCP tool and the CLI alike."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from singularity_mcp.planning._decompose import Decomposer
from singularity_mcp.planning._llm import Completer

if TYPE_CHECKING:
    from singularity_mcp.core import Core

logger = logging.getLogger(__name__)


async def planning_decomposer(core: Core, sampled: Completer | None = None) -> Decomposer:
    """A `Decomposer` on the knowledge base's templates, embeddings when built, and an LLM: the API when a
    key is set, else `sampled` (the answer the client's model gave through MCP sampling), if any."""

    async def templates() -> list[Any]:
        return await _templates(core)

    embed = await _embed_if_built(core)
    from singularity_mcp.agent import llm_configured

    if llm_configured(core.settings):
        return Decomposer(templates, llm=await core.service("planning.llm", _llm_client), embed=embed)
    if sampled is not None:
        return Decomposer(templates, llm=sampled, embed=embed, llm_label="sampling")
    return Decomposer(templates, embed=embed)


async def _llm_client(core: Core) -> Any:
    from singularity_mcp.agent import LLMClient

    client = LLMClient(core.settings)
    core.on_close(client.aclose)
    return client


class _EmbeddingSlot:
    embed: Any = None


async def _embed_if_built(core: Core) -> Any:
    """Blend embedding similarity into template matching only once the model is built: planning must not
    wait for a first-use model build (keywords alone still pick the template)."""

    async def new_slot(_: Core) -> _EmbeddingSlot:
        return _EmbeddingSlot()

    slot: _EmbeddingSlot = await core.service("planning.embedding", new_slot)
    if slot.embed is None:
        try:
            from singularity_mcp.embedding import model_status

            if model_status(core.settings)["built"]:
                from singularity_mcp.planning import memoize_embed

                slot.embed = memoize_embed((await core.embedder()).embed)
        except Exception as exc:
            logger.info("planning: template matching without embeddings (%s)", exc)
    return slot.embed


async def _templates(core: Core) -> list[Any]:
    """Curated templates from the files (always there, offline) plus learned ones from the database."""
    from singularity_mcp.planning import GENERIC_TEMPLATE, Template

    curated: list[Template] = await core.service("planning.templates", _curated_templates)
    found = {t.artifact_id: t for t in curated}
    try:
        from singularity_mcp.knowledge import list_artifacts

        for artifact in await list_artifacts(core, "decomposition_template"):
            found.setdefault(artifact.artifact_id, Template.from_artifact(artifact))
    except Exception as exc:  # the knowledge tables may not be imported yet
        logger.debug("planning: no learned templates from the database (%s)", exc)
    return list(found.values()) or [GENERIC_TEMPLATE]


async def _curated_templates(core: Core) -> list[Any]:
    """Read once per process (the server re-imports the knowledge base at start, so does this)."""
    import anyio

    from singularity_mcp.planning import Template

    try:
        from singularity_mcp.knowledge import validate_folder

        files, problems = await anyio.to_thread.run_sync(validate_folder)
    except Exception as exc:
        logger.warning("planning: cannot read the knowledge base templates (%s); using the built-in one", exc)
        return []
    if problems:  # one broken artifact must not take the good templates down with it
        logger.warning("planning: %d knowledge base problem(s), e.g. %s", len(problems), problems[0])
    return [
        Template.from_artifact(f.artifact)
        for f in files
        if f.artifact.artifact_type == "decomposition_template"
    ]


async def record_template_usage(core: Core, artifact_ids: list[str]) -> None:
    from singularity_mcp.knowledge import record_usage

    await record_usage(core, artifact_ids)
