"MMANet: the teacher sees complete inputs, stays frozen and in eval mode; MAR mines on the validation loader; export round-trips."
import torch
from fastai.learner import load_learner
from robustmm.test_utils import synth_dls
from robustmm.mmanet import mmanet_learner, teacher_learner, Teacher, ModalityAwareRegularization

def _fit(learn, n=4):
    with learn.no_logging(), learn.no_bar(): learn.fit_one_cycle(n, 3e-3)
    return learn

def test_teacher_frozen_and_complete_inputs(tmp_path):
    dls = synth_dls(3)
    t = _fit(teacher_learner(dls), 2)
    before = [p.clone() for p in t.model.parameters()]
    seen = []
    orig = t.model.features
    def spy(*xs): seen.append(len(xs)); return orig(*xs)
    t.model.features = spy
    learn = _fit(mmanet_learner(dls, t.model))
    assert seen and set(seen) == {3}                       # all modalities, never a mask
    assert not t.model.training
    assert all(torch.equal(a, b) for a, b in zip(before, t.model.parameters()))
    mar = next(cb for cb in learn.cbs if isinstance(cb, ModalityAwareRegularization))
    assert mar.weak and all(len(s) <= 2 for s in mar.weak)
    assert {'mad', 'mar'} <= set(learn.recorder.metric_names)
    t.model.features = orig
    learn.export(tmp_path/'m.pkl'); l2 = load_learner(tmp_path/'m.pkl')
    with l2.no_bar(), learn.no_bar():
        assert torch.equal(learn.get_preds()[0], l2.get_preds(dl=l2.dls.test_dl(learn.dls.valid_ds))[0])

def test_mine_range_is_honoured():
    "mmanet_learner used to pass (min(mine[0], start), start), ignoring mine[1]."
    dls = synth_dls(3)
    t = teacher_learner(dls).model
    mar = lambda l: next(cb for cb in l.cbs if isinstance(cb, ModalityAwareRegularization))
    assert mar(mmanet_learner(dls, t, start=0.25, mine=(0.1, 0.5))).mine == (0.1, 0.5)
    assert mar(mmanet_learner(dls, t, start=0.05, mine=(0.2, 0.6))).mine == (0.2, 0.6)
    seen = []
    learn = mmanet_learner(dls, t, start=0.1, mine=(0.2, 0.6))
    orig = mar(learn).after_epoch
    def spy(): orig(); seen.append((learn.epoch, mar(learn).weak is not None))
    mar(learn).after_epoch = spy
    _fit(learn, 5)                                         # mining ends after 60% of 5 epochs: the set is chosen at epoch 2 (0-based)
    assert [e for e, chosen in seen if chosen][0] == 2

def test_level_fusion_segmentation_mines_on_the_whole_model():
    "MMANet on segmentation with fusion at every encoder level: MAR mines its weak set through whole-model passes."
    from robustmm.test_utils import synth_seg_dls
    dls = synth_seg_dls()
    t = _fit(teacher_learner(dls, levels=True), 1)
    learn = _fit(mmanet_learner(dls, t.model, levels=True, start=0.25, mine=(0.25, 0.5)), 4)
    mar = next(cb for cb in learn.cbs if isinstance(cb, ModalityAwareRegularization))
    assert learn.model.fuses_while_encoding and mar.weak and all(len(s) == 1 for s in mar.weak)
    assert {'mad', 'mar'} <= set(learn.recorder.metric_names)
