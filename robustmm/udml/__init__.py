"""UDML, unbiased dynamic multimodal fusion (Wei et al., arXiv 2603.19681): the static and empirical dynamic
baselines, the noise estimator, the modality dependence, and the method (notebooks 10-13).

Docs: https://robustmm.github.io/robustmm/udml.html"""
# Written by hand (nbdev generates the modules, not this file): the package's public names, gathered from its
# modules so that `from robustmm.udml import *` gives the whole method.
from .baselines import *
from .estimator import *
from .dependence import *
from .method import *
from ..presets import fit_paper
from ..noise import UDML_LEVELS, UDML_REPLACE_AT, udml_noise
from ..callbacks import PhaseSchedule, noisy_training_cbs
from . import baselines as _baselines, estimator as _estimator, dependence as _dependence, method as _method

__all__ = (_baselines.__all__ + _estimator.__all__ + _dependence.__all__ + _method.__all__
           + ['fit_paper', 'UDML_LEVELS', 'UDML_REPLACE_AT', 'udml_noise', 'PhaseSchedule', 'noisy_training_cbs'])
