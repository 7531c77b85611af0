__all__ = []

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook

# %% ../nbs/70_cli.ipynb #e7fe4411
import sys
from .cli import _console
if __name__ == '__main__' and sys.argv[0].endswith('__main__.py'): _console()   # run as a module, not in a notebook