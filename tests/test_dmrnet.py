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

def test_level_fusion_segmentation_trains_evaluates_and_round_trips(tmp_path):
    "DMRNet fusing at every encoder level: the hard set is chosen, each subset's table is the masked whole model's, export is exact."
    learn = _fit(dmrnet_learner(synth_seg_dls(), levels=True, warmup=0.34, score='variance', rule='topk', k=1), 3)
    assert learn.model.fuses_while_encoding and learn.model.hard_state.subsets() is not None
    res = evaluate_subsets(learn, metrics=['miou'])
    dl = learn.dls.valid; m = learn.model.eval()
    with torch.no_grad():
        for name, s in (('rgb', [True, False]), ('depth', [False, True])):
            cms = 0
            for xa, xb, y in dl:
                out = m(xa, xb, torch.tensor([s]).expand(len(y), 2)).argmax(1)
                cms = cms + torch.bincount((y*m.head.cls.out_channels + out).flatten(), minlength=m.head.cls.out_channels**2)
            cm = cms.view(m.head.cls.out_channels, -1).double()
            iou = cm.diag()/(cm.sum(0) + cm.sum(1) - cm.diag())
            assert abs(iou[~iou.isnan()].mean().item() - res.loc[name, 'miou']) < 1e-6
    learn.export(tmp_path/'lv.pkl')
    l2 = load_learner(tmp_path/'lv.pkl')
    assert evaluate_subsets(l2, l2.dls.test_dl(learn.dls.valid_ds), metrics=['miou']).equals(res)
