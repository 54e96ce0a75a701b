"""The plain parts: identifier-aware words, the walker's excludes, fusion and collapsing, the API without MCP."""

from __future__ import annotations

import itertools
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.errors import NotIndexed
from singularity_mcp.search import index_repository, remove_root, search_code
from singularity_mcp.search._lexical import COMPOUND, identifier_words, path_text
from singularity_mcp.search._searcher import RRF_K, Candidate, collapse, fuse
from singularity_mcp.search._walk import walk_root
from tests.search.conftest import write_repo


def test_identifier_words_keep_whole_and_parts() -> None:
    words = identifier_words("def getUserName(HTTPServer, user_id2):")
    assert words[:5] == ["def", "getusername", "get", "user", "name"]
    assert {"httpserver", "http", "server", "userid2", "id"} <= set(words)
    assert identifier_words("__init__") == ["init"]
    assert path_text("src/my-pkg/fooBar.py") == "src my pkg foobar foo bar py"


def test_walk_skips_ignored_vendored_lock_and_huge(tmp_path: Path) -> None:
    root = write_repo(tmp_path)
    (root / "big.py").write_text("x = 1\n" * 200_000)  # > 1 MB
    (root / "app.min.js").write_text("var a=1;")
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / ".venv" / "lib" / "site.py").write_text("x = 1\n")
    (root / "env").mkdir()
    (root / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (root / "env" / "mod.py").write_text("x = 1\n")
    (root / "web" / ".gitignore").write_text("static/*.js\n!static/carousel.js\n")
    (root / "web" / "static" / "other.js").write_text("var b = 2;\n")
    for rel in (
        "knowledge_base/rule/x.json", "tests/recorded/pypi.json", "package.json", "tsconfig.build.json",
        "web/.eslintrc.json", "web/app.config.json", "locales/en.JSON",
    ):  # fmt: skip
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text('{"a": 1}\n')
    found = {f.rel_path for f in walk_root(root)}
    assert "billing/shipping.py" in found and "web/static/carousel.js" in found  # re-included
    assert {"package.json", "tsconfig.build.json", "web/.eslintrc.json", "web/app.config.json"} <= found
    assert not found & {"knowledge_base/rule/x.json", "tests/recorded/pypi.json", "locales/en.JSON"}
    assert not found & {
        "big.py", "app.min.js", ".venv/lib/site.py", "env/mod.py", "web/static/other.js",
        "node_modules/leftpad/index.js", "generated/skipme.py", "package-lock.json",
    }  # fmt: skip


def _candidate(
    chunk_id: int, file_id: int = 1, symbol: str | None = None, kind: str = "function"
) -> Candidate:
    return Candidate(chunk_id, 1, file_id, "a.py", 1, 2, symbol, kind, "python", "", 0, 0)


def test_declarations_count_less_than_behaviour_in_the_fusion() -> None:
    """A type declaration first in one list loses to a function second in both (and to one second in
    one list alone); between two functions, the first in one list wins as plain RRF would have it."""
    interface = _candidate(1, kind="interface")
    function = _candidate(2)
    assert [c.id for c in fuse([[interface, function], [interface, function]])] == [2, 1]
    assert [c.id for c in fuse([[_candidate(1, kind="type"), _candidate(2)]])] == [2, 1]
    assert [c.id for c in fuse([[_candidate(1), _candidate(2)]])] == [1, 2]


def test_rrf_rewards_agreement_and_collapse_keeps_one_per_definition() -> None:
    lexical = [_candidate(1), _candidate(2), _candidate(3)]
    dense = [_candidate(3), _candidate(4), _candidate(1)]
    fused = fuse([lexical, dense])
    assert [c.id for c in fused][:2] == [1, 3]  # in both lists beats first in one
    assert fused[0].score == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 3))
    pieces = [_candidate(1, 7, "Big.method"), _candidate(2, 7, "Big.method"), _candidate(3, 8, "Big.method")]
    assert [c.id for c in collapse(pieces)] == [1, 3]


