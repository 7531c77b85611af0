import os
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
