"ShaSpec (issue 24): exact per-subset outputs, DAO and DCO on hand-computed cases, the fill rules, bad arguments."
import math
import pytest, torch, torch.nn as nn
from robustmm.core import subset_masks
from robustmm.data import MultimodalDataset, MultimodalDataLoaders
from robustmm.synthetic import synth_multimodal
from robustmm.methods import get_recipe
from robustmm.shaspec import (shared_route, shared_encoder, MapAdapter, fill_weights, ResidualFusion, ShaSpecNet,
                              shaspec_net, dao_pairs, dao_loss, dco_loss, DistributionAlignment, DomainClassification,
                              FullModalityWarmup, shaspec_learner)


def _ds(shapes, kinds, n=24, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    xs = [torch.randn(n, *s, generator=g) for s in shapes]
    return MultimodalDataset(xs, torch.arange(n) % k, [f'm{i}' for i in range(len(shapes))], k, kinds=kinds)


DATASETS = {   # one per route of the shared encoder
    'same': ([(6,), (6,), (6,)], ['vector']*3),
    'encoded': ([(5,), (9,), (3,)], ['vector']*3),
    'image': ([(1, 8, 8), (3, 16, 12)], ['image', 'audio']),
}


@pytest.mark.parametrize('route', list(DATASETS))
@pytest.mark.parametrize('fill', ['mean', 'first'])
def test_subset_predictions_equal_one_pass_per_subset(route, fill):
    ds = _ds(*DATASETS[route])
    assert shared_route([ds.shapes[n] for n in ds.names], ds.kinds) == route
    torch.manual_seed(0)
    net = shaspec_net(ds, fill=fill).eval()
    M, B, masks = ds.n_modalities, len(ds), subset_masks(ds.n_modalities)
    with torch.no_grad():
        fast = net.predict_subsets(net.encode(*ds.xs), masks)
        slow = torch.stack([net(*ds.xs, m.expand(B, M)) for m in masks])
    assert fast.shape == (2**M - 1, B, 3)
    torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-5)


