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
