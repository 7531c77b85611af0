("Nothing is lost on the way: checkpoints and exported learners round-trip exactly; "
 "the same seed gives the same numbers.")
import torch
from fastai.learner import load_learner
from robustmm.test_utils import tiny_learner, synth_seg_dls
from robustmm.learner import fusion_learner
from robustmm.evaluate import evaluate_subsets, evaluate_noise

def _fit(learn, n=2):
    with learn.no_logging(), learn.no_bar(): learn.fit(n, 1e-2)
    return learn

def test_checkpoint_round_trip(tmp_path):
    learn = _fit(tiny_learner(3, 'concat', modality_dropout='subsets'))
    learn.path = tmp_path
    p1 = learn.get_preds()[0]
    learn.save('ckpt')
    fresh = fusion_learner(learn.dls, 'concat', feat_dim=16, enc_kwargs=dict(hidden=(32,)), seed=123)
    fresh.path = tmp_path
    with fresh.no_bar(): assert not torch.equal(fresh.get_preds()[0], p1)   # a different init predicts differently
    fresh.load('ckpt')
    with fresh.no_bar(): p2 = fresh.get_preds()[0]
    assert torch.equal(p1, p2)

def test_export_round_trip_segmentation(tmp_path):
    learn = _fit(fusion_learner(synth_seg_dls(), 'concat'), 1)
    with learn.no_bar(): p1 = learn.get_preds()[0]
    learn.export(tmp_path/'seg.pkl')
    l2 = load_learner(tmp_path/'seg.pkl')
    with l2.no_bar(): p2 = l2.get_preds(dl=l2.dls.test_dl(learn.dls.valid_ds))[0]
    assert torch.equal(p1, p2)
    assert evaluate_subsets(l2, l2.dls.test_dl(learn.dls.valid_ds), metrics=['miou']).equals(
        evaluate_subsets(learn, metrics=['miou']))

def test_same_seed_same_numbers():
    a = _fit(tiny_learner(2, 'weighted', modality_dropout=0.3, seed=7))
    b = _fit(tiny_learner(2, 'weighted', modality_dropout=0.3, seed=7))
    assert a.recorder.values == b.recorder.values
    for pa, pb in zip(a.model.parameters(), b.model.parameters()): assert torch.equal(pa, pb)
    assert evaluate_noise(a, levels=[0, 1, 3]).equals(evaluate_noise(b, levels=[0, 1, 3]))

# ---- the cases of the reliability issue: each failed before the change ----
import json
import pandas as pd, pytest
from conftest import bench_subprocess
from robustmm.noise import GaussianNoise
from robustmm.core import apply_mask
from robustmm.data import MultimodalDataset, MultimodalDataLoaders, MultimodalDL
from robustmm.synthetic import synth_multimodal
from robustmm.callbacks import NonFiniteLossError, LossParts, ModalityDropout, NoiseInjection
from robustmm.udml import udml_learner, dynamic_fusion_learner
from robustmm.dmrnet import dmrnet_learner, common_subspace_learner, HardCombinationRegularizer
from robustmm.mmanet import mmanet_learner, teacher_learner, ModalityAwareRegularization
from robustmm.mmanet import mar as mar_module
from robustmm.onestage import privileged_teacher, onestage_learner

def _dls(seed=0, M=3, n_valid=96):
    d = synth_multimodal(384, 192, 4, dims=(8,)*M, n_valid=n_valid, seed=seed)
    return MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=32, device='cpu', seed=seed), d

def _quiet_fit(learn, n, lr=3e-3, **kw):
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(n, lr, **kw)
    return learn

def _teacher(dls):
    return _quiet_fit(teacher_learner(dls), 2).model

