"""DistributedDataParallel under ``torchrun``: one process per device, gloo or NCCL.

``torchrun --nproc_per_node N -m pymic_paseg.cli train CFG`` starts N copies of
``pymic_run train``; torchrun sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` in each.
When those are present the shared loop (:mod:`pymic_paseg.agents.loop`) runs with DDP:

* the process group is initialised from torchrun's environment: ``nccl`` when
  ``[training] device`` resolves to CUDA (each rank on ``cuda:LOCAL_RANK``;
  ``gpus`` is then ignored), ``gloo`` on CPU; the log says
  ``DDP: world size N, backend B``;
* ``[dataset] train_batch_size`` is the **global** batch, as in nnU-Net: each rank
  loads ``train_batch_size / N`` cases per iteration (it must divide), so a config
  trains with the same batch, ``iter_max`` and learning-rate schedule on any number
  of devices; the training data are split by a :class:`ShardSampler` (PyTorch's
  ``DistributedSampler``, a new permutation each epoch, ``seed = [training] random_seed``);
* gradients are averaged by DDP; the logged training losses are the mean over ranks;
  BatchNorm running statistics are averaged over ranks before each validation,
  checkpoint and SCM monitor refresh;
* rank 0 alone validates (on the unwrapped networks) and sends the result to every
  rank, so best-model tracking, ``ReduceLROnPlateau``, early stopping and SCM's monitor
  source decide the same on every rank;
* rank 0 alone writes checkpoints, pointers, TensorBoard, the curves CSV and the log;
  the other ranks log warnings and errors only. Checkpoints hold the unwrapped
  networks' weights, so any number of ranks (or a plain process) can resume them;
* ``[training] sync_batchnorm = true`` converts BatchNorm layers to ``SyncBatchNorm``
  (batch statistics over all ranks; torch supports it on CUDA only).

PyMIC's own method agents (entropy minimisation, CPS, ...) run their own inner loop,
which knows nothing of DDP: they refuse to start under torchrun.
"""
from __future__ import annotations

import inspect
import logging
import os
import random
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, TypeVar

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from pymic_paseg.config import ConfigError, Section

logger = logging.getLogger(__name__)

__all__ = ["DistContext", "ShardSampler", "launched_by_torchrun", "setup", "unwrap",
           "quiet_secondary_rank"]

ENV_KEYS = ("WORLD_SIZE", "RANK", "LOCAL_RANK")
T = TypeVar("T")


def launched_by_torchrun(env: Mapping[str, str] = os.environ) -> bool:
    """Whether this process was started by torchrun (or another launcher setting its env)."""
    return all(key in env for key in ENV_KEYS)


def unwrap(net: nn.Module) -> nn.Module:
    """The network inside a ``DataParallel`` / ``DistributedDataParallel`` wrapper."""
    wrappers = (nn.DataParallel, nn.parallel.DistributedDataParallel)
    return net.module if isinstance(net, wrappers) else net


