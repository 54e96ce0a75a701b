import pytest

from singularity_mcp.config import load_settings
from singularity_mcp.errors import ConfigError


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINGULARITY_HTTP_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="SINGULARITY_HTTP_PORT"):
        load_settings()


def test_lists_and_secrets_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("SINGULARITY_ALLOWED_ROOTS", f"{tmp_path},/srv")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-value")
    settings = load_settings()
    assert settings.allowed_roots == [tmp_path, __import__("pathlib").Path("/srv")]
    assert settings.anthropic_api_key.get_secret_value() == "sk-ant-secret-value"
    assert "sk-ant-secret-value" not in repr(settings)


def test_toml_file_below_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('log_level = "DEBUG"\nhttp_port = 9999\n')
    monkeypatch.setenv("SINGULARITY_CONFIG", str(config))
    monkeypatch.setenv("SINGULARITY_HTTP_PORT", "9100")
    settings = load_settings()
    assert settings.log_level == "DEBUG"
    assert settings.http_port == 9100


def test_missing_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("SINGULARITY_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="SINGULARITY_CONFIG"):
        load_settings()