@pytest.mark.anyio
async def test_plain_api_without_mcp(
    search_settings: Settings, search_env: dict[str, str], tmp_path: Path
) -> None:
    async with asynccontextmanager(Core(search_settings).run)() as core:
        await _plain_api(core, tmp_path)


async def _plain_api(core: Core, tmp_path: Path) -> None:
    database = await core.database()
    root = write_repo(tmp_path / "plain").resolve()
    result = await index_repository(database.pool, root, core.embedder)
    assert result.status == "done" and result.files_indexed == 5
    found = await search_code(database.pool, core.embedder, "sales tax on an invoice", path=root)
    assert found.results[0].path == str(root / "billing/invoice.py")
    assert found.dense_coverage == 1.0
    await _definition_alone_is_embedded(core, root)
    assert await remove_root(database.pool, root) == 6
    with pytest.raises(NotIndexed):
        await search_code(database.pool, core.embedder, "invoice", path=root)


async def _definition_alone_is_embedded(core: Core, root: Path) -> None:
    """A chunk whose definition carries merged module code (imports, exports) gets the vector of the
    definition alone, through the real index run."""
    import numpy as np

    from singularity_mcp.search._files import embedding_text

    database = await core.database()
    body = "function forOwn(object, iteratee) {\n  return object && baseFor(object, iteratee, keys);\n}"
    source = f"var baseFor = require('./_baseFor'),\n    keys = require('./keys');\n\n{body}\n\nmodule.exports = forOwn;\n"
    (root / "forOwn.js").write_text(source)
    await index_repository(database.pool, root, core.embedder)
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT symbol, content, embed_text, embedding FROM code_chunks WHERE rel_path = 'forOwn.js'"
        )
        ((symbol, content, embed_text, stored),) = await cur.fetchall()
    assert (symbol, content, embed_text) == ("forOwn", source.rstrip("\n"), body)
    embedder = await core.embedder()
    alone, whole = await embedder.embed(
        [embedding_text("forOwn.js", symbol, body), embedding_text("forOwn.js", symbol, content)]
    )
    stored = np.asarray(stored.to_numpy() if hasattr(stored, "to_numpy") else stored, dtype=np.float32)
    assert float(stored @ alone) > 0.999 > float(stored @ whole)


@pytest.mark.anyio
async def test_two_writers_of_one_file_take_turns(core: Core, tmp_path: Path) -> None:
    """An index run and a search's freshness re-read may write the same file at the same moment."""
    import anyio

    from singularity_mcp.search import _store
    from singularity_mcp.search._files import prepare_file

    root = tmp_path / "race"
    root.mkdir()
    (root / "mod.py").write_text("def first():\n    return 1\n")
    database = await core.database()
    row = await _store.ensure_root(database.pool, str(root))
    prepared = prepare_file(root, "mod.py", None, True)
    started = anyio.Event()

    async def write(hold_s: float) -> None:
        async with database.pool.connection() as conn, conn.transaction():
            await _store.write_files(conn, row.id, [prepared])
            started.set()
            await anyio.sleep(hold_s)  # the other writer arrives while this one is uncommitted

    async with anyio.create_task_group() as tg:
        tg.start_soon(write, 0.3)
        await started.wait()
        tg.start_soon(write, 0.0)
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM code_files WHERE root_id = %s AND rel_path = 'mod.py'", (row.id,)
        )
        assert (await cur.fetchone())[0] == 1
    await remove_root(database.pool, root)