@dataclass(frozen=True)
class DistContext:
    """This process's place in the DDP group; ``DistContext()`` = a plain single process."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    backend: str = ""
    sync_batchnorm: bool = False

    @property
    def active(self) -> bool:
        return bool(self.backend)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ---------------------------------------------------------------- networks
    def wrap(self, net: nn.Module, device: torch.device) -> nn.Module:
        """``net`` on ``device``, with SyncBatchNorm if asked, inside DDP."""
        if self.sync_batchnorm:
            net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
        net.to(device)
        ids = [device.index] if device.type == "cuda" else None
        # buffers (BatchNorm running statistics) are synced from rank 0 at construction,
        # then stay per rank during a round and are averaged by `average_buffers` before
        # they are used (as timm's `distribute_bn`); torch >= 2.14 renamed the option
        ddp = nn.parallel.DistributedDataParallel
        option = ("forward_sync_buffers" if "forward_sync_buffers"
                  in inspect.signature(ddp.__init__).parameters else "broadcast_buffers")
        return ddp(net, device_ids=ids, **{option: False})

    def average_buffers(self, module: nn.Module) -> None:
        """Average the floating-point buffers (BatchNorm running mean / variance) over ranks.

        Each rank's running statistics follow its own cases; their mean equals, for the
        running mean exactly, what one process on the global batch would hold (the
        update is linear). Called before validation, checkpoints and SCM monitor refreshes.
        """
        if not self.active:
            return
        import torch.distributed as dist
        with torch.no_grad():
            for buffer in module.buffers():
                if buffer.dtype.is_floating_point:
                    dist.all_reduce(buffer)
                    buffer.div_(self.world_size)

    def broadcast_module(self, module: nn.Module) -> None:
        """Copy rank 0's parameters and buffers into ``module`` on every rank."""
        if not self.active:
            return
        import torch.distributed as dist
        with torch.no_grad():
            for tensor in module.state_dict().values():
                dist.broadcast(tensor, src=0)

    # ---------------------------------------------------------------- collectives
    def _device(self) -> torch.device:
        return torch.device("cuda", torch.cuda.current_device()) if self.backend == "nccl" \
            else torch.device("cpu")

    def any_rank(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on at least one (e.g. a stop signal)."""
        if not self.active:
            return flag
        import torch.distributed as dist
        value = torch.tensor([1.0 if flag else 0.0], device=self._device())
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item() > 0)

    def mean_scalars(self, scalars: Dict[str, Any]) -> Dict[str, Any]:
        """Average the numeric entries of ``scalars`` over ranks (same keys on every rank)."""
        if not self.active or not scalars:
            return scalars
        import torch.distributed as dist
        keys = sorted(k for k, v in scalars.items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool))
        values = torch.tensor([float(scalars[k]) for k in keys], dtype=torch.float64,
                              device=self._device())
        dist.all_reduce(values)
        out = dict(scalars)
        out.update(zip(keys, (values / self.world_size).tolist()))
        return out

    def on_main(self, func: Callable[[], T]) -> T:
        """Run ``func`` on rank 0 only and return its (picklable) result on every rank."""
        if not self.active:
            return func()
        import torch.distributed as dist
        box = [func() if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist
            dist.barrier()

    def seed_rank(self, seed: int, iteration: int) -> None:
        """Give ranks > 0 their own augmentation streams (rank 0 keeps the plain loop's)."""
        if self.active and self.rank > 0:
            value = (int(seed) + 1_000_003 * self.rank + int(iteration)) % 2 ** 32
            random.seed(value)
            np.random.seed(value)
            torch.manual_seed(value)

    # ---------------------------------------------------------------- data
    def shard_loader(self, loader: DataLoader, seed: int) -> DataLoader:
        """``loader`` (PyMIC's training loader) reading only this rank's share."""
        sampler = ShardSampler(loader.dataset, num_replicas=self.world_size, rank=self.rank,
                               shuffle=True, seed=int(seed), drop_last=True)
        if len(sampler) < loader.batch_size:
            raise ConfigError(f"[dataset] train_csv: {len(loader.dataset)} training case(s) "
                              f"give {len(sampler)} per rank over {self.world_size} ranks, fewer "
                              f"than the per-rank batch of {loader.batch_size}")
        return DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=sampler,
                          num_workers=loader.num_workers, worker_init_fn=loader.worker_init_fn,
                          collate_fn=loader.collate_fn, pin_memory=loader.pin_memory,
                          drop_last=True)


class NullWriter:
    """TensorBoard writer of DDP ranks > 0: accepts everything, writes nothing."""

    def add_scalar(self, *args, **kwargs) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class ShardSampler(DistributedSampler):
    """``DistributedSampler`` that moves to the next epoch by itself.

    Each ``iter()`` uses the current ``epoch`` (permutation seeded by ``seed + epoch``,
    the same on every rank; rank ``r`` takes items ``r, r + N, ...``) and then
    increments it, so loops that simply re-create the loader's iterator (ours and
    PyMIC's) get a new order each epoch without calling ``set_epoch``. With a global
    batch ``B`` split in ``B / N`` per rank, batch ``k`` of an epoch holds the same cases
    for every ``N`` (items ``kB .. kB + B - 1`` of the permutation).
    """

    def __iter__(self):
        indices = super().__iter__()
        self.set_epoch(self.epoch + 1)
        return indices


def _split_batch(config: Dict[str, Any], world_size: int) -> None:
    dataset = Section.of(config, "dataset")
    batch = dataset.int("train_batch_size", low=1)
    if batch % world_size:
        raise dataset.fail("train_batch_size", batch,
                           f"is the global batch under DDP and must be a multiple of the "
                           f"world size ({world_size})")
    config["dataset"]["train_batch_size"] = batch // world_size


def setup(config: Dict[str, Any], plan, *, supported: bool, agent: str,
          env: Mapping[str, str] = os.environ) -> Tuple[DistContext, Any]:
    """Initialise DDP when launched by torchrun; return the context and the device plan.

    Outside torchrun this returns ``(DistContext(), plan)`` and changes nothing.
    Under torchrun it divides the global batch between ranks (in ``config``),
    initialises the process group and picks this rank's device.
    """
    from pymic_paseg.agents.device import DevicePlan
    training = Section.of(config, "training")
    sync_bn = training.bool("sync_batchnorm", False)
    if not launched_by_torchrun(env):
        return DistContext(), plan
    if not supported:
        raise ConfigError(f"{agent} runs PyMIC's own inner training loop, which does not "
                          "support DistributedDataParallel: run it in one process "
                          "(`pymic_run train CFG`, with `gpus = [0, 1]` for DataParallel) "
                          "instead of under torchrun")
    world, rank, local = (int(env[k]) for k in ENV_KEYS)
    cuda = plan.device.type == "cuda"
    if sync_bn and not cuda:
        raise training.fail("sync_batchnorm", True, "needs CUDA devices (torch's "
                            "SyncBatchNorm runs on GPUs only); set it to false on CPU")
    if cuda:
        if local >= torch.cuda.device_count():
            raise ConfigError(f"torchrun LOCAL_RANK {local}: this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s); start at most that "
                              "many processes per node (--nproc_per_node)")
        torch.cuda.set_device(local)
        plan = DevicePlan(torch.device("cuda", local), [local])
    backend = "nccl" if cuda else "gloo"
    _split_batch(config, world)
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    context = DistContext(world, rank, local, backend, sync_bn)
    logger.info("DDP: world size %d, backend %s (rank %d: %s, %d case(s) per rank per "
                "iteration)", world, backend, rank, plan.device,
                config["dataset"]["train_batch_size"])
    return context, plan


def quiet_secondary_rank(train_module: Any = None,
                         env: Mapping[str, str] = os.environ) -> bool:
    """On ranks > 0 of a torchrun launch: log warnings and errors only, write no files.

    Called by ``pymic_run train`` before PyMIC's ``main()`` configures logging (a root
    handler already present makes its ``basicConfig`` a no-op, so no log file is made)
    and copies the config into ``ckpt_dir`` (``train_module.wrtie_config``, made a no-op
    here). Returns whether it did.
    """
    if not launched_by_torchrun(env) or int(env["RANK"]) == 0:
        return False
    if train_module is not None:
        train_module.wrtie_config = lambda *args, **kwargs: None
    root = logging.getLogger()
    root.addHandler(logging.NullHandler())
    root.setLevel(logging.WARNING)
    return True


def finish(context: Optional[DistContext]) -> None:
    """Wait for every rank, then tear the process group down (end of training)."""
    if context is None or not context.active:
        return
    import torch.distributed as dist
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
