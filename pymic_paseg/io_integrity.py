"""Input integrity: an image file is complete and its voxels are finite, or it is refused.

SimpleITK reads a truncated ``.nii.gz`` without error (the missing half becomes
zeros) and reads NaN/inf voxels of a NIfTI file as 0, silently. Every command that
reads images (``clicks``, ``expand``, and ``train``/``test`` through a pre-flight
scan of their CSV files) calls :func:`check_image_file` first:

1. the whole file is read and, for ``.gz``, fully decompressed: a gzip stream that
   ends early or has a bad checksum is refused;
2. for NIfTI (``.nii``, ``.nii.gz``; NIfTI-1 and -2, either byte order), the voxel
   data must be as long as the header says (``vox_offset + voxels x bytes``);
   other formats are read with SimpleITK;
3. NaN/inf voxels are refused (``nonfinite = "error"``, the default) or, as an
   explicit option (``nonfinite = "mask"``), reported with a warning and returned
   as a mask, so the caller can leave them out (``expand`` removes them from
   Omega_M; SimpleITK and PyMIC read them as 0).

Errors are :class:`CorruptImageError` (a ``ValueError``) naming the file.
"""
from __future__ import annotations

import gzip
import logging
import struct
import zlib
from typing import Optional, Tuple

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["CorruptImageError", "check_image_file", "NONFINITE_CHOICES"]

NONFINITE_CHOICES = ("error", "mask")
_GZIP_MAGIC = b"\x1f\x8b"
_NIFTI1, _NIFTI2 = 348, 540


class CorruptImageError(ValueError):
    """An image file is truncated, inconsistent with its header, or holds NaN/inf."""


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read()
    if path.endswith(".gz") or data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as err:
            raise CorruptImageError(f"{path}: the gzip stream is truncated or corrupt ({err}); "
                                    "the file was not completely written or copied") from None
    return data


def _nifti_header(data: bytes, path: str):
    import nibabel as nib
    for order in "<>":
        if len(data) >= 4 and struct.unpack(f"{order}i", data[:4])[0] in (_NIFTI1, _NIFTI2):
            size = struct.unpack(f"{order}i", data[:4])[0]
            klass = nib.Nifti1Header if size == _NIFTI1 else nib.Nifti2Header
            try:
                return klass.from_fileobj(_Buffer(data), check=False)
            except Exception as err:  # noqa: BLE001 - nibabel raises several types
                raise CorruptImageError(f"{path}: unreadable NIfTI header ({err})") from None
    raise CorruptImageError(f"{path}: not a NIfTI file (header size is neither 348 nor 540)")


class _Buffer:
    """A minimal read-only file object over bytes (nibabel reads the header from it)."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self.data) if n < 0 else self.pos + n
        chunk = self.data[self.pos:end]
        self.pos += len(chunk)
        return chunk

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = pos if whence == 0 else (self.pos + pos if whence == 1 else len(self.data) + pos)
        return self.pos

    def tell(self) -> int:
        return self.pos


def _nifti_voxels(path: str) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """The stored voxel values (flat, unscaled) and the shape (x, y, z, ...)."""
    data = _read_bytes(path)
    header = _nifti_header(data, path)
    shape = tuple(int(n) for n in header.get_data_shape())
    dtype = header.get_data_dtype()
    offset = int(header.get_data_offset())
    count = int(np.prod(shape)) if shape else 0
    needed = offset + count * dtype.itemsize
    if len(data) < needed:
        raise CorruptImageError(
            f"{path}: holds {max(len(data) - offset, 0)} bytes of voxel data, its header says "
            f"{count * dtype.itemsize} ({'x'.join(map(str, shape))} voxels of {dtype}); "
            "the file is truncated")
    return np.frombuffer(data, dtype=dtype, count=count, offset=offset), shape


def _other_voxels(path: str) -> Tuple[np.ndarray, Tuple[int, ...]]:
    import SimpleITK as sitk
    try:
        array = sitk.GetArrayFromImage(sitk.ReadImage(path))
    except RuntimeError as err:
        text = str(err).split("sitk::ERROR: ", 1)[-1]
        raise CorruptImageError(f"{path}: unreadable image ({' '.join(text.split())})") from None
    return array.ravel(order="C"), tuple(reversed(array.shape))


def check_image_file(path: str, nonfinite: str = "error") -> Optional[np.ndarray]:
    """Check one image file (see the module docstring).

    Args:
        path: the image file.
        nonfinite: ``"error"`` refuses NaN/inf voxels; ``"mask"`` warns and returns them.

    Returns:
        ``None`` when every voxel is finite; with ``nonfinite="mask"``, a boolean array
        of the image's ``(z, y, x)`` shape (SimpleITK's order), True where a voxel is
        NaN or inf.

    Raises:
        CorruptImageError: truncated or corrupt file, or NaN/inf with ``"error"``.
        ValueError: ``nonfinite`` is neither ``"error"`` nor ``"mask"``.
    """
    if nonfinite not in NONFINITE_CHOICES:
        raise ValueError(f"nonfinite must be one of {NONFINITE_CHOICES}. Got: {nonfinite!r}")
    is_nifti = path.endswith((".nii", ".nii.gz"))
    voxels, shape = _nifti_voxels(path) if is_nifti else _other_voxels(path)
    if voxels.dtype.kind not in "fc":
        return None
    bad = ~np.isfinite(voxels)
    n_bad = int(bad.sum())
    if not n_bad:
        return None
    counts = f"{int(np.isnan(voxels).sum())} NaN and {int(np.isinf(voxels).sum())} inf voxel(s)"
    if nonfinite == "error":
        raise CorruptImageError(f"{path}: holds {counts} of {voxels.size}; fix the image, or "
                                "mask them explicitly (expand: --nonfinite mask)")
    logger.warning("%s: %s masked out (read as 0)", path, counts)
    order = "F" if is_nifti else "C"
    return bad.reshape(shape, order=order).T if is_nifti else bad.reshape(tuple(reversed(shape)))
