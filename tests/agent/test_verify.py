"""The cache's verification step on its own (no database, no model): what it serves and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from singularity_mcp.agent._verify import WordVectorCache, verify

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("asked", "cached"),
    [
        ("How do I check if a file exists in Python?", "In Python, how do I check if a file exists?"),
        ("What's the difference between UDP and TCP?", "What's the difference between TCP and UDP?"),
        ("How do I set an env var in Windows?", "How do I set an environment variable in Windows?"),
        ("How do I use the AWS CLI to copy files to S3?", "How do I use the AWS command line interface to copy files to S3?"),
        ("What's the big-O of a hashmap lookup?", "What's the big-O of a hash map lookup?"),
        ("How do I add a column to an existing MySQL table?", "How can a column be added to an existing MySQL table?"),
        ("How to turn a list into a set in Python?", "Python: how to turn a list into a set?"),
        ("Hey, quick question: how do I revert a merge commit in git?", "How do I revert a merge commit in git?"),
        ("How do I start a goroutine in go?", "Go: how do I start a goroutine?"),
    ],
)  # fmt: skip
async def test_rewordings_are_served(asked: str, cached: str) -> None:
    assert await verify(asked, cached) is None


@pytest.mark.parametrize(
    ("asked", "cached", "code"),
    [
        ("How do I convert Fahrenheit to Celsius in Python?", "How do I convert Celsius to Fahrenheit in Python?", "direction"),
        ("How do I copy files from the host into a Docker container?",
         "How do I copy files from a Docker container to the host?", "direction"),
        ("How do I forward port 80 on the host to port 8080 in the container?",
         "How do I forward port 8080 on the host to port 80 in the container?", "order"),
        ("How do I migrate a database from PostgreSQL to MySQL?",
         "How do I migrate a database from MySQL to PostgreSQL?", "direction"),
        ("How do I replace spaces with tabs in vim?", "How do I replace tabs with spaces in vim?", "direction"),
        ("How do I split a list into 4 chunks in Python?", "How do I split a list into chunks of 4 in Python?", "order"),
        ("How do I decrease the font size in VS Code?", "How do I increase the font size in VS Code?", "unmatched"),
        ("How do I unmount a USB drive on Linux?", "How do I mount a USB drive on Linux?", "opposite"),
        ("How do I select rows where a column is not null?", "How do I select rows where a column is null?", "unmatched"),
        ("How do I round a number down in JavaScript?", "How do I round a number up in JavaScript?", "unmatched"),
        ("How do I read a CSV file in R?", "How do I read a CSV file in Python?", "technology"),
        ("How do I retry a request 5 times?", "How do I retry a request three times?", "numbers"),
    ],
)  # fmt: skip
async def test_near_misses_are_refused_with_a_reason(asked: str, cached: str, code: str) -> None:
    refusal = await verify(asked, cached)
    assert refusal is not None and refusal.code == code, refusal
    assert str(refusal).startswith(code + ": ")


async def test_word_vectors_align_close_words_when_given() -> None:
    """Words in no synonym group align only through their vectors, when those are given."""
    calls: list[list[str]] = []

    async def embed(words):  # stand-in vectors: 'quit' and 'exit' identical, everything else apart
        calls.append(list(words))
        out = np.eye(len(words), 8, dtype=np.float32)
        for i, word in enumerate(words):
            if word in ("quit", "exit"):
                out[i] = np.eye(1, 8, 7, dtype=np.float32)[0]
        return out

    vectors = WordVectorCache(embed)
    asked, cached = "How do I quit a running container?", "How do I exit a running container?"
    assert (await verify(asked, cached)).code == "unmatched"  # literal alignment alone refuses
    assert await verify(asked, cached, vectors, bar=0.9) is None
    await verify(asked, cached, vectors, bar=0.9)
    assert len(calls) == 1  # the second time every word came from the cache


async def test_synonyms_of_one_group_align_and_stay_directional() -> None:
    assert await verify("How do I halt a running container?", "How do I stop a running container?") is None
    assert await verify("How do I delete a local git branch?", "How do I remove a local git branch?") is None
    # a synonym does not excuse a swapped direction or an unmatched word
    refused = await verify("convert a list to a string in Python", "transform a string to a list in Python")
    assert refused is not None and refused.code == "direction"
    assert (await verify("How do I stop a container?", "How do I start a container?")) is not None
