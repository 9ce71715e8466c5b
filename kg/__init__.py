"""Healthcare micro-politics knowledge graph: coded interview studies as validated linked data.

The public API is deliberately small; the CLI (``hmp``) and the HTTP service are thin shells
over it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hmp-kg")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
