"""pymic_paseg: PA-Seg (seven-point weakly supervised 3D segmentation) as a PyMIC plugin.

Usage from Python::

    import pymic_paseg
    pymic_paseg.register()      # adds our losses, transforms and agents to PyMIC's dicts

From the shell, ``pymic_run train my.cfg`` does the same and then runs PyMIC's
own training entry point with the device-aware agents (see ``docs/usage.md``).
"""
__version__ = "0.1.0"

from pymic_paseg.registry import RegistrationError, register, registered_components  # noqa: E402

__all__ = ["__version__", "register", "registered_components", "RegistrationError"]
