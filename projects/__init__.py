"""Six NAS-for-detection papers as MMDetection 3.x plugins, one package per paper.

Importing ``projects`` (every suite config does, through ``custom_imports``) lets checkpoints
written by MMEngine load under torch's ``weights_only=True`` default; see
:mod:`projects.checkpoint_safe_globals`.
"""
from .checkpoint_safe_globals import allow_mmengine_checkpoints

allow_mmengine_checkpoints()
