"""project.json: round trip and the errors that name the file and the key."""
import json

import pytest

from pymic_paseg.project import (PROJECT_FILE, Project, ProjectError, Training, load_project,
                                 save_project)


def _project(root):
    return Project(root=root, classes={1: "tumour", 2: "oedema"},
                   trainings=[Training("stage1", "stage 1", "configs/stage1.cfg"),
                              Training("scm", "stage 2", "configs/scm.cfg", evaluate=False)],
                   expand=["images", "--csv", "csv/train.csv"], partial_csv="csv/partial.csv",
                   test_csv="csv/test.csv", eval_pairs_csv="csv/pairs.csv")


def test_round_trip(tmp_path):
    project = _project(tmp_path)
    save_project(project)
    loaded = load_project(tmp_path)
    assert loaded == project
    assert loaded.class_num == 3
    assert [t.evaluate for t in loaded.trainings] == [True, False]
    assert [p.name for p in tmp_path.iterdir()] == [PROJECT_FILE]


def _write(tmp_path, **changes):
    data = json.loads(_project(tmp_path).to_json())
    data.update(changes)
    (tmp_path / PROJECT_FILE).write_text(json.dumps(data))


@pytest.mark.parametrize("changes, words", [
    ({"version": 2}, "version 2"),
    ({"classes": {"1": "a", "3": "b"}}, "without gaps"),
    ({"classes": {"x": "a"}}, "'x'"),
    ({"trainings": [{"title": "no key", "config": "c.cfg"}]}, "'key'"),
    ({"trainings": [{"key": "a", "config": "a"}, {"key": "a", "config": "b"}]}, "repeat"),
    ({"expand": "images --csv x"}, "'expand'"),
    ({"test_csv": 3}, "'test_csv'"),
])
def test_bad_fields_are_named(tmp_path, changes, words):
    _write(tmp_path, **changes)
    with pytest.raises(ProjectError) as error:
        load_project(tmp_path)
    assert str(tmp_path / PROJECT_FILE) in str(error.value)
    assert words in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(ProjectError, match="not found"):
        load_project(tmp_path)
