"DMRNet: exported segmentation learners round-trip exactly; the regulariser really selects and trains hard combinations."
import torch
from fastai.learner import load_learner
from robustmm.test_utils import synth_dls, synth_seg_dls
from robustmm.dmrnet import dmrnet_learner, HardCombinationRegularizer
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
