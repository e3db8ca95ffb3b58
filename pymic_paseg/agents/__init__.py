"""Agents on the shared device-aware loop; see COMPONENTS for what gets registered.

* :mod:`~pymic_paseg.agents.loop` - the one outer loop (device, resume, checkpoints)
* :mod:`~pymic_paseg.agents.base` - inner loop with the loss-terms hook
* :mod:`~pymic_paseg.agents.fullsup` - fully supervised baseline (routed, not registered)
* :mod:`~pymic_paseg.agents.stage1` - PA-Seg stage 1 (``WSLMethodDict['PASegStage1']``)
* :mod:`~pymic_paseg.agents.scm` - PA-Seg stage 2, SCM (``NLLMethodDict['PASegSCM']``)
"""
from pymic_paseg.agents.scm import PASegSCMAgent
from pymic_paseg.agents.stage1 import PASegStage1Agent

COMPONENTS: list = [
    ("PASegStage1", "WSLMethodDict", PASegStage1Agent),
    ("PASegSCM", "NLLMethodDict", PASegSCMAgent),
]
