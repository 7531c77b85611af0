"""Paper presets: the released scripts' optimiser (torch SGD, coupled L2 on every parameter), schedule, loss weights,
warm-up and mining epochs, encoder depth, per dataset."""
import numpy as np, pytest, torch, torch.nn as nn
from robustmm.data import MultimodalDataset, MultimodalDataLoaders
from robustmm.synthetic import synth_multimodal
from robustmm.optim import CoupledSGD
from robustmm.presets import fit_paper
from robustmm.udml import udml_learner
from robustmm.dmrnet import dmrnet_learner, HardCombinationRegularizer
from robustmm.mmanet import mmanet_learner, teacher_learner, ModalityAwareRegularization, MarginAwareDistillation
from robustmm.onestage import onestage_learner, privileged_teacher

def _vec_dls(M=2, seed=0):
    d = synth_multimodal(256, 64, 4, dims=(8,)*M, n_valid=64, seed=seed)
    return MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=32, device='cpu', seed=seed)

def _img_dls(names=('rgb', 'depth', 'ir'), n=32):
    g = torch.Generator().manual_seed(0)
    mk = lambda k: MultimodalDataset([torch.randn(k, 3 if i == 0 else 1, 16, 16, generator=g)
                                      for i in range(len(names))], torch.arange(k) % 2, list(names))
    return MultimodalDataLoaders.from_dsets(mk(n), mk(16), bs=8, device='cpu')

def _coupled_on_batchnorm(learn):
    "A zero gradient still moves a BatchNorm weight when the L2 decay is coupled and covers BatchNorm."
    learn.create_opt()
    bn = next(m for m in learn.model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)))
    w0 = bn.weight.detach().clone()
    for p in learn.model.parameters(): p.grad = torch.zeros_like(p)
    learn.opt.step()
    return not torch.equal(bn.weight, w0)

def _quiet(f):
    def g(learn, *a, **k):
        with learn.no_bar(), learn.no_logging(): return f(learn, *a, **k)
    return g

@pytest.mark.parametrize('make, wd, nesterov', [
    (lambda: udml_learner(_vec_dls(), paper=True), 1e-4, False),
    (lambda: dmrnet_learner(_vec_dls(), paper='cremad'), 1e-4, False),
    (lambda: dmrnet_learner(_img_dls(), paper='casia-surf'), 5e-4, True),
    (lambda: mmanet_learner(_vec_dls(3), teacher_learner(_vec_dls(3)).model, paper='casia-surf'), 5e-4, True),
    (lambda: teacher_learner(_vec_dls(3), paper='nyuv2', levels=False), 1e-4, False),
    (lambda: onestage_learner(_img_dls(('rgb', 'depth')), privileged_teacher(_img_dls(('rgb', 'depth')), 1, 1), 0,
                              paper='nyuv2'), 1e-4, True)])
def test_optimiser_is_torch_sgd_with_coupled_l2_on_every_parameter(make, wd, nesterov):
    learn = make()
    assert isinstance(learn.opt_func, CoupledSGD) and learn.wd_bn_bias
    learn.create_opt()
    assert type(learn.opt.opt) is torch.optim.SGD
    assert all(g['weight_decay'] == wd and g['momentum'] == 0.9 and g['nesterov'] == nesterov
               for g in learn.opt.opt.param_groups)
    assert _coupled_on_batchnorm(learn)

def test_fastai_default_does_not_decay_batchnorm():
    "The contrast the presets fix: robustmm's default (decoupled, BatchNorm skipped) leaves a BatchNorm weight alone."
    assert not _coupled_on_batchnorm(dmrnet_learner(_vec_dls()))

