"UDML keeps its state through checkpoints and exports, and trains reproducibly."
import torch
from fastai.learner import load_learner
from robustmm.test_utils import synth_dls
from robustmm.udml import udml_learner, UDMLNet

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
