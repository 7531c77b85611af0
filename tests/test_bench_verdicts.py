"""`robustmm bench` answers which method helps (issue 25): verdicts on data where the answer is known, one-stage's rows
on what it can receive, per-seed files that survive a kill, one split for every training seed, fair baselines."""
import json
from functools import partial
import numpy as np, pandas as pd, pytest
from robustmm import cli
from robustmm.methods import Recipe, register, _REGISTRY
from robustmm.learner import fusion_learner
from robustmm.callbacks import FixedSubset

def _one(dls, modality:str, seed:int=0, **kwargs):
    "Late fusion trained and tested on one modality."
    return fusion_learner(dls, 'late', seed=seed, cbs=FixedSubset([modality]), **kwargs)

@pytest.fixture
def toys():
    "Toy methods: one reads the informative modality, one the noise; a twin of late fusion (removed afterwards)."
    rs = [Recipe('toy_signal', partial(_one, modality='signal'), 'the informative modality', problem='missing',
                 baselines=('toy_noise',), module='tests.toys'),
          Recipe('toy_noise', partial(_one, modality='noise'), 'the noise modality', module='tests.toys'),
          Recipe('toy_twin', partial(fusion_learner, fusion='late'), 'late fusion again', problem='missing',
                 baselines=('late',), module='tests.toys')]
    for r in rs: register(r)
    yield
    for r in rs: _REGISTRY.pop(r.name, None)

def _npz(path, n:int=600):
    "Three classes: `signal` carries the class, `noise` is pure noise."
    rng = np.random.default_rng(0); y = np.arange(n) % 3
    signal = rng.normal(size=(n, 6)); signal[:, :3] += 2*np.eye(3)[y]
    np.savez(path, signal=signal, noise=rng.normal(size=(n, 6)), y=y)
    return str(path)

def test_a_better_method_and_two_identical_ones(tmp_path, toys):
    r = cli.run_bench(['toy_signal', 'toy_twin'], 'missing', _npz(tmp_path/'toy.npz'), epochs=2, out=tmp_path/'o',
                      quiet=True, seeds=3)
    assert list(r['summary'].index) == ['toy_signal', 'toy_twin', 'toy_noise', 'late']   # the baselines were added
    v = pd.read_csv(tmp_path/'o'/'verdicts.csv').set_index(['method', 'problem', 'baseline'])
    assert list(v.columns) == ['metric', 'method_mean', 'baseline_mean', 'diff', 'lo', 'hi', 'seeds', 'verdict']
    good = v.loc[('toy_signal', 'clean', 'toy_noise')]
    assert good.verdict == 'better' and good.lo > 0.2 and good.seeds == 3, good     # the class is in `signal` alone
    twin = v.loc['toy_twin']
    assert set(twin.index) == {('clean', 'late'), ('missing', 'late')}
    assert (twin['diff'] == 0).all() and (twin.verdict == 'not distinguishable').all(), twin
    assert 'toy_signal beats every baseline it is judged against' in r['report']

def test_one_stage_rows_hold_what_it_can_receive(tmp_path):
    r = cli.run_bench(['onestage'], 'all', 'synthetic', epochs=1, out=tmp_path, levels=(0., 2.), quiet=True)
    s = pd.read_csv(tmp_path/'subsets.csv', index_col=0)
    assert s.loc['easy'].notna().all()                                 # easy: the available modality
    assert s.drop(['easy', 'mean', 'worst']).isna().all().all(), s     # the rest: not applicable, not chance figures
    summ = r['summary']
    assert summ.loc['onestage', 'missing_accuracy_mean'] == pytest.approx(summ.loc['onestage', 'clean_accuracy_mean'])
    assert summ.loc['onestage', 'worst_subset'] == 'easy'
    assert set(pd.read_csv(tmp_path/'noise.csv').corrupted) == {'easy'}
    v = r['verdicts']   # judged against its own network without the teacher and the available modality alone
    want = {(b, p) for b in ('onestage_noteacher', 'available') for p in ('clean', 'noisy')}   # missing: = clean here
    assert set(zip(v.baseline, v.problem)) == want
    assert (v.verdict == 'needs seeds').all() and v['lo'].isna().all()
    assert 'one training seed gives no verdict' in r['report']
    assert summ.loc['onestage', 'teacher_seconds_mean'] > 0 and summ.loc['available', 'teacher_seconds_mean'] == 0

