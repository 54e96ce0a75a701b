"""The embedder: a tokenizer plus an onnxruntime session, with batching for concurrent async callers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
from tokenizers import Tokenizer

from singularity_mcp.embedding._manifest import INPUTS, OUTPUT
from singularity_mcp.errors import InvalidInput

#: Texts one async drain step embeds before letting another caller's (smaller) request in.
_SLICE = 32


@dataclass(eq=False)
class _Request:
    """One async caller's texts, embedded in slices (shortest first), results written in place."""

    texts: list[str]
    out: np.ndarray
    order: np.ndarray  # indices of texts by character length, so slices pad little
    done: int = 0
    error: BaseException | None = None
    wake: anyio.Event = field(default_factory=anyio.Event)

    @property
    def remaining(self) -> int:
        return len(self.texts) - self.done

    @property
    def finished(self) -> bool:
        return self.error is not None or self.done == len(self.texts)


class Embedder:
    """Text -> L2-normalised float32 vectors (n, dimensions), from one ONNX model.

    `embed` (async) computes in a worker thread and merges concurrent callers into shared batches;
    `embed_sync` is the same computation for the CLI and benchmarks.
    """

    def __init__(
        self,
        *,
        model_id: str,
        session: Any,
        tokenizer: Tokenizer,
        dimensions: int,
        max_tokens: int,
        provider: str,
        variant: str,
        path: Path,
        reason: str = "",
        io_binding: bool = False,
        max_batch: int = 32,
        token_budget: int = 2048,
        max_pad_ratio: float = 1.05,
    ) -> None:
        self.model_id = model_id
        self.dimensions = dimensions
        self.max_tokens = max_tokens
        self.provider = provider
        self.variant = variant
        self.path = path
        self.reason = reason
        self._session = session
        self._io_binding = io_binding
        self._max_batch = max_batch
        self._token_budget = token_budget
        # A batch grows only while its longest text is within this ratio of its shortest: on CPU the
        # work is proportional to padded tokens and batching itself buys little, so padding is pure loss
        # (batches of 8 ~205-token chunks: 24 -> 29.5 chunks/s at 1.05; benchmarks/embedding/README.md).
        self._max_pad_ratio = max_pad_ratio
        self._tokenizer = tokenizer
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._pad_id = tokenizer.token_to_id("[PAD]") or 0
        self._counter: Tokenizer | None = None  # a copy without truncation, for count_tokens
        self._queue: list[_Request] = []
        self._draining = False

    def __repr__(self) -> str:
        return f"Embedder({self.model_id!r}, {self.variant}, {self.provider})"

    def count_tokens(self, text: str) -> int:
        """How many tokens the model's tokenizer makes of `text` (no truncation, no special tokens)."""
        if self._counter is None:
            counter = Tokenizer.from_str(self._tokenizer.to_str())
            counter.no_truncation()
            counter.no_padding()
            self._counter = counter
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    # --- synchronous path -------------------------------------------------------------------------

    def embed_sync(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts` in the calling thread: sorted by token length, padded per batch."""
        items = _check_texts(texts)
        out = np.empty((len(items), self.dimensions), dtype=np.float32)
        if not items:
            return out
        encodings = self._tokenizer.encode_batch(items, add_special_tokens=True)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        order = np.argsort(lengths, kind="stable")
        start = 0
        while start < len(order):
            stop = start + 1
            while (
                stop < len(order)
                and stop - start < self._max_batch
                and (stop - start + 1) * lengths[order[stop]] <= self._token_budget
                and lengths[order[stop]] <= lengths[order[start]] * self._max_pad_ratio
            ):
                stop += 1
            batch = order[start:stop]
            width = int(lengths[batch[-1]])  # longest in the batch: they are sorted
            ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, index in enumerate(batch):
                tokens = encodings[index].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            out[batch] = self._run(ids, mask)
            start = stop
        return out

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if not self._io_binding:
            return self._session.run([OUTPUT], {INPUTS[0]: ids, INPUTS[1]: mask})[0]
        binding = self._session.io_binding()
        binding.bind_cpu_input(INPUTS[0], ids)
        binding.bind_cpu_input(INPUTS[1], mask)
        binding.bind_output(OUTPUT)
        self._session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    # --- asynchronous path ------------------------------------------------------------------------

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts` off the event loop; concurrent callers share batches.

        One caller at a time drives the model (the "drainer"); each step takes up to 32 texts (one CPU
        batch) from all waiting requests, smallest requests first, so a short query is not stuck behind
        a bulk index job.
        """
        items = _check_texts(texts)
        if not items:
            return np.empty((0, self.dimensions), dtype=np.float32)
        lengths = np.fromiter((len(t) for t in items), dtype=np.int64, count=len(items))
        request = _Request(
            items, np.empty((len(items), self.dimensions), np.float32), np.argsort(lengths, kind="stable")
        )
        self._queue.append(request)
        try:
            while not request.finished:
                if self._draining:
                    await request.wake.wait()
                    request.wake = anyio.Event()
                    continue
                self._draining = True
                try:
                    while not request.finished:
                        await self._step()
                finally:
                    self._draining = False
                    for other in self._queue:  # hand over: the first to wake becomes the drainer
                        other.wake.set()
        finally:
            if request in self._queue:
                self._queue.remove(request)
        if request.error is not None:
            raise request.error
        return request.out

    async def _step(self) -> None:
        taken: list[tuple[_Request, np.ndarray]] = []
        budget = _SLICE
        for req in sorted((r for r in self._queue if not r.finished), key=lambda r: r.remaining):
            take = min(req.remaining, budget)
            taken.append((req, req.order[req.done : req.done + take]))
            budget -= take
            if budget == 0:
                break
        texts = [req.texts[i] for req, idx in taken for i in idx]
        try:
            vectors = await anyio.to_thread.run_sync(self.embed_sync, texts)
        except Exception as exc:
            for req, _ in taken:
                req.error = exc
                req.wake.set()
            return
        pos = 0
        for req, idx in taken:
            req.out[idx] = vectors[pos : pos + len(idx)]
            pos += len(idx)
            req.done += len(idx)
            if req.finished:
                req.wake.set()


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str | bytes):
        raise InvalidInput("embed() takes a list of texts, not a single string: wrap it as [text]")
    items = list(texts)
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise InvalidInput(f"text #{i} is {type(text).__name__}, not str: pass strings only")
    return items
