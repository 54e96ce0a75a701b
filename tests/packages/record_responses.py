"""Re-record the PyPI and npm responses under recorded/ from the live registries, trimmed to the fields
package_lookup reads (run by hand: `python tests/packages/record_responses.py`). crates.io, Hex and OSV
files are written by hand from their documented formats (those hosts are not reachable where this was made).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx2

HERE = Path(__file__).resolve().parent / "recorded"
PYPI = ["httpx", "jinja2"]
NPM = ["express", "left-pad", "httpx", "jason"]
NPM_VERSIONS = [("express", "4.17.1")]
_PYPI_INFO = [
    "name",
    "version",
    "summary",
    "keywords",
    "license",
    "license_expression",
    "home_page",
    "project_urls",
    "requires_dist",
    "yanked",
    "yanked_reason",
    "package_url",
    "project_url",
]
_NPM_MANIFEST = [
    "name",
    "version",
    "description",
    "keywords",
    "license",
    "homepage",
    "repository",
    "dependencies",
    "optionalDependencies",
    "peerDependencies",
    "deprecated",
]


def trim_pypi(doc: dict) -> dict:
    info = {k: doc["info"].get(k) for k in _PYPI_INFO}
    info["classifiers"] = [c for c in doc["info"].get("classifiers") or [] if c.startswith("License ::")]
    releases = {
        version: [{"upload_time_iso_8601": files[0]["upload_time_iso_8601"], "yanked": files[0]["yanked"]}]
        for version, files in doc["releases"].items()
        if files
    }
    urls = [{"upload_time_iso_8601": f["upload_time_iso_8601"]} for f in doc.get("urls", [])[:1]]
    return {
        "info": info,
        "releases": releases,
        "urls": urls,
        "vulnerabilities": doc.get("vulnerabilities", []),
    }


def trim_npm(doc: dict) -> dict:
    latest = doc["dist-tags"]["latest"]
    versions = {
        v: ({k: m[k] for k in _NPM_MANIFEST if k in m} if v == latest else {"version": v})
        for v, m in doc["versions"].items()
    }
    time = {v: t for v, t in (doc.get("time") or {}).items() if v in versions}
    return {"name": doc["name"], "dist-tags": doc["dist-tags"], "versions": versions, "time": time}


def write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def main() -> None:
    with httpx2.Client(timeout=30, follow_redirects=True) as client:
        for name in PYPI:
            doc = client.get(f"https://pypi.org/pypi/{name}/json").raise_for_status().json()
            write(HERE / "pypi" / "pypi" / name / "json.json", trim_pypi(doc))
        for name in NPM:
            doc = client.get(f"https://registry.npmjs.org/{name}").raise_for_status().json()
            write(HERE / "npm" / f"{name}.json", trim_npm(doc))
        for name, version in NPM_VERSIONS:
            doc = client.get(f"https://registry.npmjs.org/{name}/{version}").raise_for_status().json()
            write(HERE / "npm" / name / f"{version}.json", {k: doc[k] for k in _NPM_MANIFEST if k in doc})


if __name__ == "__main__":
    main()
