"""MCP faces of the capabilities: each module defines `register(server, core)`; `server.py` calls them."""
