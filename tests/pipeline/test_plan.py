"""Planning a project's steps without torch: iter_max from the config, finished trainings,
stages, --stages parsing."""
import pytest

from pymic_paseg.agents.pointers import write_pointer
from pymic_paseg.pipeline.plan import plan_trainings
from pymic_paseg.pipeline.runner import parse_stages
from pymic_paseg.project import Project, ProjectError, Training

CONFIG = """[dataset]
supervise_type = {sup}
[training]
ckpt_dir = runs/{key}/model
ckpt_prefix = net
iter_max = {iter_max}   # a comment after the value
[testing]
output_dir = runs/{key}/prediction
"""


def _project(tmp_path, iter_max=400):
    (tmp_path / "configs").mkdir()
    trainings = []
    for key, sup in (("stage1", "weak_sup"), ("scm", "noisy_label")):
        (tmp_path / "configs" / f"{key}.cfg").write_text(
            CONFIG.format(sup=sup, key=key, iter_max=iter_max))
        trainings.append(Training(key, key, f"configs/{key}.cfg"))
    return Project(root=tmp_path, classes={1: "lesion"}, trainings=trainings)


def test_a_training_is_finished_only_at_its_configs_iter_max(tmp_path):
    project = _project(tmp_path)
    stage1, scm = plan_trainings(project)
    assert (stage1.stage, scm.stage) == (1, 2)
    assert stage1.iter_max == 400 and stage1.prefix == "net"
    assert stage1.latest is None and not stage1.finished
    write_pointer(str(tmp_path / "runs/stage1/model"), "net", "latest", 100)
    stage1, _ = plan_trainings(project)
    assert stage1.latest == 100 and not stage1.finished  # the demo's old bug: "already trained"
    write_pointer(str(tmp_path / "runs/stage1/model"), "net", "latest", 400)
    assert plan_trainings(project)[0].finished


def test_an_early_stopped_training_is_finished_once_the_pipeline_saw_it_end(tmp_path):
    project = _project(tmp_path)
    write_pointer(str(tmp_path / "runs/stage1/model"), "net", "latest", 150)
    (tmp_path / "logs").mkdir()
    marker = tmp_path / "logs" / "train_stage1.done"
    marker.write_text("100\n")  # ended at 100 before, then trained on: not this checkpoint
    assert not plan_trainings(project)[0].finished
    marker.write_text("150\n")
    assert plan_trainings(project)[0].finished


def test_stages_select_trainings_and_bad_configs_name_the_file(tmp_path):
    project = _project(tmp_path)
    assert [p.training.key for p in plan_trainings(project, (2,))] == ["scm"]
    assert [p.training.key for p in plan_trainings(project, (1,))] == ["stage1"]
    (tmp_path / "configs" / "scm.cfg").write_text("[training]\nckpt_dir = x\n")
    with pytest.raises(ProjectError, match=r"scm\.cfg: \[training\] iter_max is missing"):
        plan_trainings(project)


@pytest.mark.parametrize("text, expected", [("1,2", (1, 2)), ("2", (2,)), (" 2, 1 ", (1, 2))])
def test_parse_stages(text, expected):
    assert parse_stages(text) == expected


@pytest.mark.parametrize("text", ["", "3", "1,x", "0"])
def test_parse_stages_rejects_what_is_not_a_stage(text):
    with pytest.raises(ValueError, match="subset of 1,2"):
        parse_stages(text)
