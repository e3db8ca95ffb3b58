"""Input integrity: an image file is complete and its voxels are finite, or it is refused.

SimpleITK reads a truncated ``.nii.gz`` without error (the missing half becomes
zeros) and reads NaN/inf voxels of a NIfTI file as 0, silently. Every command that
reads images (``clicks``, ``expand``, and ``train``/``test`` through a pre-flight
scan of their CSV files) calls :func:`check_image_file` first:

1. the whole file is read and, for ``.gz``, fully decompressed: a gzip stream that
   ends early or has a bad checksum is refused;
2. for NIfTI (``.nii``, ``.nii.gz``; NIfTI-1 and -2, either byte order), the voxel
   data must be as long as the header says (``vox_offset + voxels x bytes``; the
   header's ``dim``, ``datatype`` and ``vox_offset`` are read with :mod:`struct`, so
   nibabel is not needed);
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
from dataclasses import dataclass
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


#: NIfTI ``datatype`` code -> numpy type (the NIfTI-1 standard's table; RGB as bytes).
_NIFTI_DTYPES = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 32: "c8", 64: "f8", 128: "V3",
                 256: "i1", 512: "u2", 768: "u4", 1024: "i8", 1280: "u8", 1536: "f16",
                 1792: "c16", 2048: "c32", 2304: "V4"}
#: byte offsets of the fields read: (datatype, dim[8], vox_offset) and their formats.
_NIFTI_LAYOUT = {_NIFTI1: ((70, "h"), (40, "8h"), (108, "f")),
                 _NIFTI2: ((12, "h"), (16, "8q"), (168, "q"))}


@dataclass(frozen=True)
class NiftiHeader:
    """The three facts of a NIfTI-1/2 header that the size check needs."""

    shape: Tuple[int, ...]   # (x, y, z, ...) as stored
    dtype: np.dtype
    offset: int              # where the voxel data starts


def _nifti_header(data: bytes, path: str) -> NiftiHeader:
    """Parse a NIfTI-1 or NIfTI-2 header (either byte order) with :mod:`struct`."""
    for order in "<>":
        size = struct.unpack(f"{order}i", data[:4])[0] if len(data) >= 4 else 0
        if size not in _NIFTI_LAYOUT:
            continue
        if len(data) < size:
            raise CorruptImageError(f"{path}: unreadable NIfTI header (file holds {len(data)} "
                                    f"bytes, the header needs {size})")
        (type_at, type_fmt), (dim_at, dim_fmt), (off_at, off_fmt) = _NIFTI_LAYOUT[size]
        code = struct.unpack_from(f"{order}{type_fmt}", data, type_at)[0]
        dims = struct.unpack_from(f"{order}{dim_fmt}", data, dim_at)
        offset = struct.unpack_from(f"{order}{off_fmt}", data, off_at)[0]
        if code not in _NIFTI_DTYPES:
            raise CorruptImageError(f"{path}: unreadable NIfTI header (datatype {code} is "
                                    "not a NIfTI type)")
        if not 1 <= dims[0] <= 7 or min(dims[1:1 + dims[0]]) < 0:
            raise CorruptImageError(f"{path}: unreadable NIfTI header (dim = {list(dims)})")
        dtype = np.dtype(_NIFTI_DTYPES[code]).newbyteorder(order)
        return NiftiHeader(tuple(int(n) for n in dims[1:1 + dims[0]]), dtype,
                           max(int(offset), size))
    raise CorruptImageError(f"{path}: not a NIfTI file (header size is neither 348 nor 540)")


def _nifti_voxels(path: str) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """The stored voxel values (flat, unscaled) and the shape (x, y, z, ...)."""
    data = _read_bytes(path)
    header = _nifti_header(data, path)
    shape, dtype, offset = header.shape, header.dtype, header.offset
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
