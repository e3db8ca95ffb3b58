"""Agents on the shared device-aware loop; see COMPONENTS for what gets registered.

* :mod:`~pymic_paseg.agents.loop` - the one outer loop (device, resume, checkpoints)
* :mod:`~pymic_paseg.agents.base` - inner loop with the loss-terms hook
* :mod:`~pymic_paseg.agents.fullsup` - fully supervised baseline (routed, not registered)
* :mod:`~pymic_paseg.agents.stage1` - PA-Seg stage 1 (``WSLMethodDict['PASegStage1']``)
* :mod:`~pymic_paseg.agents.scm` - PA-Seg stage 2, SCM (``NLLMethodDict['PASegSCM']``)

The agents are listed as ``"module:attribute"`` strings, imported only when
:func:`pymic_paseg.register` runs: importing this package (e.g. for the torch-free
:mod:`~pymic_paseg.agents.pointers`) does not import torch or PyMIC.
"""
COMPONENTS: list = [
    ("PASegStage1", "WSLMethodDict", "pymic_paseg.agents.stage1:PASegStage1Agent"),
    ("PASegSCM", "NLLMethodDict", "pymic_paseg.agents.scm:PASegSCMAgent"),
]
