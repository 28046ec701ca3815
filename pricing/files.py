"""Files written whole or not at all.

Every file the workbench writes (reports, workbooks, documents, sample events) goes through a
temporary file in the same folder, moved into place with ``os.replace`` only once complete: a
reader, or a run interrupted half-way, never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from pricing.errors import PricingError, ReportError

PARTIAL_SUFFIX = ".partial"  # temporary files carry it until they are moved into place


@contextmanager
def atomic_file(path: Path, error: type[PricingError] = ReportError) -> Iterator[BinaryIO]:
    """A binary file written through a temporary file in the same directory, moved into place with
    ``os.replace`` only when the block ends without an error (else removed).

    A folder that cannot be written (read-only, full, missing parent) is one ``error`` line naming
    the file (a ReportError unless the caller names its own), and no partial file is left.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise error(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; what the workbench writes is for reading
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc).strip().split("\n")[0] or type(exc).__name__
            raise error(f"{path}: cannot write: {reason}") from None
        raise


def atomic_write_bytes(path: Path, data: bytes, error: type[PricingError] = ReportError) -> Path:
    """Write ``data`` to ``path`` whole (see :func:`atomic_file`)."""
    with atomic_file(path, error) as handle:
        handle.write(data)
    return path


def atomic_write_text(path: Path, text: str, error: type[PricingError] = ReportError) -> Path:
    """Write ``text`` as UTF-8 to ``path`` whole (see :func:`atomic_file`)."""
    return atomic_write_bytes(path, text.encode("utf-8"), error)


__all__ = ["PARTIAL_SUFFIX", "atomic_file", "atomic_write_bytes", "atomic_write_text"]
