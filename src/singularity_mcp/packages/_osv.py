"""OSV (osv.dev) advisories for one package version: `POST /v1/query`."""

from __future__ import annotations

from typing import Any

import httpx2

from singularity_mcp.packages._http import JSONService
from singularity_mcp.packages._registry import parse_time
from singularity_mcp.packages.models import Advisory

MAX_PAGES = 5


class OSVClient:
    """osv.dev's query API. Ecosystem names are OSV's (`PyPI`, `npm`, `crates.io`, `Hex`, `Go`)."""

    def __init__(self, base_url: str, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self.label = "OSV (osv.dev)"
        self._http = JSONService(base_url, label=self.label, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def query(self, ecosystem: str, name: str, version: str | None) -> list[Advisory]:
        """Advisories affecting `version` (every version when None), following pagination."""
        body: dict[str, Any] = {"package": {"name": name, "ecosystem": ecosystem}}
        if version:
            body["version"] = version
        found: list[Advisory] = []
        for _ in range(MAX_PAGES):
            doc = await self._http.post("/v1/query", body) or {}
            found += [parse_vuln(v, name) for v in doc.get("vulns") or [] if isinstance(v, dict)]
            token = doc.get("next_page_token")
            if not token:
                break
            body["page_token"] = token
        return found


def parse_vuln(vuln: dict[str, Any], name: str) -> Advisory:
    """An OSV record (https://ossf.github.io/osv-schema/) reduced to what an assistant needs."""
    fixed: list[str] = []
    for affected in vuln.get("affected") or []:
        package = affected.get("package") or {}
        if package.get("name", "").lower() != name.lower():
            continue
        for range_ in affected.get("ranges") or []:
            for event in range_.get("events") or []:
                if "fixed" in event and event["fixed"] not in fixed:
                    fixed.append(str(event["fixed"]))
    severity = (vuln.get("database_specific") or {}).get("severity")
    if not severity and vuln.get("severity"):
        severity = vuln["severity"][0].get("score")
    references = vuln.get("references") or []
    advisory_url = next((r.get("url") for r in references if r.get("type") == "ADVISORY"), None)
    summary = vuln.get("summary") or (vuln.get("details") or "").strip().split("\n", 1)[0]
    return Advisory(
        id=str(vuln.get("id", "")),
        summary=summary[:300],
        aliases=[str(a) for a in vuln.get("aliases") or []],
        severity=severity,
        fixed_in=fixed,
        published=parse_time(vuln.get("published")),
        url=advisory_url or f"https://osv.dev/vulnerability/{vuln.get('id', '')}",
    )
