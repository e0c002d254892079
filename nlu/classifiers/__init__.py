"""Tenant text classifiers: algorithms (``fast``, ``accurate``), calibration, training.

``nlu.classifiers.training`` is importable without torch (the web tier reads its
constants); the algorithms import torch when they are used.
"""
