"""The struct-based NIfTI header reader of io_integrity against nibabel (where installed)."""
from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
import SimpleITK as sitk

from pymic_paseg.io_integrity import CorruptImageError, _nifti_header, check_image_file

nib = pytest.importorskip("nibabel")


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32", "float64", "uint16", "int64"])
@pytest.mark.parametrize("kind", ["nifti1", "nifti2", "nifti1_big_endian", "sitk"])
def test_header_matches_nibabel(tmp_path, dtype, kind):
    array = np.arange(4 * 5 * 6, dtype=dtype).reshape(6, 5, 4)
    path = tmp_path / f"{kind}_{dtype}.nii.gz"
    if kind == "sitk":
        sitk.WriteImage(sitk.GetImageFromArray(array), str(path))
    else:
        klass = nib.Nifti2Image if kind == "nifti2" else nib.Nifti1Image
        stored = array.astype(np.dtype(dtype).newbyteorder(">")) \
            if kind == "nifti1_big_endian" else array
        image = klass(stored, np.eye(4), dtype=stored.dtype)
        nib.save(image, str(path))
    data = gzip.decompress(path.read_bytes())
    ours = _nifti_header(data, str(path))
    klass = nib.Nifti2Header if kind == "nifti2" else nib.Nifti1Header
    theirs = klass.from_fileobj(io.BytesIO(data), check=False)  # the stored header as is
    assert ours.shape == tuple(int(n) for n in theirs.get_data_shape())
    assert ours.dtype == theirs.get_data_dtype()
    assert ours.offset == int(theirs.get_data_offset())
    assert check_image_file(str(path)) is None


def test_bad_header_fields_are_named(tmp_path):
    path = tmp_path / "a.nii"
    nib.save(nib.Nifti1Image(np.zeros((2, 3, 4), np.float32), np.eye(4)), str(path))
    data = bytearray(path.read_bytes())
    data[70:72] = (999).to_bytes(2, "little")
    with pytest.raises(CorruptImageError, match="datatype 999"):
        _nifti_header(bytes(data), str(path))
    with pytest.raises(CorruptImageError, match="neither 348 nor 540"):
        _nifti_header(b"\x00" * 400, str(path))
