"""Device resolution from [training] device / gpus."""
import pytest
import torch

from pymic_paseg.agents.device import resolve_device
from pymic_paseg.config import ConfigError


def plan(**training):
    return resolve_device({"training": training})


def test_explicit_cpu_and_empty_gpu_list():
    assert plan(device="cpu").device == torch.device("cpu")
    assert plan(gpus=[]).device == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU fallback")
def test_auto_falls_back_to_cpu_without_cuda():
    assert plan(gpus=[0]).device == torch.device("cpu")
    with pytest.raises(ConfigError, match="CUDA was requested but torch finds no CUDA device"):
        plan(device="cuda:0")


def test_bad_device_name():
    with pytest.raises(ConfigError, match=r"\[training\] device = tpu: must be auto, cpu, cuda"):
        plan(device="tpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_first_listed_gpu_is_used():
    p = plan(gpus=[0])
    assert p.device == torch.device("cuda:0") and not p.data_parallel