@pytest.mark.anyio
async def test_dense_side_from_memory_is_exact_filtered_and_follows_writes(
    core: Core, tmp_path: Path
) -> None:
    """Once every vector of a root is there, the dense list comes from the in-memory copy: the same
    order as an exact scan in SQL, filters applied, and a write to the root (an edited file re-read
    by a search) reloads it."""
    import numpy as np

    from singularity_mcp.search import _memory, _searcher

    database = await core.database()
    pool = database.pool
    root = write_repo(tmp_path / "memory").resolve()
    await index_repository(pool, root, core.embedder)
    vector = (await (await core.embedder()).embed(["retry a failing call with a growing wait"]))[0]
    scope = await _searcher.resolve_scope(pool, root, None)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT generation FROM code_roots WHERE path = %s", (str(root),))
        (generation,) = await cur.fetchone()
        cur = await conn.execute(  # every vector, to score exactly here
            "SELECT id, embedding, name_embedding FROM code_chunks WHERE root_id = ANY(%s) ORDER BY id",
            (list(scope.roots),),
        )
        rows = await cur.fetchall()
    assert all(r[1] is not None and r[2] is not None for r in rows)  # both vectors of every chunk

    def cosine(stored: object) -> float:
        v = np.asarray(stored.to_numpy(), dtype=np.float32)  # type: ignore[attr-defined]
        return float(v @ vector / np.linalg.norm(v))

    scored = {r[0]: cosine(r[1]) + _memory.NAME_WEIGHT * cosine(r[2]) for r in rows}
    exact = sorted(scored, key=lambda i: (-scored[i], i))
    held = await _memory.copies(pool, {next(iter(scope.roots)): generation}, 100)

    def nearest(scope: _searcher.Scope, limit: int) -> list[_searcher.Candidate]:
        return [_searcher.remembered(held[h.root_id], h) for h in _memory.nearest(held, scope, vector, limit)]

    assert [c.id for c in nearest(scope, 5)] == exact[:5]
    async with pool.connection() as conn:  # a remembered hit is the chunk's row as the database has it
        cur = await conn.execute(
            "SELECT c.rel_path, c.start_line, c.end_line, c.symbol, c.kind, c.language, c.content, f.size, "
            "f.mtime_ns FROM code_chunks c JOIN code_files f ON f.id = c.file_id WHERE c.id = %s",
            (exact[0],),
        )
        stored = await cur.fetchone()
    first = nearest(scope, 1)[0]
    assert (
        first.rel_path,
        first.start_line,
        first.end_line,
        first.symbol,
        first.kind,
        first.language,
    ) == stored[:6]
    assert (first.content, first.size, first.mtime_ns) == (stored[6][:100], stored[7], stored[8])
    go_only = await _searcher.resolve_scope(pool, root, "go")
    hits = nearest(go_only, 50)
    assert hits and len(hits) < len(exact)
    assert {c.language for c in hits} == {"go"}
    sub = await _searcher.resolve_scope(pool, root / "billing", None)
    assert {c.rel_path.split("/")[0] for c in nearest(sub, 50)} == {"billing"}

    (root / "server" / "health.go").write_text(
        "package server\n\nfunc ExponentialRetryLoop(fn func() error) error {\n\treturn fn()\n}\n"
    )
    found = await search_code(pool, core.embedder, "retry a failing call with a growing wait", path=root)
    assert found.results[0].symbol == "ExponentialRetryLoop"  # re-read, re-embedded, in memory
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT generation FROM code_roots WHERE path = %s", (str(root),))
        (moved,) = await cur.fetchone()
    assert moved > generation
    held = _memory._CACHES[pool].roots[next(iter(scope.roots))]
    assert held.generation == moved and held.named  # the search went through the reloaded copy

    # An index from before name vectors (sql/0011): code vectors alone until the next run fills the names
    # in, without embedding any code again.
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE code_chunks SET name_embedding = NULL WHERE root_id = ANY(%s)", (list(scope.roots),)
        )
        await conn.execute(
            "UPDATE code_roots SET generation = generation + 1 WHERE id = ANY(%s)", (list(scope.roots),)
        )
    await search_code(pool, core.embedder, "retry a failing call with a growing wait", path=root)
    assert not _memory._CACHES[pool].roots[next(iter(scope.roots))].named
    rerun = await index_repository(pool, root, core.embedder)
    assert rerun.vectors_filled == 0
    await search_code(pool, core.embedder, "retry a failing call with a growing wait", path=root)
    assert _memory._CACHES[pool].roots[next(iter(scope.roots))].named
    await remove_root(pool, root)
    assert next(iter(scope.roots)) not in _memory._CACHES[pool].roots


