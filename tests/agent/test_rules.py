"""Tier 1 rules and complexity routing (in memory)."""

from __future__ import annotations

import re

import pytest

from singularity_mcp.agent import decide_complexity
from singularity_mcp.agent._rules import RuleBook, learned_pattern, rule_from_artifact
from singularity_mcp.knowledge import load_artifact_files, parse_artifact


def _rule(artifact_id: str, confidence: float, patterns=(), keywords=(), task_types=("general",)):
    return rule_from_artifact(
        parse_artifact(
            {
                "artifact_id": artifact_id,
                "artifact_type": "rule",
                "version": "1",
                "title": "a test rule",
                "summary": "a rule written for the tests",
                "content": {
                    "task_types": list(task_types),
                    "triggers": {"patterns": list(patterns), "keywords": list(keywords)},
                    "answer": f"the answer of {artifact_id}",
                    "confidence": confidence,
                },
            }
        )
    )


def test_rules_match_on_pattern_or_all_keywords_and_task_type() -> None:
    book = RuleBook()
    book.replace(
        [
            _rule("rule-tabs", 0.95, patterns=[r"\btabs?\b.*\bspaces?\b"]),
            _rule("rule-venv", 0.92, keywords=["virtualenv", "create"], task_types=("general", "coder")),
            _rule("rule-weak", 0.85, patterns=[r"\bweak\b"]),
        ]
    )
    assert book.match("Tabs or spaces for Python?", "general", "").rule_id == "rule-tabs"
    assert book.match("how do I create a virtualenv", "coder", "").rule_id == "rule-venv"
    assert book.match("create it", "coder", "") is None  # one keyword is not enough
    assert book.match("Tabs or spaces?", "architect", "") is None  # other task type
    assert book.match("a weak rule", "general", "") is None  # confidence 0.85 < 0.9: passes


def test_learned_rules_only_answer_for_their_context() -> None:
    book = RuleBook()
    learned = _rule("learned-x", 0.9, patterns=[learned_pattern("What is a monad?")])
    book.replace([learned.__class__(**{**learned.__dict__, "context_hash": "abc", "learned": True})])
    assert book.match("what is a monad", "general", "abc") is not None
    assert book.match("what is a monad", "general", "") is None
    assert re.search(learned_pattern("What is a monad?"), "  WHAT   is a monad!!", re.IGNORECASE)


def test_shipped_rules_load_and_answer_their_questions() -> None:
    rules = [r for a in load_artifact_files() if a.artifact_type == "rule" and (r := rule_from_artifact(a))]
    assert rules, "the knowledge base ships rule artifacts"
    book = RuleBook()
    book.replace(rules)
    undo = book.match("How do I undo my last git commit but keep the changes?", "general", "")
    assert undo is not None and undo.rule_id == "rule-git-undo-last-commit" and undo.confidence >= 0.9
    assert book.match("How do I center a div?", "general", "") is None


@pytest.mark.parametrize(
    ("task_type", "prompt", "expected"),
    [
        ("classifier", "Label this ticket: 'app crashes on login'", "simple"),
        ("parser", "Extract the version from 'pkg==1.2.3'", "simple"),
        ("coder", "Write a function that merges two sorted lists", "medium"),
        ("planner", "Plan the release of the new billing page", "medium"),
        ("architect", "How should I split this service?", "complex"),
        ("refactoring", "Clean up this module", "complex"),
        ("code_analysis", "Review this function", "complex"),
        ("general", "What is a monad?", "simple"),
        ("general", "Design a distributed, fault tolerant job queue with exactly-once semantics", "complex"),
        ("coder", "x" * 5000, "complex"),
    ],
)
def test_auto_complexity_from_task_type_and_prompt(task_type: str, prompt: str, expected: str) -> None:
    assert decide_complexity(task_type, prompt) == expected
