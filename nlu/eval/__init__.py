"""Offline evaluations of the NLU components on the shared data sets.

Each evaluation is a subcommand of ``python -m nlu.eval`` that prints progress
on stderr and one JSON object as its last stdout line, like the benchmarks in
``loadtests/``, so a script can compare runs. ``entities``: span-level scores of
the built-in entity extractor on HWU64 (``nlu.eval.entities``).
"""
