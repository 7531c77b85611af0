import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope='session')
def root(): return ROOT

def pytest_configure(config):
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    os.environ.setdefault('MPLBACKEND', 'Agg')


def bench_in_process(capsys, *args)->tuple:
    "`robustmm bench *args` in this process (no interpreter start): `(exit code, stdout, stderr)`."
    import torch
    from robustmm.cli import main
    threads = torch.get_num_threads()
    try: code = main(['bench', *args])
    except SystemExit as e: code = e.code   # argparse's own errors
    finally: torch.set_num_threads(threads)
    out, err = capsys.readouterr()
    return code, out, err


BENCH_MAIN = 'import sys; from robustmm.cli import main; sys.exit(main())'

def bench_cmd(*args)->list:
    "The command line of `robustmm bench *args` in a fresh interpreter (this environment's, installed or not)."
    return [sys.executable, '-c', BENCH_MAIN, 'bench', *args]

def bench_subprocess(*args, **kw)->subprocess.CompletedProcess:
    "`robustmm bench *args` in a fresh process, its output captured as text (`kw`: `subprocess.run`'s)."
    return subprocess.run(bench_cmd(*args), capture_output=True, text=True, **kw)
