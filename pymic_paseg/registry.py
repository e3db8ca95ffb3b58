"""Registration of pymic_paseg's components into PyMIC's own name -> class dicts.

PyMIC has no plugin mechanism: its entry points look names up in module-level
dicts (``SegLossDict``, ``TransformDict``, ``WSLMethodDict``, ...). Each of our
subpackages lists what it contributes in a module-level ``COMPONENTS`` list of
``(name, registry, object)`` triples; :func:`register` inserts them.

The object may be a string target ``"package.module:Attribute"``: it is imported
only when :func:`register` runs (or :attr:`Component.obj` is read), so that listing
a heavy class (an agent, which pulls in all of PyMIC) costs nothing at import time.

Rules:

* idempotent: registering twice is a no-op; after the first success in a process,
  :func:`register` only checks that PyMIC's dicts still hold our objects;
* never shadows PyMIC: if a name is already taken by another object,
  :class:`RegistrationError` says which registry, which name and who holds it.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["Component", "RegistrationError", "REGISTRIES", "register", "registered_components",
           "resolve"]

#: registry name -> (module, attribute) of PyMIC's dict.
REGISTRIES: Dict[str, Tuple[str, str]] = {
    "SegLossDict": ("pymic.loss.loss_dict_seg", "SegLossDict"),
    "TransformDict": ("pymic.transform.trans_dict", "TransformDict"),
    "WSLMethodDict": ("pymic.net_run.weak_sup", "WSLMethodDict"),
    "NLLMethodDict": ("pymic.net_run.noisy_label", "NLLMethodDict"),
    "SSLMethodDict": ("pymic.net_run.semi_sup", "SSLMethodDict"),
    "SegNetDict": ("pymic.net.net_dict_seg", "SegNetDict"),
}

#: subpackages that define ``COMPONENTS``.
SUBPACKAGES = (
    "pymic_paseg.losses",
    "pymic_paseg.transforms",
    "pymic_paseg.agents",
    "pymic_paseg.networks",
)


class RegistrationError(RuntimeError):
    """A component cannot be registered (e.g. it would shadow a PyMIC name)."""


@dataclass(frozen=True)
class Component:
    name: str
    registry: str
    #: the object, or a ``"module:attribute"`` string resolved on first use
    spec: Any

    @property
    def obj(self) -> Any:
        return resolve(self.spec) if isinstance(self.spec, str) else self.spec

    @property
    def target(self) -> str:
        if isinstance(self.spec, str):
            return self.spec.replace(":", ".")
        return f"{self.spec.__module__}.{self.spec.__qualname__}"


def resolve(target: str) -> Any:
    """Import ``"package.module:Attribute"`` and return the attribute."""
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr:
        raise RegistrationError(f"component target {target!r} is not 'package.module:Attribute'")
    try:
        return getattr(importlib.import_module(module), attr)
    except AttributeError:
        raise RegistrationError(f"component target {target!r}: module {module} has no "
                                f"attribute {attr!r}") from None


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def registered_components() -> List[Component]:
    """Every component pymic_paseg contributes, in registration order."""
    out: List[Component] = []
    for modname in SUBPACKAGES:
        module = importlib.import_module(modname)
        for name, registry, obj in getattr(module, "COMPONENTS", ()):
            if registry not in REGISTRIES:
                raise RegistrationError(
                    f"{modname}: component {name!r} names unknown registry {registry!r}; "
                    f"known: {', '.join(REGISTRIES)}")
            out.append(Component(name, registry, obj))
    return out


def pymic_registry(registry: str) -> dict:
    module, attr = REGISTRIES[registry]
    return getattr(importlib.import_module(module), attr)


#: the components of the first successful :func:`register` in this process.
_REGISTERED: Optional[List[Component]] = None


def register() -> List[Component]:
    """Add pymic_paseg's components to PyMIC's registries and return them.

    Safe to call any number of times: once done, a call only checks that PyMIC's
    dicts still hold our objects. Raises :class:`RegistrationError` rather than
    overwrite a name that PyMIC (or anyone else) already registered.
    """
    global _REGISTERED
    if _REGISTERED is not None and all(pymic_registry(c.registry).get(c.name) is c.obj
                                       for c in _REGISTERED):
        return list(_REGISTERED)
    components = registered_components()
    # check everything first, so a conflict leaves PyMIC's dicts untouched
    for comp in components:
        table = pymic_registry(comp.registry)
        held = table.get(comp.name)
        if held is not None and held is not comp.obj and _qualname(held) != comp.target:
            raise RegistrationError(
                f"cannot register {comp.target} as {comp.registry}[{comp.name!r}]: "
                f"that name already belongs to {_qualname(held)}. pymic_paseg never "
                f"overwrites an existing PyMIC name; rename the component.")
    for comp in components:
        pymic_registry(comp.registry)[comp.name] = comp.obj
    _REGISTERED = components
    return list(components)
