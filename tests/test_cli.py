"`robustmm bench` end to end: exit codes, files, columns, reproducibility, errors, seeds, verdicts and the report."
import json
import pandas as pd, pytest
from conftest import bench_in_process as _main, bench_subprocess as _bench



@pytest.mark.slow
def test_quick_run_writes_tables_and_plots(tmp_path):
    r = _bench('--quick', '--out', str(tmp_path/'a'), '--device', 'cpu')
    assert r.returncode == 0, r.stderr[-3000:]
    files = {p.name for p in (tmp_path/'a').iterdir()}
    from robustmm.cli import BENCH_FILES
    assert files == {*BENCH_FILES, 'seed0', '.bench.lock'}
    s = pd.read_csv(tmp_path/'a/summary.csv', index_col=0)
    assert list(s.index) == ['late', 'concat']
    assert {'clean_accuracy_mean', 'missing_accuracy_mean', 'worst_subset', 'noisy_accuracy_mean',
            'all_noisy_accuracy_mean', 'train_seconds_mean', 'teacher_seconds_mean'} <= set(s.columns)
    assert (s.clean_accuracy_mean > 0.8).all() and (s.seeds == 1).all()
    assert len(pd.read_csv(tmp_path/'a/subsets.csv', index_col=0)) == 63 + 2
    meta = json.loads((tmp_path/'a/results.json').read_text())['meta']
    assert (meta['n_train'], meta['n_valid'], meta['n_test']) == (1440, 160, 400)
    assert meta['modalities'] == ['fou', 'fac', 'kar', 'pix', 'zer', 'mor']
    assert 'robustmm bench on mfeat (split seed 0): 1 training seed (0)' in r.stdout   # the report is printed
    # same seed, same numbers
    r2 = _bench('--quick', '--out', str(tmp_path/'b'), '--device', 'cpu')
    assert r2.returncode == 0, r2.stderr[-3000:]
    p, p2 = (pd.read_csv(tmp_path/d/'per_seed.csv').drop(columns=['train_seconds', 'teacher_seconds']) for d in 'ab')
    pd.testing.assert_frame_equal(p, p2)

def test_protocol_missing_only(tmp_path, capsys):
    code, _, err = _main(capsys, '--quick', '--protocol', 'missing', '--dataset', 'synthetic', '--methods', 'late',
                         '--out', str(tmp_path), '--quiet')
    assert code == 0, err[-3000:]
    assert not (tmp_path/'noise.csv').exists() and (tmp_path/'subsets.csv').exists()
    assert 'noisy_accuracy_mean' not in pd.read_csv(tmp_path/'summary.csv').columns

def test_bad_input_gives_a_message_not_a_traceback(tmp_path, capsys):
    for args, msg in [(['--methods', 'nope'], "unknown methods ['nope']"),
                      (['--dataset', str(tmp_path/'missing')], 'unknown dataset'),
                      (['--epochs', '0'], 'epochs must be >= 1'),
                      (['--dataset', str(tmp_path)], 'unknown mfeat folder layout'),
                      (['--device', 'cpu', '--amp'], 'needs a CUDA device'),
                      (['--seeds', '0'], 'seeds must be one or more'), (['--seeds', '1,1'], 'a seed appears twice'),
                      (['--bs', '0'], 'bs must be a positive integer')]:
        code, _, err = _main(capsys, *args, '--out', str(tmp_path/'o'))
        assert code == 2, (args, err[-2000:])
        assert msg in err and 'Traceback' not in err, (args, err[-2000:])
    code, _, err = _main(capsys, '--protocol', 'sideways')
    assert code == 2 and 'invalid choice' in err

def _fixture(kind, root):
    "A tiny dataset of each kind `--dataset` accepts, in its real layout."
    import numpy as np
    from robustmm import datasets as D
    if kind == 'npz':
        rng = np.random.default_rng(0)
        np.savez(root/'mine.npz', a=rng.normal(size=(200, 5)) + (np.arange(200) % 2)[:, None],
                 b=rng.normal(size=(200, 3)), y=np.arange(200) % 2)
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
        clips = {s: [(f'{s}{i:03d}', ['drum', 'harp'][i % 2]) for i in range(n)]
                 for s, n in (('train', 12), ('test', 6))}
        return 'av-folder:' + str(D.write_av_fixture(root/'av', clips))
    if kind == 'nyuv2': return 'nyuv2:' + str(D.write_nyuv2_fixture(root/'nyu', n=12))
    if kind == 'casia-surf': return 'casia-surf:' + str(D.write_casia_fixture(root/'casia'))

@pytest.mark.slow
@pytest.mark.parametrize('kind', ['npz', 'csv', 'cremad', 'av-folder', 'nyuv2', 'casia-surf'])
def test_quick_run_on_every_dataset_kind(kind, tmp_path):
    r = _bench('--quick', '--dataset', _fixture(kind, tmp_path), '--out', str(tmp_path/'out'), '--device', 'cpu',
               '--num-workers', '2')
    assert r.returncode == 0, r.stderr[-3000:]
    s = pd.read_csv(tmp_path/'out/summary.csv', index_col=0)
    metric = 'clean_miou_mean' if kind == 'nyuv2' else 'clean_accuracy_mean'
    assert list(s.index) == ['late', 'concat'] and s[metric].between(0, 1).all(), s
    meta = json.loads((tmp_path/'out/results.json').read_text())['meta']
    assert meta['n_valid'] > 0 and meta['n_test'] > 0

