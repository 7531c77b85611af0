"One-stage distillation: the privileged modality never reaches the deployed student; two-stage freezes what it should."
import torch
from robustmm.test_utils import synth_dls
from robustmm.onestage import privileged_teacher, onestage_learner, twostage_fit

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
