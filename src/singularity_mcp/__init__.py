"""singularity-mcp: one local MCP server for IDE assistants."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("singularity-mcp")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
