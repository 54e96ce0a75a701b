"""MCP faces of the capabilities: each module defines `register(server, core)`; `server.py` calls them.

For the wiring in `server.py`: `ToolServer` (the server type the modules register on) and `lowlevel` (the
SDK's low-level server behind it, one of the SDK seams kept in `_sdk_seams`).
"""

from singularity_mcp.tools._common import ToolServer
from singularity_mcp.tools._sdk_seams import lowlevel

__all__ = ["ToolServer", "lowlevel"]
