"""PostgreSQL with pgvector: embedded by default, external by URL; pool and migrations."""

from singularity_mcp.db._database import Database, open_database, redact_url
from singularity_mcp.db._migrate import apply_migrations, discover_migrations

__all__ = ["Database", "apply_migrations", "discover_migrations", "open_database", "redact_url"]