def test_dmrnet_validate_and_get_preds_after_a_short_run_keep_the_hard_set():
    dls, _ = _dls()
    learn = _quiet_fit(dmrnet_learner(dls), 5)   # warm-up rounds to one epoch
    hcr = next(cb for cb in learn.cbs if isinstance(cb, HardCombinationRegularizer))
    hard = hcr.hard; assert hard, hard
    with learn.no_bar(): learn.validate(); learn.get_preds()
    assert hcr.hard == hard and learn.model.hard_state.subsets() == sorted(hard, key=lambda s: (len(s), s))
    _quiet_fit(learn, 2)                          # a second fit keeps it too
    assert hcr.hard == hard

def test_bench_dmrnet_short_run(tmp_path):
    from robustmm.cli import main
    assert main(['bench', '--methods', 'late,dmrnet', '--epochs', '5', '--protocol', 'missing',
                 '--dataset', 'synthetic', '--out', str(tmp_path), '--device', 'cpu']) == 0
    # the named methods, then the baselines DMRNet is judged against (its network with dropout, late + dropout)
    assert list(pd.read_csv(tmp_path/'summary.csv', index_col=0).index) == ['late', 'dmrnet', 'common_subspace',
                                                                           'late+dropout']

def test_mmanet_validate_does_not_remine(monkeypatch):
    dls, _ = _dls()
    learn = _quiet_fit(mmanet_learner(dls, _teacher(dls)), 4)
    mar = next(cb for cb in learn.cbs if isinstance(cb, ModalityAwareRegularization))
    weak, stats = mar.weak, learn.model.weak_state.stats.clone()
    assert weak is not None
    calls = []
    monkeypatch.setattr(mar_module, 'mine_scores', lambda *a, **k: calls.append(1) or {})
    with learn.no_bar(): learn.validate(); learn.get_preds()
    assert calls == [] and mar.weak == weak and torch.equal(learn.model.weak_state.stats, stats)

def test_loss_part_history_survives_validate():
    dls, _ = _dls()
    learn = _quiet_fit(dmrnet_learner(dls), 2)
    lp = next(cb for cb in learn.cbs if isinstance(cb, LossParts)); n = len(lp.history)
    assert n == 2*len(dls.train)
    with learn.no_bar(): learn.validate()
    assert len(lp.history) == n

def test_bench_keeps_finished_methods_when_one_fails(tmp_path, monkeypatch):
    from robustmm import cli
    from robustmm.methods import Recipe, _REGISTRY, recipes
    def broken(dls, seed): raise RuntimeError('this method broke')
    recipes()   # the registry is filled before the test's method is added
    monkeypatch.setitem(_REGISTRY, 'broken', Recipe('broken', broken, 'a broken method', module='tests'))
    code = cli.main(['bench', '--methods', 'late,broken,concat', '--epochs', '1', '--protocol', 'missing', '--dataset',
                     'synthetic',
                     '--out', str(tmp_path), '--device', 'cpu'])
    # non-zero: a method failed, the others' results are kept
    assert code == 1
    assert list(pd.read_csv(tmp_path/'summary.csv', index_col=0).index) == ['late', 'concat']
    res = json.loads((tmp_path/'results.json').read_text())
    assert res['failed'] == {'broken': 'RuntimeError: this method broke'}
    assert [r['method'] for r in res['summary']] == ['late', 'concat']

def test_udml_segmentation_in_bench(tmp_path):
    "UDML on segmentation (it used to fail on label maps)."
    from robustmm.datasets import write_nyuv2_fixture
    from robustmm.cli import main
    ds = 'nyuv2:' + str(write_nyuv2_fixture(tmp_path/'nyu'))
    assert main(['bench', '--quick', '--methods', 'udml', '--dataset', ds, '--out', str(tmp_path/'o'),
                 '--device', 'cpu']) == 0

def test_results_are_written_after_each_method(tmp_path, monkeypatch):
    "The first method's table is on disk before the second method trains."
    from robustmm import cli
    from robustmm.methods import Recipe, _REGISTRY, get_recipe
    seen = []
    orig = get_recipe('concat')
    def spy(dls, seed):
        seen.append(pd.read_csv(tmp_path/'summary.csv', index_col=0).index.tolist())
        return orig.learner(dls, seed=seed)
    monkeypatch.setitem(_REGISTRY, 'concat', Recipe('concat', spy, 'concatenation', module='tests'))
    cli.run_bench(['late', 'concat'], 'missing', 'synthetic', epochs=1, out=tmp_path, quiet=True)
    assert seen == [['late']]

