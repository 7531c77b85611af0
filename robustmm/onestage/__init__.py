"""One-stage modality distillation (Wei et al., arXiv 2309.08204): the joint adaptation and cross translation
parts, and the method (notebooks 30-31).

Docs: https://robustmm.github.io/robustmm/onestage.html"""
# Written by hand (nbdev generates the modules, not this file): the package's public names, gathered from its
# modules so that `from robustmm.onestage import *` gives the whole method.
from .parts import *
from .method import *
from ..presets import fit_paper
from . import parts as _parts, method as _method

__all__ = _parts.__all__ + _method.__all__ + ['fit_paper']
