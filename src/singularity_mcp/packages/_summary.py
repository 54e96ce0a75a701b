"""The short text version of a package lookup, for the MCP text content and the CLI alike."""

from __future__ import annotations

from singularity_mcp._text import trim
from singularity_mcp.packages.models import ADVISORIES_NOT_CHECKED, AuditEntry, PackageLookupResult

MAX_AUDIT_LINES = 40


def summary(result: PackageLookupResult) -> str:
    """A short text version of the result for readers without structured content."""
    if result.mode == "package":
        head = f"{result.ecosystem} {result.name} {result.version or ''}".strip()
        if result.version != result.latest_version:
            head += f" (latest {result.latest_version})"
        lines = [head + (" [stale]" if result.stale else "")]
        if result.description:
            lines.append(trim(result.description, 300))
        lines.append(
            f"licence: {result.license or 'unknown'}; downloads: "
            + (f"{result.downloads:,} ({result.downloads_period})" if result.downloads is not None else "n/a")
        )
        if result.deprecated:
            lines.append(f"DEPRECATED: {result.deprecated}")
        if result.advisories:
            ids = ", ".join(a.id for a in result.advisories[:10])
            lines.append(f"{len(result.advisories)} advisories: {ids}")
        elif result.advisories_source:
            lines.append(f"no known advisories ({result.advisories_source})")
        else:
            lines.append("advisories: not checked")
        if result.dependencies is not None:
            lines.append(f"{len(result.dependencies)} dependencies")
    elif result.mode == "search":
        lines = [
            f"{h.ecosystem} {h.name} {h.latest_version or ''} ({h.similarity:.2f}): {trim(h.description, 100)}"
            for h in result.results or []
        ] or ["no matches"]
    else:
        audit = result.audit
        assert audit is not None
        total, unchecked = len(audit.dependencies), audit.advisories_unchecked
        if total and unchecked == total:
            advisories = "advisories not checked"
        elif unchecked:
            advisories = f"{audit.vulnerable} of the {total - unchecked} checked with advisories ({unchecked} not checked)"
        else:
            advisories = f"{audit.vulnerable} with advisories"
        lines = [
            f"{total} dependencies in {', '.join(audit.manifests)}: {advisories}, {audit.outdated} outdated, "
            f"{audit.errors} not fully checked"
        ]
        # The advisory service being out of reach is one cause: said once, not once per dependency.
        advisory_errors = [
            d.error for d in audit.dependencies if d.error and d.error.startswith(ADVISORIES_NOT_CHECKED)
        ]
        if advisory_errors:
            lines.append(trim(advisory_errors[0], 240))

        def own_error(d: AuditEntry) -> str | None:
            return None if d.error is None or d.error.startswith(ADVISORIES_NOT_CHECKED) else d.error

        flagged = [
            d for d in audit.dependencies if d.advisories or d.outdated or d.deprecated or own_error(d)
        ]
        for d in flagged[:MAX_AUDIT_LINES]:
            problems = []
            if d.advisories:
                problems.append(
                    f"{len(d.advisories)} advisories ({', '.join(a.id for a in d.advisories[:3])})"
                )
            if d.outdated:
                problems.append(f"latest {d.latest} outside {d.requirement!r}")
            if d.deprecated:
                problems.append(d.deprecated)
            if error := own_error(d):
                problems.append(trim(error, 120))
            lines.append(f"{d.ecosystem} {d.name} {d.wanted or '?'}: {'; '.join(problems)}")
        if len(flagged) > MAX_AUDIT_LINES:
            lines.append(f"… {len(flagged) - MAX_AUDIT_LINES} more in the structured result")
    lines += result.notes
    return "\n".join(lines)