FACTORIES = {
    'late': lambda dls: fusion_learner(dls, 'late'), 'concat': lambda dls: fusion_learner(dls, 'concat'),
    'late+dropout': lambda dls: fusion_learner(dls, 'late', modality_dropout='subsets'),
    'dynamic': lambda dls: dynamic_fusion_learner(dls), 'udml': lambda dls: udml_learner(dls, noise_start=0.),
    'common_subspace': lambda dls: common_subspace_learner(dls), 'dmrnet': lambda dls: dmrnet_learner(dls),
    'mmanet': lambda dls: mmanet_learner(dls, _teacher(dls)),
    'onestage': lambda dls: onestage_learner(dls, privileged_teacher(dls, 1, 1), 0)}

@pytest.mark.parametrize('name', list(FACTORIES))
def test_nan_loss_stops_training(name):
    dls, _ = _dls()
    learn = FACTORIES[name](dls)
    with torch.no_grad(): next(learn.model.parameters()).fill_(float('nan'))
    with pytest.raises(NonFiniteLossError, match='epoch 0, batch 0'): _quiet_fit(learn, 2)

def test_nan_loss_opt_out_and_no_nan_in_udml_buffers():
    dls, _ = _dls()
    learn = udml_learner(dls, noise_start=0., check_finite=False)
    with torch.no_grad(): learn.model.head.weight.fill_(float('nan'))
    _quiet_fit(learn, 1)                                        # trains on, as asked
    assert torch.isfinite(learn.model.dependence.value).all()   # the dependence buffer skipped every NaN measurement

def test_n_classes_come_from_the_model_not_the_split():
    dls, d = _dls()
    learn = _quiet_fit(fusion_learner(dls, 'concat'), 3)
    keep = d.test.y < 3                                         # a test split without the top class
    part = MultimodalDataset([x[keep] for x in d.test.xs], d.test.y[keep], d.test.names)
    assert part.n_classes == 3
    dl = MultimodalDL(part, bs=64, device='cpu')
    from robustmm.evaluate import subset_confusions
    _, cms, _ = subset_confusions(learn, dl)
    assert cms.shape[1:] == (4, 4)
    with learn.no_bar(): preds = learn.get_preds(dl=dl)[0].argmax(1)
    acc = (preds == part.y).float().mean().item()
    assert evaluate_subsets(learn, dl).loc['+'.join(part.names), 'accuracy'] == pytest.approx(acc)
    bad = MultimodalDataset([x[:8] for x in d.test.xs], torch.full((8,), 7), d.test.names)
    with pytest.raises(ValueError, match='predicts 4 classes'):
        evaluate_subsets(learn, MultimodalDL(bad, bs=8, device='cpu'))

def test_resume_continues_the_same_run(tmp_path):
    dls, _ = _dls()
    learn = dmrnet_learner(dls); learn.path = tmp_path
    # the warm-up (20%) rounds to one epoch: selected after it
    _quiet_fit(learn, 2)
    hard = learn.model.hard_state.subsets(); assert hard
    learn.save('ck')
    again = dmrnet_learner(dls); again.path = tmp_path; again.load('ck')
    assert again.model.hard_state.subsets() == hard             # the checkpoint carries the hard set
    _quiet_fit(again, 4, start_epoch=2)                         # resuming neither crashes nor re-selects
    assert again.model.hard_state.subsets() == hard

def test_mmanet_resume_keeps_the_mined_set(tmp_path, monkeypatch):
    dls, _ = _dls()
    t = _teacher(dls)
    learn = mmanet_learner(dls, t); learn.path = tmp_path
    _quiet_fit(learn, 4); weak = learn.model.weak_state.subsets(); learn.save('ck')
    calls = []; monkeypatch.setattr(mar_module, 'mine_scores', lambda *a, **k: calls.append(1) or {})
    again = mmanet_learner(dls, t); again.path = tmp_path; again.load('ck')
    _quiet_fit(again, 8, start_epoch=4)
    assert calls == [] and again.model.weak_state.subsets() == weak