def test_schedules():
    l = udml_learner(_vec_dls(), paper=True)
    _quiet(fit_paper)(l, 10)
    lrs = np.array(l.recorder.lrs); n = len(lrs)
    assert np.allclose(lrs[:int(n*0.69)], 1e-3) and np.allclose(lrs[int(n*0.71):], 1e-4)      # x0.1 at 70 %
    m = mmanet_learner(_vec_dls(3), teacher_learner(_vec_dls(3)).model, paper='casia-surf')
    _quiet(fit_paper)(m, 20)
    lrs = np.array(m.recorder.lrs); n = len(lrs)
    # linear warm-up from 0 over 5 %
    assert lrs[0] == 0 and lrs[n//40] < 1e-3
    assert (np.isclose(lrs[int(n*0.15)], 1e-3) and np.isclose(lrs[int(n*0.3)], 1e-4)
            and np.isclose(lrs[int(n*0.45)], 1e-5) and np.isclose(lrs[-1], 1e-6))
    t = teacher_learner(_vec_dls(3), paper='nyuv2', levels=False)   # vectors: one fusion point
    _quiet(fit_paper)(t, 4)
    lrs = np.array(t.recorder.lrs)
    # one-cycle from lr/25 up to lr and down towards lr/1e4
    assert np.isclose(lrs.max(), 0.01, rtol=0.02) and np.isclose(lrs[0], 0.01/25) and lrs[-1] < 1e-4

def test_dmrnet_presets_warmup_and_hard_sets():
    l = dmrnet_learner(_vec_dls(), paper='cremad')
    hcr = next(cb for cb in l.cbs if isinstance(cb, HardCombinationRegularizer))
    assert (hcr.weight, hcr.warmup, hcr.score, hcr.rule, hcr.k) == (0.2, 6, 'variance', 'topk', 1)
    chosen = []
    orig = hcr.after_epoch
    def spy(): orig(); chosen.append(hcr.hard is not None)
    hcr.after_epoch = spy
    _quiet(fit_paper)(l, 8)
    assert chosen.index(True) == 5                        # selected at the end of epoch index 5: 6 warm-up epochs
    assert len(hcr.hard) == 1 and len(hcr.hard[0]) == 1   # the unimodal combination with the larger variance
    f = dmrnet_learner(_img_dls(), paper='casia-surf')
    _quiet(lambda l: l.fit(1))(f)
    assert f.model.hard_state.subsets() == [(0,), (2,), (0, 2)]   # RGB, IR, RGB+IR: the script's manual set
    assert (f.model.encoders[0].arch == 'resnet18'
            and dmrnet_learner(_img_dls(), paper='cremad').model.encoders[0].arch == 'resnet34')
    s = dmrnet_learner(_img_dls(('rgb', 'depth')), paper='nyuv2')
    assert (s.model.encoders[0].arch == 'resnet50'
            and next(cb for cb in s.cbs if isinstance(cb, HardCombinationRegularizer)).aux_head)
    assert dmrnet_learner(_vec_dls(), paper='ks').paper_preset['beta'] == 0.3

def test_mmanet_preset_weights_start_and_mining_epochs():
    dls = _vec_dls(3)
    l = mmanet_learner(dls, teacher_learner(dls).model, paper=True)
    mad = next(cb for cb in l.cbs if isinstance(cb, MarginAwareDistillation))
    mar = next(cb for cb in l.cbs if isinstance(cb, ModalityAwareRegularization))
    assert (mad.weight, mad.start, mar.weight, mar.mine) == (30., 5, 0.5, (1, 4))
    chosen = []; orig = mar.after_epoch
    def spy(): orig(); chosen.append(mar.weak is not None)
    mar.after_epoch = spy
    _quiet(fit_paper)(l, 7)
    assert chosen.index(True) == 3                        # mined after epochs 2, 3, 4 (1-based), fixed after the 4th
    assert mmanet_learner(dls, teacher_learner(dls).model, paper='nyuv2', levels=False,
                          mad_weight=2.).paper_preset['mar_weight'] == 0.2

def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match='DMRNet has presets for cremad, ks, casia-surf, nyuv2'):
        dmrnet_learner(_vec_dls(), paper='avmnist')
    with pytest.raises(ValueError, match='no paper preset'): fit_paper(dmrnet_learner(_vec_dls()))

def test_segmentation_options_of_the_code():
    "Per-pixel KL, and the hard-combination / MAR losses normalised over the selected samples (the segmentation code)."
    from types import SimpleNamespace
    from robustmm.selection import CombinationState
    y = torch.zeros(4, dtype=torch.long)
    mask = torch.tensor([[True, False], [False, True], [True, False], [True, True]])
    for norm, expect in (('batch', 2/4), ('selected', 2/2)):
        h = HardCombinationRegularizer(1., rule=[(0,)], norm=norm)
        h.learn = SimpleNamespace(model=SimpleNamespace(n_modalities=2, names=['a', 'b'],
                                                        hard_state=CombinationState(2)),
                                  pred=torch.zeros(4, 3), yb=(y,), aux={'mask': mask})
        h.before_fit()
        torch.testing.assert_close(h.term(), torch.log(torch.tensor(3.))*expect)
    s = dmrnet_learner(_img_dls(('rgb', 'depth')), paper='nyuv2')
    assert next(cb for cb in s.cbs if isinstance(cb, HardCombinationRegularizer)).norm == 'selected'
    assert next(cb for cb in s.cbs if type(cb).__name__ == 'EmbeddingKL').reduce == 'pixel'
    dls = _vec_dls(3)
    learn = mmanet_learner(dls, teacher_learner(dls).model, paper='nyuv2', levels=False)
    assert next(cb for cb in learn.cbs if isinstance(cb, ModalityAwareRegularization)).norm == 'selected'
    with pytest.raises(ValueError, match="norm must be 'batch' or 'selected'"): HardCombinationRegularizer(norm='mean')

def test_nyuv2_presets_fuse_at_every_encoder_level():
    ("The segmentation code fuses after the stem and after each of the 4 ResNet stages (SE-add; "
     "cross translation for one-stage).")
    dls = _img_dls(('rgb', 'depth'))
    d = dmrnet_learner(dls, paper='nyuv2').model
    assert d.fuses_while_encoding and len(d.levels.blocks) == 5 and d.levels.channels == [64, 256, 512, 1024, 2048]
    t = teacher_learner(dls, paper='nyuv2').model
    m = mmanet_learner(dls, t, paper='nyuv2').model
    assert t.fuses_while_encoding and m.fuses_while_encoding and len(m.levels.blocks) == 5
    o = onestage_learner(dls, privileged_teacher(dls, 1, 1), 0, paper='nyuv2').model
    assert o.fuses_while_encoding and len(o.cross_levels) == 5
    assert not dmrnet_learner(dls, paper='casia-surf').model.fuses_while_encoding   # classification: one fusion point
    with pytest.raises(TypeError, match='ConvEncoder or ResNetEncoder'): dmrnet_learner(_vec_dls(), paper='nyuv2')
