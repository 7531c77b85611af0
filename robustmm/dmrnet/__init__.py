"""DMRNet, robust multimodal learning via representation decoupling (Wei et al., ECCV 2024).

The Gaussian combination model and its drawings, the hard-combination regulariser, the learner (notebooks 20-22).

Docs: https://robustmm.github.io/robustmm/dmrnet.html"""
# Written by hand (nbdev generates the modules, not this file): the package's public names, gathered from its
# modules so that `from robustmm.dmrnet import *` gives the whole method.
from .model import *
from .hard import *
from .method import *
from ..presets import fit_paper
from . import model as _model, hard as _hard, method as _method

__all__ = _model.__all__ + _hard.__all__ + _method.__all__ + ['fit_paper']
