"""MCP face of the knowledge base: artifact resources (with completion), workflow prompts, `record_feedback`.

At start the server imports changed knowledge files in the background and keeps watching the folder;
after an import that changed something, clients get `notifications/resources/list_changed`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp_types import (
    Completion,
    ListResourcesResult,
    PaginatedRequestParams,
    ResourceTemplateReference,
)
from mcp_types import Resource as MCPResource
from pydantic import Field

from singularity_mcp.errors import InvalidInput, NotConfigured, NotFound, SingularityError
from singularity_mcp.knowledge.models import ARTIFACT_TYPES, FeedbackResult
from singularity_mcp.tools._common import hints, tool_errors
from singularity_mcp.tools._sdk_seams import (
    Handler,
    lowlevel,
    session_connection,
    subscription_bus,
    wrap_request_handler,
)

if TYPE_CHECKING:
    from singularity_mcp.core import Core

logger = logging.getLogger(__name__)

ARTIFACT_TEMPLATE = "knowledge://{artifact_type}/{artifact_id}"
_LIST_WAIT_S = 5.0
_MAX_COMPLETIONS = 100


class _Listeners:
    """Clients to tell when the artifact list changes: connections seen listing resources (handshake-era
    sessions), plus the SDK's subscription bus (2026-07-28 `subscriptions/listen` streams)."""

    def __init__(self, server: MCPServer) -> None:
        self._server = server
        # A ServerSession is a per-request proxy; the connection behind it lives as long as the client.
        self._connections: weakref.WeakKeyDictionary[Any, None] = weakref.WeakKeyDictionary()

    def remember(self, session: Any) -> None:
        connection = session_connection(session)
        if connection is not None:
            with contextlib.suppress(TypeError):  # not weak-referenceable: skip rather than keep it alive
                self._connections[connection] = None

    async def resources_changed(self) -> None:
        bus = subscription_bus(self._server)
        if bus is not None:
            from mcp.server.subscriptions import ResourcesListChanged

            await bus.publish(ResourcesListChanged())
        for connection in list(self._connections):
            try:
                await connection.outbound.notify("notifications/resources/list_changed", None)
            except Exception:  # the client went away: forget it
                self._connections.pop(connection, None)


def _knowledge_folder(core: Core) -> Path:
    from singularity_mcp.knowledge import knowledge_folder

    return knowledge_folder(core.settings)


async def _summaries(core: Core) -> list[Any]:
    """Artifact summaries from the database (with usage), or from the files while it is not ready."""
    from singularity_mcp.knowledge import curated_summaries, list_summaries

    try:
        with anyio.fail_after(_LIST_WAIT_S):
            found = await list_summaries(core)
        if found:
            return found
    except (SingularityError, TimeoutError) as exc:
        logger.info("knowledge: listing from files (%s)", exc)
    return await anyio.to_thread.run_sync(curated_summaries, _knowledge_folder(core))


async def _artifact_from_files(core: Core, artifact_type: str, artifact_id: str) -> Any | None:
    """The curated artifact of that type and id as the files have it, or None."""
    from singularity_mcp.knowledge import load_artifact_files

    try:
        artifacts = await anyio.to_thread.run_sync(load_artifact_files, _knowledge_folder(core))
    except SingularityError as exc:
        logger.info("knowledge: cannot read the files either (%s)", exc)
        return None
    return next(
        (a for a in artifacts if a.artifact_type == artifact_type and a.artifact_id == artifact_id), None
    )


