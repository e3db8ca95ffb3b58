"""The one device-aware outer training loop shared by every agent we run.

:class:`DeviceAwareLoop` is a mixin placed in front of a PyMIC agent class.
It replaces PyMIC's ``train_valid()`` (which hard-codes ``cuda:N``) with a loop
that runs on CPU, one GPU or several GPUs (``nn.DataParallel``, as PyMIC does)
and adds checkpoint resume, atomic checkpoints, TensorBoard scalars and a
progress bar. The inner loop stays the agent's own ``training()``:

* our agents (:class:`~pymic_paseg.agents.base.PasegSegAgent`) supply only
  their loss terms;
* PyMIC's own method agents (entropy minimisation, TV, ...) keep their
  ``training()`` and get our outer loop by :func:`~pymic_paseg.agents.routing.device_aware`.

Agents with several networks (e.g. SCM) return one :class:`TrainMember` per
network from :meth:`build_members`; the loop treats them as a list.
"""
from __future__ import annotations

import copy
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import torch
from torch import nn
from torch.optim import lr_scheduler

from pymic_paseg.agents import checkpoint as ckpt
from pymic_paseg.agents import distributed
from pymic_paseg.agents.device import DevicePlan, resolve_device
from pymic_paseg.agents.inference import InferenceMixin
from pymic_paseg.agents.rng_state import (capture_rng, current_position, restore_rng,
                                          resume_iterator)
from pymic_paseg.agents.settings import LoopSettings, coerce_numeric_strings
from pymic_paseg.agents.tracking import RoundLogger
from pymic_paseg.errors import Interrupted
from pymic_paseg.interrupts import StopSignals
from pymic_paseg.preflight import check_names

logger = logging.getLogger(__name__)


@dataclass
class TrainMember:
    """One trained network with its optimiser, scheduler and best-so-far record."""

    name: str
    net: nn.Module
    prefix: str
    optimizer: Any = None
    scheduler: Any = None
    best_dice: float = -math.inf
    best_it: int = 0
    best_state: Optional[Dict[str, torch.Tensor]] = None
    resume_state: Optional[Dict[str, Any]] = field(default=None, repr=False)

    def module(self) -> nn.Module:
        return distributed.unwrap(self.net)


