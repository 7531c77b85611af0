"""MMANet: the teacher sees complete inputs, stays frozen and in eval mode; MAR mines on the validation loader and
records its rounds; a learner built without a teacher predicts but refuses to train; export round-trips."""
import pytest, torch, pandas as pd
from fastai.learner import load_learner
from robustmm.test_utils import synth_dls
from robustmm.mmanet import (mmanet_learner, teacher_learner, plain_distillation_learner, Teacher,
                             ModalityAwareRegularization, show_mining)

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
    "MAR mines over the range passed as `mine` (both ends), whatever `start` is."
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
    _fit(learn, 5)   # mining ends after 60 % of 5 epochs: the set is chosen at epoch 2 (0-based)
    assert [e for e, chosen in seen if chosen][0] == 2
    assert [e for e, _ in mar(learn).rounds] == [0, 1, 2]   # mined after the epochs of the range, then fixed

def test_level_fusion_segmentation_mines_on_the_whole_model():
    "MMANet on segmentation with fusion at every encoder level: MAR mines its weak set through whole-model passes."
    from robustmm.test_utils import synth_seg_dls
    dls = synth_seg_dls()
    t = _fit(teacher_learner(dls, levels=True), 1)
    learn = _fit(mmanet_learner(dls, t.model, levels=True, start=0.25, mine=(0.25, 0.5)), 4)
    mar = next(cb for cb in learn.cbs if isinstance(cb, ModalityAwareRegularization))
    assert learn.model.fuses_while_encoding and mar.weak and all(len(s) == 1 for s in mar.weak)
    assert {'mad', 'mar'} <= set(learn.recorder.metric_names)

def test_mining_rounds_drawn():
    "Each mining round is kept with its epoch; show_mining draws them, or says why it cannot."
    dls = synth_dls(3)
    learn = _fit(mmanet_learner(dls, teacher_learner(dls).model, mine=(1, 2)), 3)
    mar = next(cb for cb in learn.cbs if isinstance(cb, ModalityAwareRegularization))
    assert [e for e, _ in mar.rounds] == [0, 1] and all(set(s) == set(mar.candidates) for _, s in mar.rounds)
    df = show_mining(mar)
    assert isinstance(df, pd.DataFrame) and df.shape == (3, 2)
    assert show_mining(ModalityAwareRegularization(None, weak=[(0,)])).startswith('nothing mined')

def test_no_teacher_predicts_but_refuses_to_train():
    "A network rebuilt for deployment (teacher=None) predicts; fitting it names the missing teacher."
    dls = synth_dls(3)
    for learn in (mmanet_learner(dls, None), plain_distillation_learner(dls, None)):
        with learn.no_bar(): assert learn.get_preds()[0].shape[0] == len(dls.valid_ds)
        with pytest.raises(ValueError, match='teacher is None'): _fit(learn, 1)
    with pytest.raises(TypeError, match='features'): Teacher(torch.nn.Linear(2, 2))