def test_encode_one_matches_the_stacked_pass_in_eval():
    ds = _ds(*DATASETS['image'])
    net = shaspec_net(ds).eval()
    with torch.no_grad():
        feats = net.encode(*ds.xs)
        for i, x in enumerate(ds.xs):
            r, s = net.encode_one(i, x)
            torch.testing.assert_close(r, feats[i][0], rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(s, feats[i][1])


def test_map_adapter_and_routes():
    assert MapAdapter(3, 3, (4, 4))(torch.ones(2, 3, 8, 8)).shape == (2, 3, 4, 4)
    assert isinstance(MapAdapter(3, 3, (4, 4)).conv, nn.Identity)
    assert isinstance(MapAdapter(1, 3, (4, 4)).conv, nn.Conv2d)
    assert shared_route([(12,), (12,)], ['text', 'text']) == 'encoded'   # two vocabularies: never one embedding
    sh = shared_encoder([(1, 8, 8), (3, 16, 12)], ['image', 'audio'])
    assert [a.size for a in sh.adapters] == [(8, 8), (8, 8)] and sh.trunk.body[0][0].in_channels == 3


def test_fill_rules():
    mask = torch.tensor([[True, False, True], [False, True, True], [False, False, True]])
    assert torch.equal(fill_weights(mask), torch.tensor([[.5, 0., .5], [0., .5, .5], [0., 0., 1.]]))
    assert torch.equal(fill_weights(mask, 'first'), torch.tensor([[1., 0., 0.], [0., 1., 0.], [0., 0., 1.]]))
    rf = ResidualFusion(2, 2)
    r, s = torch.arange(12.).view(3, 2, 2), torch.ones(3, 2, 2)
    f = rf(r, s, mask[:2])
    torch.testing.assert_close(f[1, 0], (r[0, 0] + r[2, 0])/2)   # sample 0: modality 1 missing, the mean of 0 and 2
    torch.testing.assert_close(f[0, 1], (r[1, 1] + r[2, 1])/2)   # sample 1: modality 0 missing, the mean of 1 and 2
    torch.testing.assert_close(f[0, 0], rf.present(r, s)[0, 0])  # present: r + proj([r; s])
    rf.fill = 'first'
    torch.testing.assert_close(rf(r, s, mask[:2])[1, 0], r[0, 0])
    torch.testing.assert_close(rf(r, s, mask[:2])[0, 1], r[1, 1])


def test_dao_and_dco_by_hand():
    r = torch.tensor([[[0., 0.], [1., 1.]], [[1., 0.], [1., 3.]]])   # |differences| 1, 0, 0, 2
    assert math.isclose(float(dao_loss(r, dao_pairs(2))), 0.75, rel_tol=1e-6)
    assert math.isclose(float(dao_loss(r, dao_pairs(2), 'mse')), 1.25, rel_tol=1e-6)
    assert dao_pairs(3) == [(0, 1), (1, 2), (2, 0)] and dao_pairs(3, 'all') == [(0, 1), (0, 2), (1, 2)]
    assert math.isclose(float(dao_loss(torch.stack([r[0], r[1], r[0]]), dao_pairs(3))), 1.5, rel_tol=1e-6)
    assert math.isclose(float(dco_loss(torch.zeros(8, 4), 4)), math.log(4), rel_tol=1e-6)
    # rows are modality-major: the first B rows are modality 0
    logits = torch.tensor([[2., 0.], [2., 0.], [0., 2.], [0., 2.]])
    assert math.isclose(float(dco_loss(logits, 2)), math.log(1 + math.exp(-2)), rel_tol=1e-5)


def test_bad_arguments():
    ds = _ds(*DATASETS['same'])
    with pytest.raises(ValueError, match='fill must be one of'): shaspec_net(ds, fill='zeros')
    with pytest.raises(ValueError, match='fill must be one of'): fill_weights(torch.ones(1, 2, dtype=torch.bool), 'max')
    with pytest.raises(ValueError, match='kind must be one of'): DistributionAlignment(kind='kl')
    with pytest.raises(ValueError, match='pairs must be one of'): DistributionAlignment(pairs='chain')
    with pytest.raises(ValueError, match='needs 2 or more'): dao_pairs(1)
    with pytest.raises(ValueError, match='must be a finite number'): DomainClassification(float('nan'))
    with pytest.raises(ValueError, match=r'must be \(M\*B, M\)'): dco_loss(torch.zeros(5, 2), 2)
    with pytest.raises(ValueError, match='warmup must be a fraction'): FullModalityWarmup(-0.1)
    with pytest.raises(ValueError, match='warmup must be a fraction'): FullModalityWarmup('half')
    enc = lambda d: type('Enc', (nn.Linear,), {'out_dim': d})(3, d)
    sh = shared_encoder([(3,), (3,)], ['vector', 'vector'])
    with pytest.raises(ValueError, match='one specific feature size'): ShaSpecNet([enc(4), enc(5)], sh, 2)
    with pytest.raises(ValueError, match='adapters for 3 encoders'): ShaSpecNet([enc(4)]*3, sh, 2)
    seg = type('Seg', (), {'task': 'segmentation'})()
    with pytest.raises(ValueError, match='builds a classifier'): shaspec_net(seg)
    net = shaspec_net(ds).eval()
    with pytest.raises(ValueError, match='presence mask has 2 modalities'):
        net(*ds.xs, torch.ones(len(ds), 2, dtype=torch.bool))


@pytest.fixture(scope='module')
def dls():
    d = synth_multimodal(n_train=96, n_test=32, dims=(6, 9, 4), n_valid=32, names=['a', 'b', 'c'])
    return MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=32, device='cpu')


def test_learner_trains_and_logs_both_terms(dls):
    learn = shaspec_learner(dls, dao='mse', pairs='all', fill='first')
    with learn.no_bar(), learn.no_logging(): learn.fit(2, 1e-3)
    parts = next(cb for cb in learn.cbs if type(cb).__name__ == 'LossParts').history
    assert len(parts) == 6 and all({'task', 'dao', 'dco'} <= set(p) for p in parts)
    assert all(math.isfinite(v) for p in parts for v in p.values())
    assert learn.model.fusion.fill == 'first' and isinstance(learn.model, ShaSpecNet)


def test_warmup_keeps_every_modality_then_drops(dls):
    learn = shaspec_learner(dls, warmup=0.5); learn.training = True
    b = dls.one_batch()
    for pct, full in ((0.1, True), (0.9, False)):
        learn.pct_train = pct; learn._split(b); learn('before_batch')
        assert bool(learn.xb[-1].all()) == full and learn.xb[-1].any(1).all()


def test_registered():
    r = get_recipe('shaspec')
    assert r.module == 'robustmm.shaspec' and r.problem == 'missing' and r.training == 'subsets'
    assert r.paper == 'https://arxiv.org/abs/2307.14126' and r.code == 'https://github.com/billhhh/ShaSpec'
