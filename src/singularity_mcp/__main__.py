"""`python -m singularity_mcp` is the same as the `singularity-mcp` command."""

from singularity_mcp.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
