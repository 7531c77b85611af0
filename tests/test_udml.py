"UDML keeps its state through checkpoints and exports, trains reproducibly, and draws what it does on any modality."
import matplotlib.pyplot as plt
import pytest, torch
from fastai.learner import load_learner
from robustmm.test_utils import synth_dls
from robustmm.data import MultimodalDataset
from robustmm.models import modality_encoders
from robustmm.udml import (udml_learner, dynamic_fusion_learner, UDMLNet, PriorKL, UnimodalCE, DependenceUpdate,
                           confidence_vs_level, show_udml_noise, udml_noise)

def _fit(learn, n=3):
    with learn.no_logging(), learn.no_bar(): learn.fit_one_cycle(n, 3e-3)
    return learn

def test_export_keeps_dependence_and_predictions(tmp_path):
    learn = _fit(udml_learner(synth_dls(3), feat_dim=16))
    dep = learn.model.dependence.value.clone()
    assert learn.model.dependence.n_updates > 0 and not torch.allclose(dep, torch.ones(3))
    with learn.no_bar(): p1 = learn.get_preds()[0]
    learn.export(tmp_path/'udml.pkl')
    l2 = load_learner(tmp_path/'udml.pkl')
    assert torch.equal(l2.model.dependence.value, dep)          # the released code lost it at evaluation
    with l2.no_bar(): p2 = l2.get_preds(dl=l2.dls.test_dl(learn.dls.valid_ds))[0]
    assert torch.equal(p1, p2)

def test_checkpoint_restores_dependence(tmp_path):
    learn = _fit(udml_learner(synth_dls(2), feat_dim=16)); learn.path = tmp_path
    learn.save('u')
    fresh = udml_learner(learn.dls, feat_dim=16, seed=5); fresh.path = tmp_path
    fresh.load('u')
    assert torch.equal(fresh.model.dependence.value, learn.model.dependence.value)

def test_same_seed_same_numbers():
    a, b = (_fit(udml_learner(synth_dls(2), feat_dim=16, seed=3)) for _ in range(2))
    assert a.recorder.values == b.recorder.values

def _cb(learn, cls): return next(cb for cb in learn.cbs if isinstance(cb, cls))

def test_settings_come_from_arguments_then_preset_then_defaults():
    dls = synth_dls(2)
    default, paper = udml_learner(dls), udml_learner(dls, paper=True)
    settings = lambda l: (_cb(l, PriorKL).weight, _cb(l, PriorKL).reduce, _cb(l, UnimodalCE).weight)
    assert settings(default) == (1e-2, 'pixel', 1.) and settings(paper) == (1e-5, 'sum', 4.)
    assert paper.model.dependence.momentum == 0. and default.model.dependence.momentum == 0.9
    mixed = udml_learner(dls, paper='ks', gamma=1.5, dependence='drop_ce')   # an argument beats the preset
    assert _cb(mixed, UnimodalCE).weight == 1.5 and _cb(mixed, DependenceUpdate).measure == 'drop_ce'
    assert not any(isinstance(cb, PriorKL) for cb in udml_learner(dls, probabilistic=False).cbs)

def test_show_udml_noise_draws_images_and_vectors():
    ds = MultimodalDataset([torch.randn(6, 1, 16, 16), torch.randn(6, 5)], torch.arange(6) % 2, ['img', 'vec'])
    net = UDMLNet(modality_encoders(ds, maps=True), 2, ds.names)
    for m, drawn in ((0, 'images'), (1, 'lines')):
        r = show_udml_noise(net, ds.xs, level=2., modality=m)
        ax = plt.gcf().axes[0]
        assert len(getattr(ax, drawn)) >= 1, (m, drawn)
        assert r['weights'].shape == (6, 2) and torch.allclose(r['weights'].sum(1), torch.full((6,), 2.))
        assert not torch.equal(r['inputs'][m], ds.xs[m]) and torch.equal(r['inputs'][1 - m], ds.xs[1 - m])
        plt.close('all')

def test_confidence_vs_level_takes_one_protocol_per_modality():
    learn = dynamic_fusion_learner(synth_dls(2))
    cv = confidence_vs_level(learn.model, learn.dls.valid, 1, [0., 2.], noise=[udml_noise(), udml_noise()])
    assert list(cv.level) == [0., 2.] and cv.weight.between(0, 1).all()
    with pytest.raises(ValueError, match='one noise protocol per modality'):
        confidence_vs_level(learn.model, learn.dls.valid, 1, [2.], noise=[udml_noise()])
