"""ShaSpec, shared-specific feature modelling for missing modalities (Wang et al., CVPR 2023): the network and the
method (notebooks 50-51).

Docs: https://robustmm.github.io/robustmm/shaspec.html"""
# Written by hand (nbdev generates the modules, not this file): the package's public names, gathered from its
# modules so that `from robustmm.shaspec import *` gives the whole method.
from .model import *
from .method import *
from . import model as _model, method as _method

__all__ = _model.__all__ + _method.__all__
