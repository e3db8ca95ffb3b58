"""The two_class preset: two lesion classes per case, their clicks and their expansion."""
import json

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from pymic_paseg.annotation import read_annotation
from pymic_paseg.annotation.simulate_batch import simulate_dataset
from pymic_paseg.config import ConfigError
from pymic_paseg.data import DemoConfig, build_demo_dataset, demo_config
from pymic_paseg.expansion import ExpansionParams
from pymic_paseg.expansion.runner import ClickSource, ExpansionJob, run_expansion

N_CASES = 3


def _array(path):
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    config = demo_config("two_class", n_cases=N_CASES, seed=1, n_valid=0, n_test=0)
    return build_demo_dataset(tmp_path_factory.mktemp("two_class"), config, progress=False)


def test_each_case_has_a_bright_class_1_and_a_dark_class_2_lesion_apart(built):
    for record in built.cases:
        image = _array(built.root / record.image)
        label = _array(built.root / record.label)
        brain = (_array(built.root / record.mask) > 0) & (label == 0)
        assert set(np.unique(label)) == {0, 1, 2}
        assert ndimage.label(label == 2)[1] >= 1
        tissue = np.median(image[brain])
        assert np.median(image[label == 1]) > 1.2 * tissue > np.median(image[label == 2])
        # a gap: no class-2 voxel touches a class-1 voxel
        assert not (ndimage.binary_dilation(label == 1) & (label == 2)).any()
        assert record.lesion_voxels == np.count_nonzero(label)
    manifest = json.loads(built.manifest.read_text())
    assert manifest["labels"] == {"0": "background", "1": "bright lesion", "2": "dark lesion"}
    assert manifest["config"]["n_classes"] == 2


def test_one_class_settings_are_left_out_of_the_manifest_and_checked():
    assert "n_classes" not in DemoConfig().to_dict()
    with pytest.raises(ConfigError, match="n_classes = 3: must be 1 or 2"):
        DemoConfig(n_classes=3)


def test_clicks_keep_the_class_and_the_expansion_writes_it(built, tmp_path):
    root = str(built.root)
    summary = simulate_dataset(root, str(built.csv["all"]), str(tmp_path / "clicks"),
                               progress=False)
    assert summary.failures == [] and all(p.endswith(".csv") for p in summary.written)
    record = built.cases[0]
    case = read_annotation(summary.written[0], str(built.root / record.image))
    label = _array(built.root / record.label)
    for obj in case.objects:  # each object's class is the label under its foreground click
        assert obj.label == label[obj.foreground.voxel]
    assert sorted({o.label for o in case.objects}) == [1, 2]
    expanded = run_expansion(root, str(built.csv["all"]), str(tmp_path / "partial"),
                             str(tmp_path / "train.csv"), job=ExpansionJob(class_num=3),
                             source=ClickSource("dir", str(tmp_path / "clicks")),
                             progress=False)
    assert expanded.failures == [] and len(expanded.written) == N_CASES
    for path, record in zip(expanded.written, built.cases):
        partial, truth = _array(path), _array(built.root / record.label)
        for k in (1, 2):
            assert (partial == k).any()
            assert np.mean(truth[partial == k] == k) > 0.9   # Omega_F of class k is class k
    assert expanded.mean_metrics["fg1_precision"] > 0.9
    assert expanded.mean_metrics["fg2_precision"] > 0.9


def test_binary_settings_refuse_two_class_clicks(built, tmp_path):
    root = str(built.root)
    failed = simulate_dataset(root, str(built.csv["all"]), str(tmp_path / "maps"),
                              train_csv=str(tmp_path / "seed_train.csv"), progress=False)
    assert len(failed.failures) == N_CASES
    assert "SeedExpansion transform, which makes binary labels only" in str(failed.failures[0])
    simulate_dataset(root, str(built.csv["all"]), str(tmp_path / "clicks"), progress=False)
    binary = run_expansion(root, str(built.csv["all"]), str(tmp_path / "partial"),
                           str(tmp_path / "train.csv"),
                           source=ClickSource("dir", str(tmp_path / "clicks")), progress=False)
    assert binary.written == [] and len(binary.failures) == N_CASES
    message = str(binary.failures[0])
    assert "case_000.csv" in message and "object '2'" in message and "class_num = K + 1" in message
    with pytest.raises(ConfigError, match="an epsilon sweep is for a binary task"):
        run_expansion(root, str(built.csv["all"]), str(tmp_path / "p3"), str(tmp_path / "t3.csv"),
                      job=ExpansionJob(ExpansionParams(rule="paper"), 3, sweep=(0.1,)),
                      source=ClickSource("dir", str(tmp_path / "clicks")), progress=False)