class DeviceAwareLoop(InferenceMixin):
    """Outer loop: device, members, resume, validation rounds, checkpoints, logging."""

    #: True when ``training()`` advances ``glob_it`` per iteration and honours
    #: :meth:`round_length` and :meth:`stop_requested` (ours); PyMIC's agents run whole rounds.
    counts_iterations = False

    def __init__(self, config, stage: str = "train"):
        from pymic_paseg.registry import register
        register()  # idempotent; lets notebook users construct our agents directly
        coerce_numeric_strings(config)
        check_names(config, stage)
        if stage == "train":
            self.loop_settings = LoopSettings.from_config(config)
            config["training"].setdefault("iter_valid", self.loop_settings.iter_valid)
            self.device_plan: DevicePlan = resolve_device(config, "training")
            #: DDP under torchrun (see :mod:`~pymic_paseg.agents.distributed`), else inactive
            self.dist, self.device_plan = distributed.setup(
                config, self.device_plan, supported=self.counts_iterations,
                agent=type(self).__name__)
        super().__init__(config, stage)
        self.members: List[TrainMember] = []
        self.glob_it = 0

    # ------------------------------------------------------------ hooks
    def build_members(self) -> List[TrainMember]:
        """Networks trained by this agent; the first one is the primary."""
        return [TrainMember("net", self.net, self.loop_settings.prefix)]

    def extra_state(self) -> Dict[str, Any]:
        """Method-specific state saved with each checkpoint (e.g. SCM monitors)."""
        return {}

    def load_extra_state(self, state: Dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` saved."""

    def on_round_end(self, glob_it: int) -> None:
        """Called after each validation round (e.g. to refresh SCM monitors)."""

    def on_train_start(self, start_it: int) -> None:
        """Called once before the first round (after weights and optimisers are set up)."""

    def on_train_end(self) -> None:
        """Called once after the last round."""

    def round_length(self) -> int:
        """Iterations of the current round (shorter after resuming mid-round)."""
        return getattr(self, "_round_iters", None) or self.loop_settings.iter_valid

    def stop_requested(self) -> bool:
        """Whether SIGINT/SIGTERM asked the loop to save and stop (on any DDP rank)."""
        stop = getattr(self, "_stop", None)
        return self._dist().any_rank(stop is not None and stop.requested)

    def _dist(self) -> distributed.DistContext:
        return getattr(self, "dist", None) or distributed.DistContext()

    def sync_buffers(self) -> None:
        """DDP: average the members' BatchNorm running statistics over ranks."""
        for member in self.members:
            self._dist().average_buffers(member.module())

    def validate_round(self) -> Optional[Dict[str, Any]]:
        """:meth:`validation`, run on DDP rank 0 only; every rank gets its result."""
        return self._dist().on_main(self.validation)

    # ------------------------------------------------------------ data
    def create_dataset(self) -> None:
        super().create_dataset()
        if self.stage == "train" and self._dist().active:
            self.train_loader = self.dist.shard_loader(self.train_loader, self.random_seed)

    # ------------------------------------------------------------ setup
    def _place_members(self) -> None:
        plan = self.device_plan
        self.device = plan.device
        for member in self.members:
            if self._dist().active:
                member.net = self.dist.wrap(member.net, plan.device)
                continue
            member.net.to(plan.device)
            if plan.data_parallel:
                member.net = nn.DataParallel(member.net, device_ids=plan.gpu_ids)
        self.net = self.members[0].net
        if self._dist().active:
            return
        logger.info("training on %s%s", plan.device,
                    f" (DataParallel over GPUs {plan.gpu_ids})" if plan.data_parallel else "")

    def _create_optimizers(self, start_it: int) -> None:
        from pymic.net_run.get_optimizer import get_lr_scheduler, get_optimizer
        params = dict(self.config["training"])
        params["last_iter"] = start_it - 1 if start_it > 0 else -1
        for member in self.members:
            target = member.module()
            to_update = (target.get_parameters_to_update()
                         if hasattr(target, "get_parameters_to_update") else target.parameters())
            member.optimizer = get_optimizer(params["optimizer"], to_update, params)
            member.scheduler = get_lr_scheduler(member.optimizer, params)
            state = member.resume_state
            if state is not None and "optimizer_state_dict" in state:
                member.optimizer.load_state_dict(state["optimizer_state_dict"])
                if member.scheduler is not None and "scheduler_state_dict" in state:
                    member.scheduler.load_state_dict(state["scheduler_state_dict"])
            member.resume_state = None
        self.optimizer = self.members[0].optimizer
        self.scheduler = self.members[0].scheduler

    def _restore(self) -> int:
        """Load initial weights or resume; return the iteration to start from."""
        s = self.loop_settings
        if s.resume:
            it = ckpt.read_pointer(s.ckpt_dir, self.members[0].prefix, "latest")
            if it is not None:
                states = []
                for member in self.members:
                    path = ckpt.checkpoint_file(s.ckpt_dir, member.prefix, it)
                    state = ckpt.load_checkpoint(path, map_location=self.device)
                    ckpt.load_model_weights(member.net, state["model_state_dict"], str(path))
                    member.resume_state = state
                    member.best_dice = float(state.get("best_valid_dice", -math.inf))
                    member.best_it = int(state.get("best_iteration", 0))
                    states.append(state)
                self.load_extra_state(states[0].get("extra", {}) or {})
                self._resume_rng = states[0].get("rng")
                self._resume_position = states[0].get("data_position")
                logger.info("resuming from iteration %d (%s)", it, s.ckpt_dir)
                return it
            logger.info("resume requested but %s has no checkpoint yet: starting from 0",
                        s.ckpt_dir)
        path = s.init_path()
        if path is None:
            return 0
        state = ckpt.load_checkpoint(path, map_location=self.device)
        member = self.members[0]
        if s.init_mode == 0:
            self.load_pretrained_weights(member.module(), state["model_state_dict"], [0])
            return 0
        ckpt.load_model_weights(member.net, state["model_state_dict"], path)
        member.resume_state = state
        member.best_dice = float(state.get("valid_pred", -math.inf))
        return int(state["iteration"])

    # ------------------------------------------------------------ loop
    def train_valid(self) -> None:
        from tensorboardX import SummaryWriter
        s = self.loop_settings
        if self._dist().is_main:
            ckpt.remove_stale_temp_files(s.ckpt_dir)
        self.members = self.build_members()
        self._place_members()
        self._resume_rng = self._resume_position = None
        start_it = self._restore()
        self._create_optimizers(start_it)
        self.create_loss_calculator()
        self.trainIter = resume_iterator(self.train_loader, self._resume_position)
        if getattr(self, "train_loader_unlab", None) is not None:  # PyMIC's SSL agents
            self.trainIter_unlab = iter(self.train_loader_unlab)
        restore_rng(self._resume_rng)  # after the iterator: it may draw from the RNGs
        main = self._dist().is_main  # DDP: rank 0 alone writes files
        self._dist().seed_rank(self.random_seed, start_it)
        self.summ_writer = SummaryWriter(s.ckpt_dir) if main else distributed.NullWriter()
        self.glob_it = start_it
        # one curves CSV per training: a resumed run continues the rows of the file it finds
        curves = os.path.join(s.ckpt_dir, f"{s.prefix}_training_curves.csv")
        self._rounds = RoundLogger(self.summ_writer, total=s.iter_max, start=start_it,
                                   progress=s.progress and main,
                                   curves_csv=curves if main else None)
        self.on_train_start(start_it)
        try:
            with StopSignals("saving a checkpoint at the current iteration, then stopping") \
                    as self._stop:
                self._rounds_from(start_it)
        finally:
            self._rounds.close()
            self.summ_writer.close()
        for member in self.members:
            if member.best_it:
                logger.info("%s: best iteration %d, valid dice %.4f", member.name,
                            member.best_it, member.best_dice)
        self.on_train_end()
        distributed.finish(getattr(self, "dist", None))

    def _rounds_from(self, it: int) -> None:
        s, rounds = self.loop_settings, self._rounds
        while it < s.iter_max:
            end = min((it // s.iter_valid + 1) * s.iter_valid, s.iter_max)
            self._round_iters = end - it
            lr_value = self.members[0].optimizer.param_groups[0]["lr"]
            t_start = time.perf_counter()
            train_scalars = self._dist().mean_scalars(self.training())
            if not self.counts_iterations:
                self.glob_it = end
            if self.stop_requested() and self.glob_it < end:
                self._save_and_stop()
            t_train = time.perf_counter()
            self.sync_buffers()
            valid_scalars = self.validate_round()
            t_valid = time.perf_counter()
            self._step_schedulers(valid_scalars)
            self.glob_it = it = end
            rounds.log(self.glob_it, lr_value, train_scalars, valid_scalars)
            self.summ_writer.flush()  # a killed run keeps its curves
            stop = self._track_and_save(valid_scalars)
            self.on_round_end(self.glob_it)
            rounds.log_time(self.glob_it, train_scalars, train=t_train - t_start,
                            valid=t_valid - t_train,
                            other=time.perf_counter() - t_valid)
            if self.stop_requested():
                self._save_and_stop()
            if stop:
                logger.info("early stop at iteration %d", self.glob_it)
                break

    def _save_and_stop(self) -> None:
        """Write the checkpoint of the current iteration (if not yet) and raise Interrupted."""
        s, it = self.loop_settings, self.glob_it
        path = ckpt.checkpoint_file(s.ckpt_dir, self.members[0].prefix, it)
        self.sync_buffers()
        if self._dist().is_main and \
                ckpt.read_pointer(s.ckpt_dir, self.members[0].prefix, "latest") != it:
            for member in self.members:
                state = self._state(member, it, None, member.module().state_dict())
                ckpt.save_checkpoint(state, ckpt.checkpoint_file(s.ckpt_dir, member.prefix, it))
                ckpt.write_pointer(s.ckpt_dir, member.prefix, "latest", it)
        raise Interrupted(f"training stopped by {self._stop.name()} at iteration {it}; "
                          f"checkpoint {path}; continue with `pymic_run train CFG --resume`",
                          self._stop.signum)

    def _step_schedulers(self, valid_scalars: Optional[Dict[str, Any]]) -> None:
        for index, member in enumerate(self.members):
            if member.scheduler is None:
                continue
            if isinstance(member.scheduler, lr_scheduler.ReduceLROnPlateau):
                if valid_scalars is not None:
                    member.scheduler.step(self.member_dice(valid_scalars, index))
            else:
                member.scheduler.step()

    def member_dice(self, valid_scalars: Dict[str, Any], index: int) -> float:
        members = valid_scalars.get("members")
        if members:
            return float(members[self.members[index].name]["avg_fg_dice"])
        return float(valid_scalars["avg_fg_dice"])

    def _state(self, member: TrainMember, iteration: int, valid_dice: Optional[float],
               weights: Dict[str, torch.Tensor]) -> Dict[str, Any]:
        state = {"iteration": int(iteration), "model_state_dict": weights,
                 "optimizer_state_dict": member.optimizer.state_dict(),
                 "best_valid_dice": float(member.best_dice),
                 "best_iteration": int(member.best_it), "extra": self.extra_state(),
                 "rng": capture_rng()}
        position = current_position(getattr(self, "trainIter", None))
        if position is not None:
            state["data_position"] = position
        if member.scheduler is not None:
            state["scheduler_state_dict"] = member.scheduler.state_dict()
        if valid_dice is not None:
            state["valid_pred"] = float(valid_dice)
        return state

    def _track_and_save(self, valid_scalars: Optional[Dict[str, Any]]) -> bool:
        s, it = self.loop_settings, self.glob_it
        for index, member in enumerate(self.members):
            if valid_scalars is None:
                continue
            dice = self.member_dice(valid_scalars, index)
            if dice > member.best_dice:
                member.best_dice, member.best_it = dice, it
                member.best_state = copy.deepcopy(member.module().state_dict())
                if self._dist().is_main:
                    ckpt.save_checkpoint(self._state(member, it, dice, member.best_state),
                                         ckpt.checkpoint_file(s.ckpt_dir, member.prefix, "best"))
                    ckpt.write_pointer(s.ckpt_dir, member.prefix, "best", it)
        stop = (valid_scalars is not None and s.early_stop is not None
                and it - self.members[0].best_it > s.early_stop)
        if (it in s.iter_save or it >= s.iter_max or stop) and self._dist().is_main:
            for index, member in enumerate(self.members):
                dice = None if valid_scalars is None else self.member_dice(valid_scalars, index)
                state = self._state(member, it, dice, member.module().state_dict())
                ckpt.save_checkpoint(state, ckpt.checkpoint_file(s.ckpt_dir, member.prefix, it))
                ckpt.write_pointer(s.ckpt_dir, member.prefix, "latest", it)
        return stop
