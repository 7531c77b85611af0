"DMRNet: exported learners round-trip exactly; the regulariser selects and trains hard combinations; the drawings."
import inspect
import matplotlib.pyplot as plt
import pytest
import torch
from fastai.learner import load_learner
from robustmm.test_utils import synth_dls, synth_seg_dls
from robustmm.dmrnet import (dmrnet_learner, HardCombinationRegularizer, DMRNET_PRESETS, DMRNET_DEFAULTS,
                             CombinationNet,
                             combination_learner, combination_embeddings, combination_geometry, combination_variance,
                             direction_plane, plot_directions, plot_gaussians, plot_geometry, plot_hard_scores)
from robustmm.dmrnet.method import _dmrnet_settings
from robustmm.models import MultimodalNet
from robustmm.evaluate import evaluate_subsets

def _fit(learn, n=3):
    with learn.no_logging(), learn.no_bar(): learn.fit_one_cycle(n, 3e-3)
    return learn

def test_segmentation_export_round_trip(tmp_path):
    learn = _fit(dmrnet_learner(synth_seg_dls(), kl_reduce='mean'), 2)
    learn.export(tmp_path/'dmr.pkl')
    l2 = load_learner(tmp_path/'dmr.pkl')
    dl = l2.dls.test_dl(learn.dls.valid_ds)
    assert evaluate_subsets(l2, dl, metrics=['miou']).equals(evaluate_subsets(learn, metrics=['miou']))

def test_hard_set_selected_after_warmup_and_logged():
    learn = _fit(dmrnet_learner(synth_dls(3), beta=0.5, warmup=0.34), 3)
    hcr = next(cb for cb in learn.cbs if isinstance(cb, HardCombinationRegularizer))
    assert hcr.hard and all(len(s) < 3 for s in hcr.hard)
    assert 'hcr' in learn.recorder.metric_names

def test_level_fusion_segmentation_trains_evaluates_and_round_trips(tmp_path):
    "Fusion at every encoder level: the hard set is chosen, each subset's table is the masked model's, export exact."
    learn = _fit(dmrnet_learner(synth_seg_dls(), levels=True, warmup=0.34, score='variance', rule='topk', k=1), 3)
    assert learn.model.fuses_while_encoding and learn.model.hard_state.subsets() is not None
    res = evaluate_subsets(learn, metrics=['miou'])
    dl = learn.dls.valid; m = learn.model.eval()
    K = m.head.cls.out_channels
    with torch.no_grad():
        for name, s in (('rgb', [True, False]), ('depth', [False, True])):
            cms = 0
            for xa, xb, y in dl:
                out = m(xa, xb, torch.tensor([s]).expand(len(y), 2)).argmax(1)
                cms = cms + torch.bincount((y*K + out).flatten(), minlength=K**2)
            cm = cms.view(K, -1).double()
            iou = cm.diag()/(cm.sum(0) + cm.sum(1) - cm.diag())
            assert abs(iou[~iou.isnan()].mean().item() - res.loc[name, 'miou']) < 1e-6
    learn.export(tmp_path/'lv.pkl')
    l2 = load_learner(tmp_path/'lv.pkl')
    assert evaluate_subsets(l2, l2.dls.test_dl(learn.dls.valid_ds), metrics=['miou']).equals(res)

def _old_settings(d, beta, warmup, score, rule, k, aux_head, kl_weight, kl_reduce, norm):
    "The settings as `dmrnet_learner` resolved them inline before it was split into pieces."
    f = lambda v, w: w if v is None else v
    return dict(beta=f(beta, d['beta']), warmup=f(warmup, d['warmup']), score=f(score, d['score']),
                rule=f(rule, d['rule']),
                k=f(k, d['k']), aux_head=f(aux_head, d['aux_head']), kl_weight=f(kl_weight, d['kl_weight']),
                kl_reduce=f(kl_reduce, d.get('kl_reduce', 'sum')), norm=f(norm, d.get('norm', 'batch')))

@pytest.mark.parametrize('preset', [None, *DMRNET_PRESETS])
def test_settings_resolve_as_before(preset):
    "Every preset (and the defaults) gives the same settings, left at None or overridden, as before the split."
    d = DMRNET_PRESETS[preset] if preset else DMRNET_DEFAULTS
    names = ['beta', 'warmup', 'score', 'rule', 'k', 'aux_head', 'kl_weight', 'kl_reduce', 'norm']
    given = dict.fromkeys(names)
    assert _dmrnet_settings(d, **given) == _old_settings(d, **given)
    given.update(beta=0.7, norm='selected')
    assert _dmrnet_settings(d, **given) == _old_settings(d, **given)

def test_public_signatures_kept():
    params = list(inspect.signature(dmrnet_learner).parameters)
    assert params == ['dls', 'beta', 'warmup', 'score', 'rule', 'k', 'aux_head', 'probabilistic', 'kl_weight',
                      'kl_reduce', 'norm', 'paper', 'seed', 'cbs', 'kwargs']
    assert list(inspect.signature(CombinationNet.__init__).parameters) == [
        'self', 'encoders', 'n_classes', 'names', 'probabilistic', 'emb_dim', 'task', 'aux_head', 'levels']
    for m in ('forward', 'fuse', 'predict_subsets'):   # the contract methods CombinationNet overrides, now @patch cells
        assert getattr(CombinationNet, m) is not getattr(MultimodalNet, m), m

def test_combination_tables_and_drawings():
    "The per-combination tables on a small trained model, and every drawing returns its axes."
    learn = _fit(combination_learner(synth_dls(3), probabilistic=True), 1)
    ds = learn.dls.valid_ds; xs, y = list(ds.tensors[:3]), ds.tensors[3]
    emb = combination_embeddings(learn.model, xs)
    assert len(emb) == 7 and all(mu.shape[0] == len(y) and sigma is not None for mu, sigma in emb.values())
    geo = combination_geometry(learn.model, xs, y, cls=0)
    assert abs(geo.cos_to_full_mean.iloc[-1] - 1) < 1e-5 and len(geo) == 7
    var = combination_variance(learn.model, xs)
    assert list(var.n_modalities) == [1, 1, 1, 2, 2, 2, 3] and (var.variance > 0).all()
    P = direction_plane(torch.randn(16), torch.randn(20, 16))
    assert torch.allclose(P @ P.T, torch.eye(2), atol=1e-5)
    subs = [(0,), (1,), (0, 1, 2)]
    for ax in (plot_directions(learn.model, xs, y, 0, subs), plot_gaussians(learn.model, xs, y, 0, subs),
               plot_geometry({'a': geo})):
        assert ax.get_xlabel() and ax.get_ylabel()
    point = combination_learner(synth_dls(3), probabilistic=False).model
    with pytest.raises(ValueError, match='Gaussian embedding'): combination_variance(point, xs)
    plt.close('all')

def test_plot_hard_scores_top_and_bottom():
    import pandas as pd
    rep = pd.DataFrame({'score': [float(i) for i in range(10)], 'hard': [i > 6 for i in range(10)]},
                       index=[f'c{i}' for i in range(10)])
    ax = plot_hard_scores(rep, top=2)
    assert [t.get_text() for t in ax.get_xticklabels()] == ['c9', 'c8', 'c1', 'c0']
    assert '2 highest and 2 lowest of 10' in ax.get_xlabel()
    assert len(plot_hard_scores(rep).patches) == 10
    plt.close('all')
