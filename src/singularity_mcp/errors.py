"""The one exception hierarchy. The MCP layer turns these into tool errors; the CLI prints them."""


class SingularityError(Exception):
    """Base class: something the user can act on. The message says what was wrong and what to do.

    When what to do differs between the two faces (an MCP tool call vs a `singularity-mcp` command),
    `cli` holds the message for the command line; the MCP layer uses `str(exc)`.
    """

    def __init__(self, message: str = "", *, cli: str | None = None) -> None:
        super().__init__(message)
        self.cli = cli

    def for_cli(self) -> str:
        """The message as a command-line user should read it."""
        return self.cli or str(self)


class InvalidInput(SingularityError):
    """The caller's input is wrong (bad path, unknown language, malformed argument)."""


class NotFound(SingularityError):
    """A named thing (plan, artifact, package, answer) does not exist."""


class NotIndexed(SingularityError):
    """A search or status call names a folder that has not been indexed."""


class NotConfigured(SingularityError):
    """A feature needs configuration that is missing (an API key, a model)."""


class Unavailable(SingularityError):
    """A dependency (database, registry, LLM) cannot be reached right now."""


class ConfigError(SingularityError):
    """A setting has a wrong value; the message names the variable."""


QUOTE_CHARS = 200
"""At most this many characters of a caller's input appear in an error message."""


def quoted(value: object, limit: int = QUOTE_CHARS) -> str:
    """`value` as an error message may quote it: repr'd (escapes NUL, surrogates, newlines) and cut to
    `limit` characters, saying how long it really was."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"… ({len(text):,} characters)"


def check_text(name: str, value: str, limit: int | None = None) -> None:
    """Refuse text no store or parser takes, and text over `limit` characters, naming the argument.

    NUL characters (PostgreSQL refuses them in text) and lone UTF-16 surrogates (not valid Unicode: they
    cannot be encoded as UTF-8) are refused wherever they are, whatever the size limit.
    """
    if limit is not None and len(value) > limit:
        raise InvalidInput(f"{name} is {len(value):,} characters, over the {limit:,} limit: shorten it")
    position = value.find("\x00")
    if position >= 0:
        raise InvalidInput(
            f"{name} contains a NUL character (\\x00) at position {position}, which cannot be stored: remove it"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{name} contains a lone UTF-16 surrogate ({value[exc.start]!r} at position {exc.start}), which is "
            "not valid Unicode: send valid UTF-8 text"
        ) from None
