"""Config validation before any data is read: every fault, each naming section and key.

PyMIC looks up ``WSLMethodDict[method]`` and reads the CSV files before our agents
exist, so a mistake there gives a ``KeyError`` or a traceback mid-run (for the
validation CSV, after training has started). ``pymic_run train`` / ``test`` call
:func:`validate_config` right after PyMIC has parsed the file (and ``--set`` was
applied), before PyMIC dispatches; :func:`config_faults` returns the list of
faults, so a ``check`` command can report them all. What is checked:

* section names (a misspelled ``[trainning]`` gets the closest known name), and
  values holding an inline ``# comment`` (PyMIC's parser keeps it in the value);
* ``[dataset] supervise_type``, ``task_type``, the method name of the method
  section, and every transform, network and loss name (:mod:`pymic_paseg.preflight`);
* ``[training]``: ``optimizer`` and ``lr_scheduler`` names and the keys each needs,
  ``learning_rate > 0``, ``momentum`` in [0, 1], ``weight_decay >= 0``, the loop's
  iteration keys (:class:`~pymic_paseg.agents.settings.LoopSettings`);
* keys: a required key that is missing, or an unknown key close to a known one
  (``learning_rat``, ``iter_vaild``), with the closest match;
* files: each CSV exists and has rows, and every file it lists exists; with
  ``[dataset] image_check = full`` (default) each listed image is also checked by
  :func:`~pymic_paseg.io_integrity.check_image_file` (complete, no NaN/inf unless
  ``[dataset] nonfinite_voxels = mask``).
"""
from __future__ import annotations

import csv
import difflib
import logging
import os
import re
from typing import Any, Callable, Iterable, List, Mapping, Optional

from pymic_paseg.config import ConfigError, Section, look_up_option

__all__ = ["config_faults", "validate_config", "KNOWN_SECTIONS", "known_key", "check_override"]

logger = logging.getLogger(__name__)

KNOWN_SECTIONS = ("dataset", "network", "network_auxiliary", "training", "testing",
                  "weakly_supervised_learning", "noisy_label_learning",
                  "semi_supervised_learning", "self_supervised_learning", "evaluation")
TASK_TYPES = ("seg", "cls", "cls_coexist", "rec")
OPTIMIZERS = ("SGD", "Adam", "SparseAdam", "Adadelta", "Adagrad", "Adamax", "ASGD", "LBFGS",
              "RMSprop", "Rprop")
#: PyMIC's schedulers and the [training] keys each one reads.
SCHEDULERS = {"ReduceLROnPlateau": ("ReduceLROnPlateau_patience", "lr_gamma"),
              "MultiStepLR": ("lr_milestones", "lr_gamma"), "StepLR": ("lr_step", "lr_gamma"),
              "CosineAnnealingLR": (), "PolynomialLR": ("lr_power",)}
