"""The false-hit guard and prompt normalisation (pure functions)."""

from __future__ import annotations

import pytest

from singularity_mcp.agent._guard import disagreement, normalise, signature


def test_normalise_drops_politeness_case_and_trailing_punctuation() -> None:
    assert (
        normalise("Hey, could you please tell me:  How do I sort a LIST?") == "tell me: how do i sort a list"
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How do I sort a list in Python in descending order?", "python: sort a list in descending order"),
        ("What is the difference between a process and a thread?", "Explain processes vs threads"),
        ("Please explain MAX_RETRIES in config.py", "explain MAX_RETRIES in config.py"),
        ("retry a request three times in Go", "retry a request 3 times in golang"),
        ("Read a JSON file in Node.js", "read a json file in nodejs"),
    ],
)
def test_paraphrases_agree(a: str, b: str) -> None:
    assert disagreement(signature(a), signature(b)) is None


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        ("Sort a list ascending in Python", "Sort a list descending in Python", "opposing"),
        ("Find the max of an array in JavaScript", "Find the min of an array in JavaScript", "opposing"),
        ("Insert the row before the header", "Insert the row after the header", "opposing"),
        ("Read a file line by line in Python", "Read a file line by line in Rust", "languages"),
        ("Retry an HTTP request 3 times", "Retry an HTTP request 5 times", "numbers"),
        ("Round 2.5 to an integer", "Round 3.5 to an integer", "numbers"),
        ("Should I use a mutex here?", "Should I not use a mutex here?", "negation"),
        ("Why does my loop terminate?", "Why doesn't my loop terminate?", "negation"),
        ("What does `os.path.join` do?", "What does `os.path.split` do?", "identifiers"),
        ("What does parse_args() return?", "What does parse_known_args() return?", "identifiers"),
    ],
)
def test_near_misses_disagree(a: str, b: str, reason: str) -> None:
    found = disagreement(signature(a), signature(b))
    assert found is not None and reason in found


def test_signature_round_trips_through_json() -> None:
    sig = signature("Sort `users` by age descending in Python 3.12, not in place")
    assert sig.from_json(sig.to_json()) == sig
    assert (
        sig.negated and "python" in sig.technologies and "3.12" in sig.numbers and "users" in sig.identifiers
    )
