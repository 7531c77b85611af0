import os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope='session')
def root(): return ROOT

def pytest_configure(config):
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    os.environ.setdefault('MPLBACKEND', 'Agg')
