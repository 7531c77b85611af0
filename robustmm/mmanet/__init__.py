"""MMANet, margin-aware distillation and modality-aware regularisation (Wei et al., CVPR 2023): MAD, MAR, and the
method (notebooks 40-42).

Docs: https://robustmm.github.io/robustmm/mmanet.html"""
# Written by hand (nbdev generates the modules, not this file): the package's public names, gathered from its
# modules so that `from robustmm.mmanet import *` gives the whole method.
from .distill import *
from .mar import *
from .method import *
from ..presets import fit_paper
from . import distill as _distill, mar as _mar, method as _method

__all__ = _distill.__all__ + _mar.__all__ + _method.__all__ + ['fit_paper']