def test_reader_with_a_missing_folder_names_it(tmp_path, capsys):
    code, _, err = _main(capsys, '--quick', '--dataset', f'cremad:{tmp_path}/nowhere', '--out', str(tmp_path/'o'))
    assert code == 2 and 'nowhere' in err and 'Traceback' not in err, err[-2000:]

@pytest.mark.slow
def test_avdigits_runs_with_its_own_splits_and_noise_levels(tmp_path):
    r = _bench('--quick', '--dataset', 'avdigits', '--methods', 'late,udml', '--out', str(tmp_path), '--device', 'cpu')
    assert r.returncode == 0, r.stderr[-3000:]
    meta = json.loads((tmp_path/'results.json').read_text())['meta']
    assert (meta['n_train'], meta['n_valid'], meta['n_test']) == (1600, 400, 1000)
    assert meta['modalities'] == ['image', 'audio']
    assert meta['levels'] == [0., 6., 11.]   # UDML's code levels (first, middle, last of the default)
    n = pd.read_csv(tmp_path/'noise.csv')
    assert set(n.corrupted) == {'image', 'audio', 'image+audio'}
    # level 11 replaces the corrupted modality by noise: with both replaced, accuracy is near chance
    assert n[(n.corrupted == 'image+audio') & (n.level == 11)].accuracy.max() < 0.3

@pytest.mark.slow
def test_seeds_verdicts_and_report(tmp_path):
    r = _bench('--seeds', '2', '--methods', 'late,udml', '--dataset', 'synthetic', '--epochs', '1',
               '--protocol', 'noise', '--out', str(tmp_path), '--device', 'cpu')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'udml against late+noise' in r.stdout and 'Noisy modalities' in r.stdout   # the report, on one screen
    assert len(r.stdout.split('robustmm bench on synthetic')[1].splitlines()) < 40
    v = pd.read_csv(tmp_path/'verdicts.csv')
    assert set(zip(v.method, v.problem, v.baseline)) == {('udml', p, 'late+noise') for p in ('clean', 'noisy')}
    assert (v.seeds == 2).all() and v.verdict.isin(['better', 'worse', 'not distinguishable']).all()
    assert pd.read_csv(tmp_path/'per_seed.csv').groupby('method').seed.apply(list).to_dict() == {
        'late': [0, 1], 'udml': [0, 1], 'late+noise': [0, 1]}
    assert all((tmp_path/f'seed{s}'/'summary.csv').exists() for s in (0, 1))
    readme = (tmp_path/'README.md').read_text()
    assert 'noisy_accuracy' in readme and 'late+noise' in readme and 'udml' in (tmp_path/'report.md').read_text()

def test_help_explains_every_file_and_column(capsys):
    from robustmm.cli import COLUMNS, FILES
    code, out, _ = _main(capsys, '--help')
    assert code == 0
    for k in [*COLUMNS, *FILES, '--seeds', '--threads', '--bs', '--overwrite', '--image-size', '--no-baselines']:
        assert k in out, k

def test_quick_keeps_the_methods_a_user_names():
    from robustmm.cli import _parser, _options, default_methods
    import torch
    threads = torch.get_num_threads()
    try:
        named = _parser().parse_args(['bench', '--quick', '--methods', 'late,late+dropout,udml,dmrnet'])
        test = _options(named)
        assert test[0] == ['late', 'late+dropout', 'udml', 'dmrnet'] and named.epochs == 2
        assert _options(_parser().parse_args(['bench', '--quick']))[0] == default_methods()[:2]
        assert _options(_parser().parse_args(['bench']))[0] == default_methods()
    finally: torch.set_num_threads(threads)

def test_quiet_prints_the_report_alone(tmp_path, capsys):
    code, out, err = _main(capsys, '--dataset', 'synthetic', '--methods', 'late', '--epochs', '1', '--protocol',
                           'missing', '--quiet', '--out', str(tmp_path))
    assert code == 0, err[-2000:]
    assert out.lstrip().startswith('robustmm bench on synthetic')
    assert 'train_loss' not in out and ': training' not in out   # no epoch table, no per-method line

@pytest.mark.slow
def test_emoji_runs_with_its_own_splits_and_the_papers_baselines(tmp_path):
    "The shipped emoji-views benchmark from the command line, with ShaSpec and QMF among the methods."
    r = _bench('--quick', '--dataset', 'emoji', '--methods', 'late,shaspec,qmf', '--out', str(tmp_path),
               '--device', 'cpu')
    assert r.returncode == 0, r.stderr[-3000:]
    meta = json.loads((tmp_path/'results.json').read_text())['meta']
    assert (meta['n_train'], meta['n_valid'], meta['n_test']) == (1150, 386, 370)
    assert meta['modalities'] == ['google', 'twitter', 'name']
    s = pd.read_csv(tmp_path/'summary.csv', index_col=0)
    assert {'late', 'shaspec', 'qmf'} <= set(s.index) and s['clean_accuracy_mean'].between(0, 1).all(), s
