"""The living knowledge base: curated artifacts (files are the source of truth), synced into PostgreSQL,
searched hybrid (dense + full-text) with a ranking that learns from usage and feedback.

Offline, no database: `load_artifact_files()`, `validate_folder`, `curated_summaries`, the folder
(`knowledge_folder`, `default_folder`), `artifact_json`, `export_schemas`. With a `Core`: `import_artifacts`,
`list_artifacts`, `get_artifact`, `search_knowledge`, `record_usage`, `record_artifact_feedback`,
`save_learned_artifact`, `export_learned`, and the MCP prompts' texts (`sparc_plan_prompt`,
`code_review_prompt`, `refactor_prompt`, `write_tests_prompt`).
"""

from singularity_mcp.knowledge._files import (
    artifact_json,
    default_folder,
    export_schemas,
    knowledge_folder,
    load_artifact_files,
    validate_folder,
)
from singularity_mcp.knowledge._prompts import (
    code_review_prompt,
    refactor_prompt,
    sparc_plan_prompt,
    write_tests_prompt,
)
from singularity_mcp.knowledge._search import search_knowledge
from singularity_mcp.knowledge._store import (
    curated_summaries,
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
    "artifact_json",
    "code_review_prompt",
    "curated_summaries",
    "default_folder",
    "export_learned",
    "export_schemas",
    "get_artifact",
    "import_artifacts",
    "knowledge_folder",
    "list_artifacts",
    "list_summaries",
    "load_artifact_files",
    "parse_artifact",
    "record_artifact_feedback",
    "record_usage",
    "refactor_prompt",
    "save_learned_artifact",
    "search_knowledge",
    "sparc_plan_prompt",
    "usage_figures",
    "validate_folder",
    "write_tests_prompt",
]
