"""The living knowledge base: curated artifacts (files are the source of truth), synced into PostgreSQL,
searched hybrid (dense + full-text) with a ranking that learns from usage and feedback.

Offline, no database: `load_artifact_files()`. With a `Core`: `import_artifacts`, `list_artifacts`,
`get_artifact`, `search_knowledge`, `record_usage`, `record_artifact_feedback`, `save_learned_artifact`,
`export_learned`.
"""

from singularity_mcp.knowledge._files import load_artifact_files, validate_folder
from singularity_mcp.knowledge._search import search_knowledge
from singularity_mcp.knowledge._store import (
    export_learned,
    get_artifact,
    import_artifacts,
    list_artifacts,
    list_summaries,
    record_artifact_feedback,
    record_usage,
    save_learned_artifact,
    usage_figures,
)
from singularity_mcp.knowledge.models import (
    ARTIFACT_TYPES,
    TASK_TYPES,
    Artifact,
    ArtifactSummary,
    DecompositionTemplate,
    FrameworkPattern,
    ImportReport,
    KnowledgeHit,
    QualityStandard,
    Rule,
    SystemPrompt,
    UsageFigures,
    parse_artifact,
)

__all__ = [
    "ARTIFACT_TYPES",
    "TASK_TYPES",
    "Artifact",
    "ArtifactSummary",
    "DecompositionTemplate",
    "FrameworkPattern",
    "ImportReport",
    "KnowledgeHit",
    "QualityStandard",
    "Rule",
    "SystemPrompt",
    "UsageFigures",
    "export_learned",
    "get_artifact",
    "import_artifacts",
    "list_artifacts",
    "list_summaries",
    "load_artifact_files",
    "parse_artifact",
    "record_artifact_feedback",
    "record_usage",
    "save_learned_artifact",
    "search_knowledge",
    "usage_figures",
    "validate_folder",
]
