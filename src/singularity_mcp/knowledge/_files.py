"""Artifact files: `<folder>/<artifact_type>/<artifact_id>.json`, read and validated without a database."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError

from singularity_mcp.errors import InvalidInput
from singularity_mcp.knowledge.models import ARTIFACT_ADAPTER, ARTIFACT_TYPES, Artifact, parse_artifact
from singularity_mcp.paths import data_path

if TYPE_CHECKING:
    from singularity_mcp.config import Settings

#: Folders under the knowledge base that hold no curated artifacts.
SKIPPED_FOLDERS = ("schema", "learned")
_MAX_PROBLEMS_SHOWN = 20
_NESTED = re.compile(r"^([A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*): (.+)$", re.DOTALL)


@dataclass(frozen=True)
class ArtifactFile:
    """One parsed artifact with the text it was parsed from."""

    artifact: Artifact
    path: Path
    raw_text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw_text.encode("utf-8")).hexdigest()


def default_folder() -> Path:
    """The shipped knowledge base."""
    return data_path("knowledge_base")


def knowledge_folder(settings: Settings) -> Path:
    """The curated folder this installation uses: `SINGULARITY_KNOWLEDGE_DIR`, else the shipped one."""
    configured = getattr(settings, "knowledge_dir", None)
    return Path(configured).expanduser() if configured else default_folder()


def artifact_paths(folder: Path) -> list[Path]:
    """Every `*.json` under the artifact-type folders (schema/ and learned/ are not curated content)."""
    paths = []
    for path in sorted(folder.rglob("*.json")):
        rel = path.relative_to(folder)
        if rel.parts[0] in SKIPPED_FOLDERS or any(p.startswith(".") for p in rel.parts):
            continue
        paths.append(path)
    return paths


def _field(loc: tuple[int | str, ...], data: object) -> str:
    parts = list(loc)
    # A tagged union reports the tag first ("rule", "content", ...): drop it when it is the artifact type.
    if (
        parts
        and isinstance(data, dict)
        and parts[0] == data.get("artifact_type")
        and parts[0] in ARTIFACT_TYPES
    ):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(artifact)"


def read_artifact_file(path: Path, folder: Path | None = None) -> tuple[ArtifactFile | None, list[str]]:
    """Parse one file; return it or the problems, each naming the file and the field."""
    shown = path if folder is None else path.relative_to(folder)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{shown}: cannot read: {exc}"]
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, [f"{shown}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]
    if not isinstance(data, dict):
        return None, [f"{shown}: the file must hold one JSON object (an artifact)"]
    data.pop("$schema", None)
    try:
        artifact = parse_artifact(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field, message = _field(err["loc"], data), err["msg"].removeprefix("Value error, ")
            # Model validators report a path below their own field first ("steps[1].depends_on: ...").
            nested = _NESTED.match(message)
            if nested:
                field, message = f"{field}.{nested.group(1)}", nested.group(2)
            problems.append(f"{shown}: {field}: {message}")
        return None, problems
    problems = []
    if folder is not None:
        rel = path.relative_to(folder)
        if len(rel.parts) != 2 or rel.parts[0] != artifact.artifact_type:
            problems.append(
                f"{shown}: artifact_type: {artifact.artifact_type!r} artifacts belong in "
                f"{artifact.artifact_type}/{artifact.artifact_id}.json"
            )
        elif path.stem != artifact.artifact_id:
            problems.append(
                f"{shown}: artifact_id: {artifact.artifact_id!r} does not match the file name "
                f"(rename the file to {artifact.artifact_id}.json or fix the id)"
            )
    if problems:
        return None, problems
    return ArtifactFile(artifact=artifact, path=path, raw_text=raw), []


def validate_folder(folder: Path | None = None) -> tuple[list[ArtifactFile], list[str]]:
    """Read every artifact file; return the parsed files and every problem found (file: field: message)."""
    folder = Path(folder) if folder is not None else default_folder()
    if not folder.is_dir():
        raise InvalidInput(
            f"{folder} is not a folder: pass the knowledge base folder (with one folder per type)"
        )
    files: list[ArtifactFile] = []
    problems: list[str] = []
    owners: dict[str, Path] = {}
    for path in artifact_paths(folder):
        parsed, found = read_artifact_file(path, folder)
        problems.extend(found)
        if parsed is None:
            continue
        artifact_id = parsed.artifact.artifact_id
        if artifact_id in owners:
            problems.append(
                f"{path.relative_to(folder)}: artifact_id: {artifact_id!r} is already used by "
                f"{owners[artifact_id].relative_to(folder)} (ids are unique across types)"
            )
            continue
        owners[artifact_id] = path
        files.append(parsed)
    return files, problems


def load_artifact_records(folder: Path | None = None) -> list[ArtifactFile]:
    """Like `load_artifact_files`, keeping each file's path and raw text."""
    files, problems = validate_folder(folder)
    if problems:
        shown = "\n".join(problems[:_MAX_PROBLEMS_SHOWN])
        more = len(problems) - _MAX_PROBLEMS_SHOWN
        if more > 0:
            shown += f"\n... and {more} more"
        raise InvalidInput(
            f"{len(problems)} problem(s) in the knowledge base; fix them and retry "
            f"(`singularity-mcp kb validate` lists them all):\n{shown}"
        )
    return files


def load_artifact_files(folder: Path | str | None = None) -> list[Artifact]:
    """Read and validate every artifact under `folder` (default: the shipped `knowledge_base/`).

    Needs no database. Raises `InvalidInput` listing each problem as `file: field: message`.
    """
    return [f.artifact for f in load_artifact_records(Path(folder) if folder is not None else None)]


def artifact_json(artifact: Artifact) -> str:
    """The artifact as an indented JSON document (how files are written)."""
    return artifact.model_dump_json(indent=2, exclude_none=True) + "\n"


def export_schemas(folder: Path) -> list[Path]:
    """Write the JSON Schema of every artifact type (and of the union) into `folder`."""
    from singularity_mcp.knowledge import models

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    per_type: dict[str, type[BaseModel]] = {
        "quality_standard": models.QualityStandard,
        "framework_pattern": models.FrameworkPattern,
        "system_prompt": models.SystemPrompt,
        "decomposition_template": models.DecompositionTemplate,
        "rule": models.Rule,
    }
    schemas = {"artifact": ARTIFACT_ADAPTER.json_schema()}
    schemas.update({name: model.model_json_schema() for name, model in per_type.items()})
    for name, schema in schemas.items():
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        _allow_schema_key(schema)
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def _allow_schema_key(schema: dict) -> None:
    """Let files carry `"$schema": "../schema/<type>.schema.json"` for editor validation."""
    targets = [schema] if "properties" in schema else []
    targets += [d for d in schema.get("$defs", {}).values() if "artifact_type" in d.get("properties", {})]
    for target in targets:
        target["properties"] = {"$schema": {"type": "string"}, **target["properties"]}
