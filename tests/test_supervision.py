"""The supervise-type table against PyMIC's own dispatch (read from its source)."""
import inspect
import re

from pymic_paseg.registry import REGISTRIES
from pymic_paseg.supervision import (DEFAULT_SUPERVISE_TYPE, METHOD_REGISTRIES, METHOD_SECTIONS,
                                     METHOD_TABLE, SUPERVISE_TYPES, method_of)


def pymic_dispatch():
    """PyMIC 0.6.2's ``get_seg_rec_agent``: accepted types and type -> (section, dict)."""
    import pymic.net_run.train as train
    source = inspect.getsource(train.get_seg_rec_agent)
    accepted = re.search(r"assert\(sup_type in \[(.*?)\]\)", source).group(1)
    types = tuple(re.findall(r"'(\w+)'", accepted))
    table = {}
    for block in re.split(r"elif|if\(", source):
        kind = re.search(r"sup_type == '(\w+)'", block)
        section = re.search(r"config\['(\w+)'\]\['method_name'\]", block)
        registry = re.search(r"(\w+)\[method\]", block)
        if kind and section and registry:
            table[kind.group(1)] = (section.group(1), registry.group(1))
    return types, table


def test_types_and_method_sections_are_pymics():
    types, table = pymic_dispatch()
    assert set(SUPERVISE_TYPES) == set(types) and DEFAULT_SUPERVISE_TYPE in types
    assert len(table) >= 4  # the parser found PyMIC's branches
    for sup, entry in METHOD_TABLE.items():
        assert table[sup] == entry, sup
    # every method registry of the table is one register() knows how to reach
    assert set(METHOD_REGISTRIES) <= set(REGISTRIES)


def test_derived_views_follow_the_table():
    assert METHOD_SECTIONS == tuple(s for s, _ in METHOD_TABLE.values())
    assert method_of("weak_sup") == ("weakly_supervised_learning", "WSLMethodDict")
    assert method_of("fully_sup") is None and method_of("nonsense") is None
