"""QMF, quality-aware multimodal fusion (Zhang et al., ICML 2023, arXiv 2306.02050): energy-weighted late fusion,
the per-sample loss history and the sample-wise ranking loss (notebooks 55-56).

Docs: https://robustmm.github.io/robustmm/qmf.html"""
# Written by hand (nbdev generates the modules, not this file): the package's public names, gathered from its
# modules so that `from robustmm.qmf import *` gives the whole method.
from .parts import *
from .method import *
from .parts import RANK_MARGINS, plot_rank_pairs
from .method import IndexedDataset
from . import parts as _parts, method as _method

__all__ = _parts.__all__ + _method.__all__ + ['RANK_MARGINS', 'plot_rank_pairs', 'IndexedDataset']
