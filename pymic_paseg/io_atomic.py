"""Atomic file writing: a reader never sees a half-written output.

Everything is first written to a temporary file in the destination folder
(same file system, so ``os.replace`` is atomic) and then renamed. Temporary
names keep the final suffix (``.nii.gz``, ``.pt``...) because several writers
pick the format from the file name.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, os.PathLike]

__all__ = ["atomic_path", "atomic_write_text", "remove_temporaries"]


def _suffix(path: Path) -> str:
    name = path.name
    for double in (".nii.gz", ".mrk.json", ".tar.gz"):
        if name.endswith(double):
            return double
    return path.suffix


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[str]:
    """Yield a temporary path to write to; on success it replaces ``path``.

    If the body raises, the temporary file is removed and ``path`` is untouched.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{final.name}-", suffix=_suffix(final),
                               dir=str(final.parent))
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def remove_temporaries(path: PathLike) -> None:
    """Remove the temporary files of ``path`` that a killed writer left behind."""
    final = Path(path)
    if final.parent.is_dir():
        for tmp in final.parent.glob(f".tmp-{final.name}-*"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def atomic_write_text(path: PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