def test_finished_seeds_survive_a_run_stopped_after_the_first(tmp_path, monkeypatch):
    run = cli._run_method
    def stop_at_seed_1(name, dls, test_dl, seed, cfg):
        if seed == 1: raise KeyboardInterrupt   # as Ctrl-C, or the machine going away
        return run(name, dls, test_dl, seed, cfg)
    monkeypatch.setattr(cli, '_run_method', stop_at_seed_1)
    with pytest.raises(KeyboardInterrupt):
        cli.run_bench(['late', 'concat'], 'missing', 'synthetic', epochs=1, out=tmp_path, quiet=True, seeds=[0, 1])
    assert pd.read_csv(tmp_path/'seed0'/'summary.csv').method.tolist() == ['late', 'concat']
    assert not (tmp_path/'seed1').exists()
    assert pd.read_csv(tmp_path/'summary.csv', index_col=0).seeds.to_dict() == {'late': 1, 'concat': 1}
    res = json.loads((tmp_path/'results.json').read_text())
    assert res['meta']['seeds'] == [0, 1] and [s['method'] for s in res['summary']] == ['late', 'concat']
    for f in ('report.md', 'README.md', 'subsets.csv', 'subsets.png'): assert (tmp_path/f).exists(), f
    cli.prepare_out(tmp_path, overwrite=True).close()   # the stopped run left no lock behind

def test_one_split_for_every_training_seed(tmp_path):
    kw = dict(protocol='missing', dataset='synthetic', epochs=1, quiet=True)
    both = cli.run_bench(['late'], out=tmp_path/'a', seeds='0,1', **kw)['per_seed'].set_index('seed')
    alone0 = cli.run_bench(['late'], out=tmp_path/'b', **kw)['per_seed'].set_index('seed')   # one run, --seed 0
    alone1 = cli.run_bench(['late'], out=tmp_path/'c', seeds=[1], **kw)['per_seed'].set_index('seed')
    num = ['clean_accuracy', 'missing_accuracy']
    pd.testing.assert_frame_equal(both.loc[[0], num], alone0[num])
    pd.testing.assert_frame_equal(both.loc[[1], num], alone1[num])
    assert both.loc[0, num].tolist() != both.loc[1, num].tolist()   # the training seed changes the model
    metas = [json.loads((tmp_path/d/'results.json').read_text())['meta'] for d in 'abc']
    assert {(m['split_seed'], m['n_train'], m['n_valid'], m['n_test']) for m in metas} == {(0, 1000, 200, 500)}
    s = pd.read_csv(tmp_path/'a'/'summary.csv', index_col=0)
    assert s.loc['late', 'clean_accuracy_mean'] == pytest.approx(both.clean_accuracy.mean(), abs=1e-6)
    assert s.loc['late', 'clean_accuracy_std'] == pytest.approx(both.clean_accuracy.std(), abs=1e-6)

def test_fair_baselines_come_from_the_registry():
    run, pairs = cli.bench_plan(['late', 'late+dropout', 'udml', 'dmrnet'])
    assert run == ['late', 'late+dropout', 'udml', 'dmrnet', 'late+noise', 'common_subspace']
    assert pairs == [('udml', 'late+noise'), ('dmrnet', 'common_subspace'), ('dmrnet', 'late+dropout')]
    assert cli.bench_plan(['dynamic', 'mmanet'])[1] == [('dynamic', 'late+noise'), ('mmanet', 'common_subspace'),
                                                       ('mmanet', 'late+dropout')]
    assert cli.bench_plan(['distill'])[1] == [('distill', 'common_subspace'), ('distill', 'late+dropout')]
    assert cli.bench_plan(['onestage'])[1] == [('onestage', 'onestage_noteacher'), ('onestage', 'available')]
    assert cli.bench_plan(['udml'], baselines=False) == (['udml'], [])
