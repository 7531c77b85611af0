"One-stage distillation: the privileged modality never reaches the deployed student; two-stage freezes what it should."
import pytest, torch
from robustmm.test_utils import synth_dls, synth_seg_dls
from robustmm.onestage import privileged_teacher, onestage_learner, twostage_fit, OneStageNet, CrossTranslation
from robustmm.onestage import teacherless_learner, FeatureMMD, PredictionKD
from robustmm.distill import Teacher
from robustmm.methods import get_recipe

def test_privileged_modality_is_never_used_and_two_stage_freezes():
    dls = synth_dls(2, dim=8)
    t = privileged_teacher(dls, 'm1', epochs=2)
    l = onestage_learner(dls, t, 'm0', feat_dim=16, channels=16)
    with l.no_bar(), l.no_logging(): l.fit_one_cycle(2, 3e-3)
    assert {'mmd', 'kd', 'rec'} <= set(l.recorder.metric_names)
    l.model.eval(); x = dls.valid_ds.xs[0][:5]
    with torch.no_grad(): assert torch.equal(l.model(x, torch.zeros(5, 8)), l.model(x, torch.full((5, 8), 1e3)))
    l2 = onestage_learner(dls, t, 'm0', feat_dim=16, channels=16)
    twostage_fit(l2, 1, 3e-3)
    enc_r = [p.clone() for p in l2.model.enc_r.parameters()]
    assert not any(p.requires_grad for p in l2.model.enc_r.parameters())
    with l2.no_bar(), l2.no_logging(): l2.fit(1, 1e-3)
    assert all(torch.equal(a, b) for a, b in zip(enc_r, l2.model.enc_r.parameters()))

def _checksum(m): return sum((p.double()*torch.arange(p.numel()).reshape(p.shape)).sum().item() for p in m.parameters())

def test_seeded_numbers_unchanged():
    "The classes split into pieces (`@patch`): the seeded initialisation, outputs and training stay the same."
    dls = synth_dls(2, dim=8)
    t = privileged_teacher(dls, 'm1', epochs=2)
    for kw, want in ((dict(), 21836.16021758235), (dict(share=False), 22358.736152350073)):
        got = _checksum(onestage_learner(dls, t, 'm0', feat_dim=16, channels=16, **kw).model)
        assert got == pytest.approx(want, rel=1e-9)
    l = onestage_learner(dls, None, 'm0', teacher_dim=12, feat_dim=16, channels=16)
    assert _checksum(l.model) == pytest.approx(16039.888051364553, rel=1e-9)
    b = dls.one_batch(); l.model.train(); out, aux = l.model(*b[:2])
    got = [out.double().sum().item(), aux['j2'].double().sum().item(), aux['restored_logits'].double().sum().item()]
    assert got == pytest.approx([-12.810417210683227, 87.99950476363301, 3.8808435201644897], rel=1e-5)
    l = onestage_learner(dls, t, 'm0', feat_dim=16, channels=16)
    with l.no_bar(), l.no_logging(): l.fit_one_cycle(2, 3e-3)
    assert [float(v) for v in l.recorder.values[-1][:3]] == pytest.approx(
        [2.4976844787597656, 1.3651087284088135, 0.3984375], rel=1e-4)
    l2 = onestage_learner(dls, t, 'm0', feat_dim=16, channels=16)
    twostage_fit(l2, 1, 3e-3)
    assert [float(v) for v in l2.validate()[:2]] == pytest.approx([1.3866156339645386, 0.2578125], rel=1e-4)

def test_levels_layout_unchanged():
    "Cross translation at every encoder stage (the preset's layout): the same parameters and outputs as before."
    dls = synth_seg_dls()
    wants = ((True, (-11896.590619609986, 550.0116544626944, 48)),
             (False, (27293.602862124386, -1533.4656761214137, 40)))
    for levels, want in wants:
        l = onestage_learner(dls, None, 'rgb', teacher_dim=8, levels=levels, feat_dim=16, channels=16)
        b = dls.one_batch(); l.model.eval()
        with torch.no_grad(): o = l.model(*b[:2])
        assert _checksum(l.model) == pytest.approx(want[0], rel=1e-9)
        assert o.double().sum().item() == pytest.approx(want[1], rel=1e-5)
        assert len(list(l.model.parameters())) == want[2]
        l.model.train(); _, aux = l.model(*b[:2])
        assert aux['restored'].double().sum().item() == pytest.approx(397.84166032541543, rel=1e-5)

def test_built_without_teacher_and_pieces():
    "Deployment builds the network without a teacher (`teacher_dim`); the pieces patched onto the classes are in place."
    dls = synth_dls(2, dim=8)
    l = onestage_learner(dls, None, 'm0', teacher_dim=12, feat_dim=16, channels=16)
    assert l.network_kwargs == {'teacher_dim': 12} and l.model.to_teacher.out_features == 12
    with pytest.raises(ValueError, match='teacher_dim'): onestage_learner(dls, None, 'm0')
    pieces = ('encode_one', 'fuse', 'translate', 'restored', 'translate_levels', 'fusion_modules',
              'restoration_modules')
    for name in pieces:
        assert getattr(OneStageNet, name).__doc__, name
    assert isinstance(OneStageNet.fuses_while_encoding, property) and not l.model.fuses_while_encoding
    z, j2, j3 = CrossTranslation(8)(torch.ones(2, 8), torch.ones(2, 8))
    assert torch.equal(j2, j3) and z.shape == (2, 8)

def test_teacherless_baseline():
    "`onestage_noteacher`: the same network without the teacher's callbacks; one-stage's first baseline."
    dls = synth_dls(2, dim=8)
    l = teacherless_learner(dls, available=0, feat_dim=16, channels=16)
    assert isinstance(l.model, OneStageNet)
    assert not [cb for cb in l.cbs if isinstance(cb, (Teacher, FeatureMMD, PredictionKD))]
    with l.no_bar(), l.no_logging(): l.fit(1, 1e-3)
    assert 'mmd' not in l.recorder.metric_names and 'kd' not in l.recorder.metric_names
    assert get_recipe('onestage').baselines == ('onestage_noteacher', 'available')
    # by name: the docs build re-runs the notebook's registration in-process, with an equal function of its own
    assert get_recipe('onestage_noteacher').learner.__name__ == 'teacherless_learner'