def register(server: MCPServer, core: Core) -> None:
    listeners = _Listeners(server)

    # --- resources ------------------------------------------------------------------------------------

    @server.resource(
        "knowledge://artifacts",
        name="knowledge-artifacts",
        title="Knowledge artifacts",
        description="Every knowledge artifact (standards, patterns, prompts, plan templates, rules) with its "
        "URI, summary and usage figures. Read one with knowledge://{artifact_type}/{artifact_id}.",
        mime_type="application/json",
    )
    async def knowledge_artifacts() -> str:
        summaries = await _summaries(core)
        return json.dumps([s.model_dump(mode="json") for s in summaries], indent=1)

    @server.resource(
        ARTIFACT_TEMPLATE,
        name="knowledge-artifact",
        title="Knowledge artifact",
        description="One knowledge artifact as JSON. artifact_type is one of "
        + ", ".join(ARTIFACT_TYPES)
        + "; ids complete as you type.",
        mime_type="application/json",
    )
    async def knowledge_artifact(artifact_type: str, artifact_id: str) -> str:
        from singularity_mcp.knowledge import artifact_json, get_artifact

        # First run: resources/list shows the files while the database is being created and the import
        # runs, so a listed artifact may not be in the database yet. The files are the source of truth.
        if not core.database_ready:
            artifact = await _artifact_from_files(core, artifact_type, artifact_id)
            if artifact is not None:
                return artifact_json(artifact)
        try:
            with anyio.fail_after(_LIST_WAIT_S):
                artifact = await get_artifact(core, artifact_type, artifact_id)
        except (SingularityError, TimeoutError) as exc:
            artifact = await _artifact_from_files(core, artifact_type, artifact_id)
            if artifact is None:
                if isinstance(exc, NotFound):
                    raise ResourceNotFoundError(str(exc)) from None
                raise ResourceError(
                    str(exc) or "the knowledge base is not ready yet: retry shortly"
                ) from None
        return artifact_json(artifact)

    # Each artifact also appears in resources/list; sessions that list resources hear about changes.
    def listing_with_artifacts(original: Handler | None) -> Handler:
        async def list_resources(ctx: Any, params: PaginatedRequestParams) -> ListResourcesResult:
            listeners.remember(ctx.session)
            result = ListResourcesResult(resources=[])
            if original is not None:
                # MCPServer's own resources/list handler; the low-level registry types answers loosely.
                result = cast(ListResourcesResult, await original(ctx, params))
            for s in await _summaries(core):
                result.resources.append(
                    MCPResource(
                        uri=s.uri,
                        name=s.artifact_id,
                        title=s.title,
                        description=s.summary,
                        mime_type="application/json",
                    )
                )
            return result

        return list_resources

    wrap_request_handler(server, "resources/list", PaginatedRequestParams, listing_with_artifacts)

    # --- completion for the template (chained: other capabilities' completions still answer) ----------

    previous = lowlevel(server).get_request_handler("completion/complete")

    @server.completion()
    async def complete(ref: Any, argument: Any, context: Any) -> Completion | None:
        if isinstance(ref, ResourceTemplateReference) and ref.uri == ARTIFACT_TEMPLATE:
            return await _complete_artifact(core, argument.name, argument.value, context)
        return None

    if previous is not None:  # another capability completes too: ours first for our template, then theirs

        def chained_completion(mine: Handler | None) -> Handler:
            assert mine is not None  # registered just above by @server.completion()

            async def chained(ctx: Any, params: Any) -> Any:
                ref = params.ref
                if isinstance(ref, ResourceTemplateReference) and ref.uri == ARTIFACT_TEMPLATE:
                    return await mine(ctx, params)
                return await previous.handler(ctx, params)

            return chained

        wrap_request_handler(server, "completion/complete", previous.params_type, chained_completion)

    # --- prompts --------------------------------------------------------------------------------------

    @server.prompt(
        name="sparc_plan",
        title="Plan with SPARC",
        description="Plan a goal with SPARC (specification, pseudocode, architecture, refinement, completion), "
        "using the planner prompt and the SPARC template from the knowledge base.",
    )
    async def sparc_plan(goal: str) -> str:
        from singularity_mcp.knowledge import sparc_plan_prompt

        return await _prompt_text(sparc_plan_prompt(core, goal))

    @server.prompt(
        name="code_review",
        title="Review a file",
        description="Review one source file against the knowledge base's review prompt and the quality "
        "standard for its language. `path`: the file to review.",
    )
    async def code_review(path: str) -> str:
        from singularity_mcp.knowledge import code_review_prompt

        return await _prompt_text(code_review_prompt(core, path))

    @server.prompt(
        name="refactor",
        title="Refactor a file",
        description="Plan a behaviour-preserving refactoring of one source file, with the language's "
        "standard. `path`: the file.",
    )
    async def refactor(path: str) -> str:
        from singularity_mcp.knowledge import refactor_prompt

        return await _prompt_text(refactor_prompt(core, path))

    @server.prompt(
        name="write_tests",
        title="Write tests for a file",
        description="Write tests for one source file, with the language's testing standard and test "
        "patterns from the knowledge base. `path`: the file.",
    )
    async def write_tests(path: str) -> str:
        from singularity_mcp.knowledge import write_tests_prompt

        return await _prompt_text(write_tests_prompt(core, path))

    # --- learning loop --------------------------------------------------------------------------------

    @server.tool(annotations=hints("Record feedback", read_only=False, idempotent=False))
    @tool_errors
    async def record_feedback(
        success: Annotated[
            bool, Field(description="true: it was right and useful; false: wrong or misleading.")
        ],
        answer_id: Annotated[
            str | None, Field(description="The `answer_id` of an ask_agent answer you used.")
        ] = None,
        artifact_id: Annotated[
            str | None,
            Field(
                description="The id of a knowledge artifact you used (semantic_search hit or knowledge:// URI)."
            ),
        ] = None,
    ) -> FeedbackResult:
        """Tell the server whether an ask_agent answer or a knowledge artifact actually helped.

        Call it after you used an answer (`answer_id` from ask_agent) or an artifact (`artifact_id` from
        semantic_search knowledge hits or knowledge:// resources) and know whether it worked: `success=true`
        when it was right and useful, `false` when it was wrong or misleading. Feedback ranks helpful
        artifacts higher and turns repeatedly confirmed answers into rules. Returns the updated usage
        figures (usage_count, success_rate, last_used_at). Pass at least one of the two ids.
        """
        from singularity_mcp.knowledge import record_artifact_feedback

        if not answer_id and not artifact_id:
            raise InvalidInput(
                "pass answer_id (from ask_agent) or artifact_id (a knowledge artifact), or both"
            )
        result = FeedbackResult()
        if answer_id:
            try:
                from singularity_mcp.agent import record_answer_feedback
            except ImportError:
                raise NotConfigured(
                    "feedback on answers needs the ask_agent capability, which this build lacks; "
                    "pass artifact_id instead"
                ) from None
            result.answer = await record_answer_feedback(core, answer_id, success)
            for used in (result.answer or {}).get("artifact_ids") or []:
                if used == artifact_id:
                    continue
                try:
                    result.artifacts_used.append(await record_artifact_feedback(core, used, success))
                except NotFound:  # the artifact was removed since the answer
                    continue
        if artifact_id:
            result.artifact = await record_artifact_feedback(core, artifact_id, success)
        return result

    # --- background sync ------------------------------------------------------------------------------

    async def sync_knowledge() -> None:
        """Import changed files now, then re-import whenever the folder changes."""
        from singularity_mcp.core import import_off_loop

        await import_off_loop("singularity_mcp.knowledge._store")
        folder = _knowledge_folder(core)
        await _import_and_notify(core, folder, listeners)
        await _watch(core, folder, listeners)

    core.on_startup(sync_knowledge)


