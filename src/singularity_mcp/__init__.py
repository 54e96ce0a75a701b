"""singularity-mcp: one local MCP server for IDE assistants."""

import os
from importlib.metadata import PackageNotFoundError, version

# numpy's BLAS (OpenBLAS) runs a thread per core and spin-waits after each product. The products here are
# small (a query against a root's vectors: a fraction of a millisecond on one thread), and on a small
# machine the spinning threads take the CPUs from onnxruntime and PostgreSQL: in-process semantic_search
# p50 55 -> 19 ms on the search benchmark (2 cores, load 2.5). Only takes effect before numpy is loaded;
# a value set by the user wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

try:
    __version__ = version("singularity-mcp")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
