"`robustmm bench` end to end: exit codes, files written, table columns, reproducibility, clear errors."
import json, subprocess, sys
import pandas as pd, pytest

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
    assert (meta['n_train'], meta['n_valid'], meta['n_test']) == (1440, 160, 400) and meta['modalities'] == ['fou', 'fac', 'kar', 'pix', 'zer', 'mor']
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

def _fixture(kind, root):
    "A tiny dataset of each kind `--dataset` accepts, in its real layout."
    import numpy as np
    from robustmm import datasets as D
    if kind == 'npz':
        rng = np.random.default_rng(0)
        np.savez(root/'mine.npz', a=rng.normal(size=(200, 5)) + (np.arange(200) % 2)[:, None], b=rng.normal(size=(200, 3)), y=np.arange(200) % 2)
        return str(root/'mine.npz')
    if kind == 'csv':
        rows = []
        for i in range(40):
            D._tone(root/f's{i}.wav', 200 + 200*(i % 2), seed=i); D._image(root/f'p{i}.png', 0.2 + 0.5*(i % 2), seed=i)
            rows.append({'sound': f's{i}.wav', 'picture': f'p{i}.png', 'y': ['no', 'yes'][i % 2]})
        pd.DataFrame(rows).to_csv(root/'manifest.csv', index=False)
        return str(root/'manifest.csv')
    if kind == 'cremad': return 'cremad:' + str(D.write_cremad_fixture(root/'cremad', per_class=3))
    if kind == 'av-folder':
        clips = {s: [(f'{s}{i:03d}', ['drum', 'harp'][i % 2]) for i in range(n)] for s, n in (('train', 12), ('test', 6))}
        return 'av-folder:' + str(D.write_av_fixture(root/'av', clips))
    if kind == 'nyuv2': return 'nyuv2:' + str(D.write_nyuv2_fixture(root/'nyu', n=12))
    if kind == 'casia-surf': return 'casia-surf:' + str(D.write_casia_fixture(root/'casia'))

@pytest.mark.parametrize('kind', ['npz', 'csv', 'cremad', 'av-folder', 'nyuv2', 'casia-surf'])
def test_quick_run_on_every_dataset_kind(kind, tmp_path):
    r = _bench('--quick', '--dataset', _fixture(kind, tmp_path), '--out', str(tmp_path/'out'), '--device', 'cpu', '--num-workers', '2')
    assert r.returncode == 0, r.stderr[-3000:]
    s = pd.read_csv(tmp_path/'out/summary.csv', index_col=0)
    metric = 'clean_miou' if kind == 'nyuv2' else 'clean_accuracy'
    assert list(s.index) == ['late', 'concat'] and s[metric].between(0, 1).all(), s
    meta = json.loads((tmp_path/'out/results.json').read_text())['meta']
    assert meta['n_valid'] > 0 and meta['n_test'] > 0

def test_reader_with_a_missing_folder_names_it(tmp_path):
    r = _bench('--quick', '--dataset', f'cremad:{tmp_path}/nowhere', '--out', str(tmp_path/'o'))
    assert r.returncode == 2 and 'nowhere' in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]

def test_avdigits_runs_with_its_own_splits_and_noise_levels(tmp_path):
    r = _bench('--quick', '--dataset', 'avdigits', '--methods', 'late,udml', '--out', str(tmp_path), '--device', 'cpu')
    assert r.returncode == 0, r.stderr[-3000:]
    meta = json.loads((tmp_path/'results.json').read_text())['meta']
    assert (meta['n_train'], meta['n_valid'], meta['n_test']) == (1600, 400, 1000) and meta['modalities'] == ['image', 'audio']
    assert meta['levels'] == [0., 6., 11.]                      # UDML's code levels (first, middle, last of the default)
    n = pd.read_csv(tmp_path/'noise.csv')
    assert set(n.corrupted) == {'image', 'audio', 'image+audio'}
    # level 11 replaces the corrupted modality by noise: with both replaced, accuracy is near chance
    assert n[(n.corrupted == 'image+audio') & (n.level == 11)].accuracy.max() < 0.3