@pytest.mark.anyio
async def test_keyword_side_from_memory_scores_as_the_sql_statement(
    core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keyword list from a root's postings in memory is the SQL statement's: the same chunks in the
    same order with the same scores and exact-name strengths, whole or filtered by language or folder,
    with a first stage wider than the fixture and one that keeps three chunks."""
    import numpy as np

    from singularity_mcp.search import _keyword, _memory, _searcher

    database = await core.database()
    pool = database.pool
    root = write_repo(tmp_path / "keywords").resolve()
    await index_repository(pool, root, core.embedder)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id, generation FROM code_roots WHERE path = %s", (str(root),))
        (root_id, generation) = await cur.fetchone()
    held = await _memory.copies(pool, {root_id: generation}, 100)
    scopes = [
        await _searcher.resolve_scope(pool, root, None),
        await _searcher.resolve_scope(pool, root, "python"),
        await _searcher.resolve_scope(pool, root / "billing", None),
    ]
    queries = [
        "compute_shipping_cost for an express parcel", "ParcelTracker depot scan", "parse the query string",
        "invoice total with sales tax", "health handler for the load balancer", "rotate slides", "tax",
    ]  # fmt: skip
    compared = 0

    async def compare(held: dict[int, _memory.RootCopy]) -> None:
        nonlocal compared
        for scope, query, first_stage in itertools.product(scopes, queries, (120, 3)):
            monkeypatch.setattr(_keyword, "FIRST_STAGE", first_stage)
            terms = await _searcher._query_terms(pool, scope, query)
            from_sql = await _searcher._lexical(pool, scope, terms, 50)
            from_memory = _memory.keyword(held, scope, terms, 50)
            assert [c.id for c in from_sql] == [
                _searcher.remembered(held[h.root_id], h).id for h in from_memory
            ]
            assert [c.score for c in from_sql] == pytest.approx([h.score for h in from_memory])
            assert [c.exact for c in from_sql] == [h.exact for h in from_memory]
            compared += len(from_sql)
        monkeypatch.undo()

    await compare(held)
    assert compared > 20
    exact = _memory.keyword(held, scopes[0], await _searcher._query_terms(pool, scopes[0], queries[0]), 5)
    assert _searcher.remembered(held[exact[0].root_id], exact[0]).symbol == "compute_shipping_cost"
    assert exact[0].exact == COMPOUND

    # An edit (a search re-reads the changed file) and a new file (re-indexed): the next copy carries the
    # unchanged rows over and reads the rest, and is what a copy read from scratch would be.
    (root / "billing" / "invoice.py").write_text(
        "def invoice_total_with_tax(lines, tax_rate):\n    return sum(lines) * (1 + tax_rate)\n\n\n"
        "def parcel_refund(parcel, reason):\n    return parcel.price if reason else 0\n"
    )
    (root / "billing" / "refunds.go").write_text(
        "package billing\n\nfunc RefundParcel(id string) error {\n\treturn nil\n}\n"
    )
    await index_repository(pool, root, core.embedder)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT generation FROM code_roots WHERE id = %s", (root_id,))
        (moved,) = await cur.fetchone()
    carried = await _memory.copies(pool, {root_id: moved}, 100)
    scratch = await _memory._load(pool, root_id, moved, 100, None)
    again = carried[root_id]
    assert again is not held[root_id] and again.ids.tolist() == scratch.ids.tolist()
    assert again.chunks == scratch.chunks and again.digests == scratch.digests and again.named
    assert np.allclose(again.vectors, scratch.vectors)
    before = {c[0]: c for c in held[root_id].chunks}
    assert sum(before.get(c[0]) is c for c in again.chunks) >= len(before) // 2  # carried, not read again
    assert any(c[0] not in before and c[3] == "billing/refunds.go" for c in again.chunks)
    assert again.postings.words.tolist() == scratch.postings.words.tolist()
    for lexeme in scratch.postings.terms:
        mine, theirs = again.postings.of(lexeme), scratch.postings.of(lexeme)
        assert mine is not None and theirs is not None

        def entries(p: _memory.Postings, span: slice) -> set:
            return set(zip(p.rows[span].tolist(), p.tf[span].tolist(), p.flags[span].tolist(), strict=True))

        assert entries(again.postings, mine) == entries(scratch.postings, theirs), lexeme
    await compare(carried)
    await remove_root(pool, root)
