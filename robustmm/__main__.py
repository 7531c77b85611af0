("`python -m robustmm ...`: the `robustmm` console script (how launchers start a module: "
 "`accelerate launch -m robustmm bench ...`).")
# Written by hand (nbdev generates the modules, not this file).
from .cli import _console

if __name__ == '__main__': _console()
