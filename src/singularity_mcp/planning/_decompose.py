"""Decomposition, cheapest first: the caller's subtasks, a matching template, the LLM, the best template."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from singularity_mcp.errors import InvalidInput, NotConfigured, Unavailable
from singularity_mcp.planning._llm import Completer, DecompositionRefused, decompose_with_llm
from singularity_mcp.planning._templates import (
    Embed,
    Template,
    instantiate,
    rank_templates,
    template_confidence,
)
from singularity_mcp.planning.models import DecomposeMethod, SubtaskSpec

logger = logging.getLogger(__name__)

LLM_CONFIDENCE = 0.75
EXPLICIT_CONFIDENCE = 0.9


@dataclass
class Decomposition:
    """Subtasks for a goal and where they came from."""

    specs: list[SubtaskSpec]
    source: str
    """explicit, template:<artifact_id>, or llm:<model>."""
    artifacts: list[str] = field(default_factory=list)
    confidence: float = 0.8
    notes: list[str] = field(default_factory=list)


TemplateSource = Callable[[], Awaitable[Sequence[Template]]]


class Decomposer:
    """Chooses and runs a decomposition method. `llm` may be None (offline); `embed` too (keywords only)."""

    def __init__(
        self,
        templates: TemplateSource,
        *,
        llm: Completer | None = None,
        embed: Embed | None = None,
        llm_label: str = "llm",
    ) -> None:
        self._templates = templates
        self._llm = llm
        self._embed = embed
        self._llm_label = llm_label  # llm (the API) or sampling (the MCP client's model), in `source`

    async def decompose(
        self,
        goal: str,
        context: str | None = None,
        *,
        method: DecomposeMethod = "auto",
        subtasks: Sequence[SubtaskSpec] | None = None,
        count_hint: int | None = None,
        parent: str | None = None,
        require_fit: bool = False,
    ) -> Decomposition:
        """Explicit `subtasks` win; `auto` takes a well-matching template, else the LLM when configured,
        else the best template (or, with `require_fit`, refuses); `template` / `llm` force one (an
        unusable LLM answer is refused)."""
        if subtasks:
            return Decomposition(list(subtasks), "explicit", confidence=EXPLICIT_CONFIDENCE)
        match_text = goal if not context else f"{goal}\n{context[:500]}"
        matches = await rank_templates(match_text, await self._templates(), self._embed)
        if method == "template" or (
            method == "auto" and ((matches and matches[0].good) or self._llm is None)
        ):
            if not matches:
                raise NotConfigured("no decomposition templates are available: check the knowledge base")
            best = matches[0]
            if require_fit and method == "auto" and not best.good:
                raise InvalidInput(
                    f"no decomposition template fits {goal[:120]!r} (closest: {best.template.artifact_id}) and no "
                    "LLM is configured: pass subtasks=[{title, ...}, ...], or decomposer='template' to use "
                    "the closest template anyway",
                    cli=f"no decomposition template fits {goal[:120]!r} (closest: "
                    f"{best.template.artifact_id}) and no LLM is configured: add --decomposer template to use "
                    "the closest template anyway, or set ANTHROPIC_API_KEY",
                )
            notes = [
                f"template {best.template.artifact_id} (score {best.score:.2f}"
                + (f", keywords: {', '.join(best.matched)}" if best.matched else "")
                + ")"
            ]
            if not best.good:
                notes.append(
                    "no template fits this goal well; pass subtasks or configure an LLM for a closer fit"
                )
            confidence = template_confidence(best)
            return Decomposition(
                instantiate(best.template, goal, confidence=confidence),
                f"template:{best.template.artifact_id}",
                artifacts=[best.template.artifact_id]
                if best.template.artifact_id != "builtin-generic"
                else [],
                confidence=confidence,
                notes=notes,
            )
        if self._llm is None:
            raise NotConfigured(
                "LLM decomposition needs an Anthropic API key (ANTHROPIC_API_KEY); "
                "use decomposer='template' or pass subtasks",
                cli="LLM decomposition needs an Anthropic API key (ANTHROPIC_API_KEY); "
                "use --decomposer template",
            )
        try:
            specs, model, repairs = await decompose_with_llm(
                self._llm, goal, context, count_hint=count_hint, parent=parent
            )
        except DecompositionRefused as exc:
            if method == "llm" or not matches:
                raise Unavailable(
                    f"the LLM's decomposition was unusable twice ({exc}); retry, use decomposer='template', "
                    "or pass subtasks",
                    cli=f"the LLM's decomposition was unusable twice ({exc}); retry, or use "
                    "--decomposer template",
                ) from exc
            logger.warning("LLM decomposition refused (%s); using the best template", exc)
            fallback = await self.decompose(goal, context, method="template")
            fallback.notes.insert(0, f"LLM answer refused ({exc}); fell back to a template")
            return fallback
        except (Unavailable, NotConfigured) as exc:
            if method == "llm" or not matches:
                raise
            fallback = await self.decompose(goal, context, method="template")
            fallback.notes.insert(0, f"LLM unavailable ({exc}); fell back to a template")
            return fallback
        for spec in specs:
            spec.confidence = LLM_CONFIDENCE
        notes = [f"{self._llm_label} {model}"] + ([f"repaired: {'; '.join(repairs)}"] if repairs else [])
        return Decomposition(specs, f"{self._llm_label}:{model}", confidence=LLM_CONFIDENCE, notes=notes)

    async def fits_a_template(self, goal: str, context: str | None = None) -> bool:
        """Whether `auto` would take a template for this goal (no LLM needed)."""
        match_text = goal if not context else f"{goal}\n{context[:500]}"
        matches = await rank_templates(match_text, await self._templates(), self._embed)
        return bool(matches) and matches[0].good


def check_goal(goal: str | None) -> str:
    if goal is None or not goal.strip():
        raise InvalidInput("goal is empty: describe what the plan should achieve, e.g. 'add OAuth login'")
    goal = goal.strip()
    if len(goal) > 2000:
        raise InvalidInput(
            "goal is longer than 2000 characters: state it briefly and pass details as context"
        )
    return goal
