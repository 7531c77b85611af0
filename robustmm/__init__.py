__version__ = "0.1.0"

import warnings as _w
# fastai compiles a few layers with `torch.jit.script` when imported, which torch >= 2.15 reports as deprecated:
# the notice is about fastai's code, not the user's, so robustmm does not pass it on.
_w.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
