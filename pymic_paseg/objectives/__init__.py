"""Training objectives: what a method minimises, apart from the agent that runs it.

An objective is built from the config and turns a batch (and the networks'
outputs) into named loss terms. The agent, the benchmarks and the tests call the
same object. See :mod:`pymic_paseg.objectives.scm` for stage 2.
"""