async def _prompt_text(build: Any) -> str:
    """Await a prompt builder; our errors reach the client as invalid-params errors with their message."""
    from mcp.shared.exceptions import MCPError
    from mcp_types import INVALID_PARAMS

    try:
        return await build
    except SingularityError as exc:
        raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None


async def _complete_artifact(core: Core, name: str, value: str, context: Any) -> Completion:
    prefix = (value or "").lower()
    if name == "artifact_type":
        values = [t for t in ARTIFACT_TYPES if t.startswith(prefix)]
        return Completion(values=values, total=len(values), has_more=False)
    if name != "artifact_id":
        return Completion(values=[], total=0, has_more=False)
    chosen = ((getattr(context, "arguments", None) or {}) if context else {}).get("artifact_type")
    summaries = await _summaries(core)
    values = sorted(
        s.artifact_id
        for s in summaries
        if (not chosen or s.artifact_type == chosen) and s.artifact_id.lower().startswith(prefix)
    )
    return Completion(
        values=values[:_MAX_COMPLETIONS], total=len(values), has_more=len(values) > _MAX_COMPLETIONS
    )


async def _import_and_notify(core: Core, folder: Path, listeners: _Listeners) -> None:
    from singularity_mcp.knowledge import import_artifacts

    try:
        report = await import_artifacts(core, folder)
    except SingularityError as exc:
        logger.error("knowledge import from %s failed: %s", folder, exc)
        return
    if report.changed:
        await listeners.resources_changed()


async def _watch(core: Core, folder: Path, listeners: _Listeners) -> None:
    from watchfiles import awatch

    def relevant(_change: Any, path: str) -> bool:
        return path.endswith(".json") and "/learned/" not in path and "/schema/" not in path

    # Cancelling awatch waits for its watcher thread, which only returns on a change, its timeout (5 s)
    # or this event: set the event the moment the watch is cancelled, so shutdown is not held up.
    stop = anyio.Event()

    async def stop_when_cancelled() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            stop.set()

    try:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(stop_when_cancelled)
            async for _changes in awatch(folder, watch_filter=relevant, recursive=True, stop_event=stop):
                await _import_and_notify(core, folder, listeners)
            task_group.cancel_scope.cancel()
    except (OSError, RuntimeError) as exc:
        logger.warning("not watching %s for knowledge changes: %s", folder, exc)
