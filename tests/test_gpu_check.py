"benchmarks/gpu_check.py (run on a lent GPU) keeps working: its steps run on the CPU at tiny size."
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_tiny_on_the_cpu(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT/'benchmarks'/'gpu_check.py'), '--device', 'cpu', '--tiny',
                        '--steps', 'fastai_vs_bare,methods', '--out', str(tmp_path)], capture_output=True, text=True,
                        cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((tmp_path/'gpu_check_dry_run.json').read_text())
    assert all(s['ok'] for s in res['steps'].values()), {k: s.get('error') for k, s in res['steps'].items()}
    assert res['machine']['torch'] and 'udml' in res['steps']['methods']['result']
