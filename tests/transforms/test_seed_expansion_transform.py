"""SeedExpansion transform: same partial label as the offline runner, inside PyMIC's dataset."""
import numpy as np
import pytest
import SimpleITK as sitk
from pymic.io.nifty_dataset import NiftyDataset
from pymic.transform.label_convert import PartialLabelToProbability
from torchvision import transforms

import pymic_paseg
from pymic_paseg.annotation import AnnotationError
from pymic_paseg.annotation.simulate_batch import simulate_dataset
from pymic_paseg.config import ConfigError
from pymic_paseg.data import DemoConfig, build_demo_dataset
from pymic_paseg.expansion import ExpansionParams
from pymic_paseg.expansion.runner import ClickSource, ExpansionJob, run_expansion
from pymic_paseg.transforms.seed_expansion import SeedExpansion

PARAMS = {"task": "seg", "seedexpansion_epsilon": "0.2", "seedexpansion_mask_threshold": "0"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Demo dataset, click maps, a click-map training CSV and the offline partial labels."""
    root = tmp_path_factory.mktemp("demo_transform")
    demo = build_demo_dataset(root, DemoConfig(n_cases=2, n_valid=0, n_test=0), progress=False)
    simulate_dataset(str(root), str(demo.csv["all"]), str(root / "clicks"),
                     train_csv=str(root / "train_clicks.csv"), progress=False)
    assert (root / "train_clicks.csv").read_text() == "image,label\n" + "".join(
        f"{c.image},clicks/{c.case}.nii.gz\n" for c in demo.cases)
    for name, csv_name in (("partial_mask", "all.csv"), ("partial_threshold", "train.csv")):
        # with the brain-mask files, and with Omega_M = image > 0 (no mask column)
        run_expansion(str(root), str(root / csv_name), str(root / name), str(root / f"{name}.csv"),
                      job=ExpansionJob(ExpansionParams(mask_threshold=0.0)),
                      source=ClickSource("dir", str(root / "clicks")), progress=False)
    return demo


def _dataset(root, transform, csv="train_clicks.csv"):
    return NiftyDataset(str(root), str(root / csv), transform=transform)


def test_transform_equals_offline_runner(data):
    dataset = _dataset(data.root, SeedExpansion(PARAMS))
    for index, record in enumerate(data.cases):
        sample = dataset[index]
        assert sample["label"].shape == (1, *sample["image"].shape[1:])
        for folder in ("partial_mask", "partial_threshold"):
            offline = sitk.GetArrayFromImage(
                sitk.ReadImage(str(data.root / folder / f"{record.case}.nii.gz")))
            np.testing.assert_array_equal(sample["label"][0], offline)


def test_registered_and_composes_with_partial_label_to_probability(data):
    pymic_paseg.register()
    from pymic.transform.trans_dict import TransformDict
    assert TransformDict["SeedExpansion"] is SeedExpansion
    params = {**PARAMS, "partiallabeltoprobability_class_num": 2}
    pipeline = transforms.Compose([SeedExpansion(params), PartialLabelToProbability(params)])
    sample = _dataset(data.root, pipeline)[0]
    label = sample["label"][0]
    np.testing.assert_array_equal(sample["pixel_weight"][0], (label != 2).astype(np.float32))
    np.testing.assert_array_equal(sample["label_prob"][1], (label == 1).astype(np.float32))


def test_several_classes_are_refused_not_made_binary(data):
    # click maps carry no object class: class_num 3 would silently make every object class 1
    params = {**PARAMS, "partiallabeltoprobability_class_num": "3"}
    with pytest.raises(ConfigError, match=r"\[dataset\] PartialLabelToProbability_class_num = 3: "
                                          r"the SeedExpansion transform reads click maps"):
        SeedExpansion(params)


def test_bad_click_map_names_case_and_says_what_the_label_must_be(data):
    # the dense ground truth instead of a click map: every lesion voxel is a "background click"
    dataset = _dataset(data.root, SeedExpansion(PARAMS), csv="train.csv")
    with pytest.raises(AnnotationError) as info:
        dataset[0]
    message = str(info.value)
    assert "case 'case_000'" in message and "no foreground click; exactly 1 is required" in message
    assert "reads the training CSV's label column as click maps" in message


@pytest.mark.parametrize("params, message", [
    ({"seedexpansion_epsilom": "0.2"}, "Did you mean 'seedexpansion_epsilon'"),
    ({"seedexpansion_epsilon": "1.5"}, "[dataset] SeedExpansion_epsilon = 1.5: must be"),
    ({"partiallabeltoprobability_class_num": "1"},
     "[dataset] PartialLabelToProbability_class_num = 1: must be an integer >= 2"),
])
def test_config_errors_at_construction(params, message):
    with pytest.raises(ConfigError) as info:
        SeedExpansion({"task": "seg", **params})
    assert message in str(info.value)


def test_needs_spacing():
    sample = {"image": np.zeros((1, 4, 4, 4), np.float32), "label": np.zeros((1, 4, 4, 4)),
              "names": ["a.nii.gz", "a_clicks.nii.gz"]}
    with pytest.raises(ValueError, match=r"needs the 3D voxel spacing in sample\['spacing'\]"):
        SeedExpansion({"task": "seg"})(sample)