def test_exported_mmanet_carries_no_data(tmp_path):
    dls, _ = _dls()
    learn = _quiet_fit(mmanet_learner(dls, _teacher(dls)), 4)
    learn.export(tmp_path/'m.pkl')
    l2 = load_learner(tmp_path/'m.pkl')
    mar = next(cb for cb in l2.cbs if isinstance(cb, ModalityAwareRegularization))
    assert mar.valid_dl is None and len(l2.dls.train_ds) == 0 and len(l2.dls.valid_ds) == 0
    assert l2.model.weak_state.subsets() == learn.model.weak_state.subsets()

def test_arguments_are_checked_where_they_enter():
    dls, d = _dls()
    with pytest.raises(ValueError, match="unknown rule 'hardest'"): dmrnet_learner(dls, rule='hardest')
    with pytest.raises(ValueError, match="weighting must be 'entropy' or 'uniform'"):
        mmanet_learner(dls, _teacher(dls), weighting='margin')
    with pytest.raises(ValueError, match='mine must be'): ModalityAwareRegularization(dls.valid, mine=(0.5, 0.2))
    with pytest.raises(ValueError, match='levels must be finite numbers >= 0'): udml_learner(dls, levels=[-1., 2.])
    with pytest.raises(ValueError, match='levels must be finite numbers >= 0'): NoiseInjection(GaussianNoise(),
                                                                                               [float('nan')])
    with pytest.raises(ValueError, match="unknown mode 'some'"): ModalityDropout('some')
    with pytest.raises(ValueError, match='drop probability p'): ModalityDropout('bernoulli', 1.5)
    x = torch.zeros(4, 3)
    for bad in (float('nan'), float('inf'), -1.):
        with pytest.raises(ValueError, match='finite numbers >= 0'): GaussianNoise()(x, bad)
    with pytest.raises(ValueError, match='levels must be finite'): evaluate_noise(fusion_learner(dls),
                                                                                  levels=[0., float('nan')])
    with pytest.raises(ValueError, match='levels must not be empty'): evaluate_noise(fusion_learner(dls), levels=[])
    with pytest.raises(ValueError, match='subsets must not be empty'): evaluate_subsets(fusion_learner(dls), subsets=[])
    with pytest.raises(ValueError, match="corrupt must be 'each'"): evaluate_noise(fusion_learner(dls), corrupt='both')
    feats = [torch.ones(2, 3), torch.ones(2, 3)]
    with pytest.raises(TypeError, match='bool tensor'): apply_mask(feats, torch.tensor([[1., 0.5], [1., 1.]]))
    with pytest.raises(TypeError, match='bool tensor'): apply_mask(feats, torch.tensor([[1, 0], [1, 1]]))
    with pytest.raises(RuntimeError, match='every modality absent'):
        apply_mask(feats, torch.tensor([[True, False], [False, False]]))
    other = synth_multimodal(64, 64, 4, dims=(8, 8, 5), n_valid=64)
    with pytest.raises(ValueError, match='differ in shapes'): MultimodalDataLoaders.from_dsets(d.train, other.valid,
                                                                                               bs=32)
    three = MultimodalDataset(d.valid.xs, d.valid.y % 3, d.valid.names)
    with pytest.raises(ValueError, match='differ in n_classes'): MultimodalDataLoaders.from_dsets(d.train, three, bs=32)
    with pytest.raises(ValueError, match='lr must be a positive number'): fusion_learner(dls, lr=float('nan'))
    with pytest.raises(ValueError, match='modality_dropout must be'): fusion_learner(dls, modality_dropout=[0.5])

def test_bench_with_no_methods_is_a_message(tmp_path):
    r = bench_subprocess('--methods', '', '--out', str(tmp_path))
    assert r.returncode == 2 and 'names no method' in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]
