"Nothing is lost on the way: checkpoints and exported learners round-trip exactly; the same seed gives the same numbers."
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
    fresh = fusion_learner(learn.dls, 'concat', feat_dim=16, enc_kwargs=dict(hidden=(32,)), seed=123); fresh.path = tmp_path
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
    assert evaluate_subsets(l2, l2.dls.test_dl(learn.dls.valid_ds), metrics=['miou']).equals(evaluate_subsets(learn, metrics=['miou']))

def test_same_seed_same_numbers():
    a = _fit(tiny_learner(2, 'weighted', modality_dropout=0.3, seed=7))
    b = _fit(tiny_learner(2, 'weighted', modality_dropout=0.3, seed=7))
    assert a.recorder.values == b.recorder.values
    for pa, pb in zip(a.model.parameters(), b.model.parameters()): assert torch.equal(pa, pb)
    assert evaluate_noise(a, levels=[0, 1, 3]).equals(evaluate_noise(b, levels=[0, 1, 3]))
