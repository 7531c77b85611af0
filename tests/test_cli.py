"`robustmm bench` end to end: exit codes, files written, table columns, reproducibility, clear errors."
import json, subprocess, sys
import pandas as pd

def _bench(*args, cwd=None):
    return subprocess.run([sys.executable, '-c', 'import sys; from robustmm.cli import main; sys.exit(main())', 'bench', *args],
                          capture_output=True, text=True, cwd=cwd)

def test_quick_run_writes_tables_and_plots(tmp_path):
    r = _bench('--quick', '--out', str(tmp_path/'a'), '--device', 'cpu')
    assert r.returncode == 0, r.stderr[-3000:]
    files = {p.name for p in (tmp_path/'a').iterdir()}
    assert files == {'summary.csv', 'subsets.csv', 'noise.csv', 'results.json', 'subsets.png', 'noise.png'}
    s = pd.read_csv(tmp_path/'a/summary.csv', index_col=0)
    assert list(s.index) == ['late', 'concat']
    assert {'clean_accuracy', 'subset_mean', 'worst_subset', 'noise_robustness_mean'} <= set(s.columns)
    assert (s.clean_accuracy > 0.8).all()
    assert len(pd.read_csv(tmp_path/'a/subsets.csv', index_col=0)) == 63 + 2
    meta = json.loads((tmp_path/'a/results.json').read_text())['meta']
    assert meta['n_train'] == 1600 and meta['modalities'] == ['fou', 'fac', 'kar', 'pix', 'zer', 'mor']
    assert 'clean_accuracy' in r.stdout          # the table is printed
    # same seed, same numbers
    r2 = _bench('--quick', '--out', str(tmp_path/'b'), '--device', 'cpu')
    s2 = pd.read_csv(tmp_path/'b/summary.csv', index_col=0)
    pd.testing.assert_frame_equal(s.drop(columns='train_seconds'), s2.drop(columns='train_seconds'))

def test_protocol_missing_only(tmp_path):
    r = _bench('--quick', '--protocol', 'missing', '--dataset', 'synthetic', '--methods', 'late', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr[-3000:]
    assert not (tmp_path/'noise.csv').exists() and (tmp_path/'subsets.csv').exists()

def test_bad_input_gives_a_message_not_a_traceback(tmp_path):
    for args, msg in [(['--methods', 'nope'], "unknown methods ['nope']"), (['--dataset', str(tmp_path/'missing')], 'unknown dataset'),
                      (['--epochs', '0'], 'epochs must be >= 1'), (['--dataset', str(tmp_path)], 'unknown mfeat folder layout'),
                      (['--device', 'cpu', '--amp'], 'needs a CUDA device')]:
        r = _bench(*args, '--out', str(tmp_path/'o'))
        assert r.returncode == 2, (args, r.stderr[-2000:])
        assert msg in r.stderr and 'Traceback' not in r.stderr, (args, r.stderr[-2000:])
    r = _bench('--protocol', 'sideways')
    assert r.returncode == 2 and 'invalid choice' in r.stderr