IMAGE_CHECKS = ("full", "exists")
_INLINE_COMMENT = re.compile(r"\s[#;]")
_SCANNED_SUFFIXES = (".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".nhdr")  # read in full
_IMAGE_SUFFIXES = (".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".nhdr", ".h5", ".png", ".jpg")

#: keys PyMIC 0.6.2 and pymic_paseg read, per section (lower case); others may belong to
#: a component (``<Name>_param``) and are only flagged when close to one of these.
KNOWN_KEYS = {
    "dataset": """allow_missing_modal batch_operation batch_size data_csv data_csv_unlab data_dir
        data_shuffle deterministic modal_num num_worker output_dir patch_size random_seed root_dir
        supervise_type task_type tensor_type test_batch_size test_dim test_dir test_label_key
        test_transform train_batch_size train_batch_size_noise train_batch_size_unlab train_csv
        train_csv_noise train_csv_unlab train_dim train_dir train_label_key train_transform
        train_transform_unlab valid_batch_size valid_csv valid_dim valid_dir valid_label_key
        valid_transform transform image_check nonfinite_voxels diagnostic_csv""",
    "training": """ckpt_dir ckpt_init_mode ckpt_init_name ckpt_prefix class_weight deep_supervise
        deep_supervise_mode deep_supervise_weight deterministic early_stop_patience gpus iter_max
        iter_save iter_start iter_valid loss_type loss_weight loss_class_weight loss_acti_func
        loss_gce_q mixup_probability random_seed learning_rate optimizer momentum weight_decay
        nesterov lr_scheduler lr_gamma lr_milestones lr_min lr_power lr_step
        reducelronplateau_patience evaluation_metric device resume progress
        nonfinite_gradients sync_batchnorm""",
    "testing": """ckpt_mode ckpt_name ckpt_dir ckpt_prefix dmsps_test_mode
        dmsps_uncertainty_threshold evaluation_mode filename_ignore_dir filename_replace_source
        filename_replace_target gpus device label_source label_target output_csv output_dir
        post_process save_probability sliding_window_enable sliding_window_size
        sliding_window_stride test_time_dropout inference_network""",
}
KNOWN_KEYS = {k: frozenset(v.split()) for k, v in KNOWN_KEYS.items()}


def _registered_prefixes() -> List[str]:
    """``<name>_`` of every registered transform, loss and network (lower case)."""
    from pymic_paseg.registry import pymic_registry, register
    register()  # idempotent: our own components count too
    names = set()
    for registry in ("TransformDict", "SegLossDict", "SegNetDict"):
        names.update(pymic_registry(registry))
    return sorted(f"{n.lower()}_" for n in names)


def known_key(section: str, key: str, prefixes: Iterable[str] = ()) -> bool:
    key = key.lower()
    return key in KNOWN_KEYS.get(section, ()) or any(key.startswith(p) for p in prefixes)


def _close(name: str, candidates: Iterable[str], cutoff: float = 0.8) -> Optional[str]:
    match = difflib.get_close_matches(name.lower(), sorted(candidates), n=1, cutoff=cutoff)
    return match[0] if match else None


def check_override(config_sections: Mapping[str, Iterable[str]], section: str, key: str) -> None:
    """``--set SECTION.KEY``: the section must exist in the file or be known; a key that is
    neither in the file nor known is an error when it is close to one (a misspelling).
    A key far from every known one is accepted: it may be read by a component."""
    sections = set(config_sections) | set(KNOWN_SECTIONS)
    if section not in sections:
        hint = _close(section, sections, 0.6)
        raise ConfigError(f"--set {section}.{key}: unknown section [{section}]."
                          + (f" Did you mean [{hint}]?" if hint else "")
                          + f" Sections: {', '.join(sorted(sections))}")
    present = {k.lower() for k in config_sections.get(section, ())}
    if key.lower() in present or known_key(section, key, _registered_prefixes()):
        return
    if section not in KNOWN_KEYS:  # a method or network section: keys are the component's
        return
    hint = _close(key, present | KNOWN_KEYS[section])
    if hint:
        raise ConfigError(f"--set {section}.{key}: unknown key of [{section}]. "
                          f"Did you mean {hint!r}?")


class _Faults(list):
    def run(self, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except ConfigError as err:
            self.append(str(err))
            return None


def _section_faults(config: Mapping[str, Any], stage: str, faults: _Faults) -> None:
    for name in config:
        if name not in KNOWN_SECTIONS:
            hint = _close(name, KNOWN_SECTIONS, 0.6)
            faults.append(f"[{name}]: unknown section." + (f" Did you mean [{hint}]?" if hint
                                                            else "")
                          + f" Known sections: {', '.join(KNOWN_SECTIONS)}")
    required = ("dataset", "network", "training") if stage == "train" else (
        "dataset", "network", "testing")
    for name in required:
        if name not in config:
            faults.append(f"[{name}] section is missing from the config file")
    for name, values in config.items():
        for key, value in (values or {}).items() if isinstance(values, dict) else ():
            if isinstance(value, str) and _INLINE_COMMENT.search(value):
                faults.append(f"[{name}] {key} = {value}: PyMIC keeps an inline comment in the "
                              "value; put the comment on its own line")
    prefixes = _registered_prefixes()
    for name, known in KNOWN_KEYS.items():
        for key in config.get(name, {}) or {}:
            if known_key(name, key, prefixes):
                continue
            hint = _close(key, known)
            if hint:
                faults.append(f"[{name}] {key}: unknown key. Did you mean {hint!r}?")


def _required(section: Section, key: str, faults: _Faults) -> bool:
    if section.has(key):
        return True
    hint = _close(key, section.values, 0.75)
    faults.append(f"[{section.name}] {key} is required but missing"
                  + (f" (found {hint!r}: misspelled?)" if hint else ""))
    return False


def _training_faults(config: Mapping[str, Any], faults: _Faults) -> None:
    from pymic_paseg.agents.settings import LoopSettings
    train = Section.of(config, "training")
    if _required(train, "learning_rate", faults):
        faults.run(lambda: train.float("learning_rate", low=0, low_open=True))
    if _required(train, "optimizer", faults):
        name = str(train.raw("optimizer"))
        if name.lower() not in {o.lower() for o in OPTIMIZERS}:
            faults.run(lambda: look_up_option(name, OPTIMIZERS, where="[training] optimizer"))
    for key in ("momentum", "weight_decay"):  # PyMIC's get_optimizer reads both
        if _required(train, key, faults):
            faults.run(lambda k=key: train.float(k, low=0, high=1 if k == "momentum" else None))
    scheduler = train.raw("lr_scheduler", None)
    if scheduler is not None:
        match = [s for s in SCHEDULERS if s.lower() == str(scheduler).lower()]
        if not match:
            faults.run(lambda: look_up_option(str(scheduler), SCHEDULERS,
                                              where="[training] lr_scheduler"))
        else:
            for key in SCHEDULERS[match[0]]:
                if not train.has(key):
                    faults.append(f"[training] {key} is required by lr_scheduler = {match[0]}")
    elif "lr_scheduler" not in {k.lower() for k in config.get("training", {})}:
        faults.append("[training] lr_scheduler is required but missing (PyMIC reads it); "
                      "name a scheduler, e.g. PolynomialLR")
    if "training" in config:
        faults.run(lambda: LoopSettings.from_config(config))


def _csv_files(path: str, root: Optional[str], what: str, faults: _Faults) -> List[str]:
    """The files a PyMIC CSV lists (``root/name``), with a fault for each missing one."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as err:
        faults.append(f"[dataset] {what} = {path}: cannot read the CSV file ({err})")
        return []
    if len(rows) < 2:
        faults.append(f"[dataset] {what} = {path}: the CSV file has no data rows")
        return []
    files, missing = [], []
    for row in rows[1:]:
        for cell in row:
            cell = cell.strip()
            if cell.lower().endswith(_IMAGE_SUFFIXES):
                full = f"{root}/{cell}"  # exactly as PyMIC's NiftyDataset joins them
                (files if os.path.isfile(full) else missing).append(full)
    if missing:
        more = f" (+{len(missing) - 3} more)" if len(missing) > 3 else ""
        faults.append(f"[dataset] {what} = {path}: {len(missing)} listed file(s) not found: "
                      f"{', '.join(missing[:3])}{more}")
    return files


def _data_faults(config: Mapping[str, Any], stage: str, faults: _Faults) -> None:
    from pymic_paseg.io_integrity import CorruptImageError, check_image_file
    data = Section.of(config, "dataset")
    image_check = faults.run(lambda: data.choice("image_check", IMAGE_CHECKS, "full"))
    nonfinite = faults.run(lambda: data.choice("nonfinite_voxels", ("error", "mask"), "error"))
    csv_keys = ("train_csv", "valid_csv") if stage == "train" else ("test_csv",)
    files: List[str] = []
    for key in csv_keys:
        if not data.has(key):
            if key != "valid_csv":
                _required(data, key, faults)
            continue
        path = str(data.raw(key))
        if not os.path.isfile(path):
            faults.append(f"[dataset] {key} = {path}: file not found")
            continue
        split = key.split("_")[0]
        root = data.raw(f"{split}_dir", None) or data.raw("train_dir", None)
        if root is None:
            faults.append(f"[dataset] train_dir is required to read {key} (PyMIC joins it "
                          "with each path of the CSV)")
            continue
        files += _csv_files(path, str(root), key, faults)
    if image_check == "full":
        for path in (f for f in dict.fromkeys(files) if f.lower().endswith(_SCANNED_SUFFIXES)):
            try:
                check_image_file(path, nonfinite or "error")
            except CorruptImageError as err:
                faults.append(f"[dataset] {err}")


def config_faults(config: Mapping[str, Any], stage: str = "train", *,
                  check_files: bool = True) -> List[str]:
    """Every fault of a parsed PyMIC config (see the module docstring), in file order."""
    from pymic_paseg.preflight import check_names
    faults = _Faults()
    _section_faults(config, stage, faults)
    data = Section.of(config, "dataset")
    faults.run(lambda: data.choice("task_type", TASK_TYPES, "seg"))
    if "dataset" in config:
        faults.run(lambda: check_names(config, stage))
    if stage == "train" and "training" in config:
        _training_faults(config, faults)
    if check_files and "dataset" in config:
        _data_faults(config, stage, faults)
    return list(faults)


def validate_config(config: Mapping[str, Any], stage: str = "train") -> None:
    """Raise one :class:`ConfigError` listing every fault (``; ``-separated), if any."""
    faults = config_faults(config, stage)
    if faults:
        more = f" ({len(faults)} faults)" if len(faults) > 1 else ""
        raise ConfigError("; ".join(faults) + more)
