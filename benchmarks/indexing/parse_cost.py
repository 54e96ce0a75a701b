"""What the lexical phase spends on tree-sitter per file: chunking, the symbol pass, and both in the
order the indexer runs them (chunks, then symbols, per file). Best of 3 rounds.

    python benchmarks/indexing/parse_cost.py FOLDER [FOLDER ...]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from singularity_mcp.analysis import chunk_source, detect_language
from singularity_mcp.search._symbols import extract_file_symbols

SUFFIXES = (".py", ".js", ".ts", ".go", ".rs")


def load(folders: list[str]) -> list[tuple[str, str, str]]:
    files = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and path.suffix in SUFFIXES:
                text = path.read_text(errors="replace")
                language = detect_language(path, text[:256].encode())
                if language:
                    files.append((text, language, str(path)))
    return files


def best_of_3(files: list[tuple[str, str, str]], work: Callable[[str, str, str], object]) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        for text, language, path in files:
            work(text, language, path)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    files = load(sys.argv[1:])

    def both(text: str, language: str, path: str) -> None:
        chunk_source(text, language, path, max_tokens=256)
        extract_file_symbols(text, language, path)

    print(f"{len(files)} files")
    print(
        f"chunks only:             {best_of_3(files, lambda t, lang, p: chunk_source(t, lang, p, max_tokens=256)):.2f} s"
    )
    print(f"symbols only:            {best_of_3(files, extract_file_symbols):.2f} s")
    print(f"chunks then symbols:     {best_of_3(files, both):.2f} s")


if __name__ == "__main__":
    main()
