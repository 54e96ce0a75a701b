"""Generated documentation stays in step with the code (`cog -r README.md` regenerates it)."""

from __future__ import annotations

from cogapp import Cog

from tests.conftest import REPO_ROOT


def test_readme_generated_sections_are_current() -> None:
    status = Cog().main(["cog", "--check", str(REPO_ROOT / "README.md")])
    assert status == 0, "README.md is stale: run `cog -r README.md` and commit the result"


def test_settings_table_documents_every_setting() -> None:
    from singularity_mcp.config import Settings, settings_reference

    table = settings_reference()
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no docstring (it is the README's documentation)"
        assert name.upper() in table
