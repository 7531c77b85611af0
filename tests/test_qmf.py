"""QMF: the energy weights, the ranking loss in both margin forms, the loss history indexed by the sample rows, missing
modalities, bad arguments, several processes."""
import json, math, os, subprocess, sys, textwrap
from pathlib import Path
import pytest, torch, torch.nn as nn
from fastai.callback.core import Callback
from fastai.learner import load_learner
from robustmm.data import MultimodalDataLoaders, WrappedDataset
from robustmm.methods import get_recipe
from robustmm.models import MLPEncoder
from robustmm.synthetic import synth_multimodal
from robustmm.test_utils import synth_dls, synth_seg_dls
from robustmm.qmf import (energy_weight, ranking_loss, rank_pairs, unimodal_ce, History, QualityFusion, QMFNet,
                          qmf_learner, with_sample_index, indexed_dls, RankingLoss)

ROOT = Path(__file__).resolve().parents[1]


def _fit(learn, n=2, lr=3e-3):
    with learn.no_bar(), learn.no_logging(): learn.fit(n, lr)
    return learn


def test_weights_are_logsumexp_over_ten():
    z = torch.tensor([[0., 0., 0.], [math.log(2), 0., 0.], [10., -3., 1.]])
    want = torch.tensor([math.log(3), math.log(4), math.log(math.exp(10) + math.exp(-3) + math.exp(1))])/10
    torch.testing.assert_close(energy_weight(z), want)
    torch.testing.assert_close(energy_weight(z, 2.), 2*torch.log(torch.exp(z/2).sum(1))/10)
    assert torch.isfinite(energy_weight(torch.tensor([[1e4, 0.]])))     # overflow-safe, unlike log(sum(exp))
    qf = QualityFusion([nn.Identity(), nn.Identity()])
    uni = torch.stack([z, z.flip(0)])                                                # (M=2, B=3, K=3)
    torch.testing.assert_close(qf.weights(uni), torch.stack([want, want.flip(0)], 1))


def test_ranking_loss_hand_computed_both_margins():
    # three samples, one modality: pairs (0,1), (1,2), (2,0)
    w, h = torch.tensor([[.3], [0.], [.1]]), torch.tensor([[1.], [.5], [.5]])
    g, d = rank_pairs(h)
    torch.testing.assert_close(g[:, 0], torch.tensor([1., 0., -1.]))
    torch.testing.assert_close(d[:, 0], torch.tensor([.5, 0., .5]))
    # code: max(0, .3-.5)=0, 0, max(0, .2-.5)=0; CRL: .3+.5=.8, 0, .2+.5=.7
    torch.testing.assert_close(ranking_loss(w, h), torch.tensor([0.]))
    torch.testing.assert_close(ranking_loss(w, h, 'crl'), torch.tensor([1.5/3]))
    # the notes' case: g = +1, w_i - w_j = .3, Delta = .1 -> .2 (code), .4 (CRL); two modalities at once
    w2, h2 = torch.tensor([[.3, 0.], [0., .3]]), torch.tensor([[.6, .6], [.5, .5]])
    torch.testing.assert_close(ranking_loss(w2, h2), torch.tensor([.2, 0.]))
    torch.testing.assert_close(ranking_loss(w2, h2, 'crl'), torch.tensor([.4, 0.]))


def test_ranking_loss_gradient_reaches_both_weights_of_a_pair():
    w = torch.tensor([[.3], [0.]], requires_grad=True)
    ranking_loss(w, torch.tensor([[.6], [.5]])).sum().backward()
    torch.testing.assert_close(w.grad, torch.tensor([[1.], [-1.]]))   # both pairs active: +-1 each, mean over 2


class Record(Callback):
    "After the ranking term: the rows and per-sample CE it added, and whether the inputs are the dataset's rows."
    order = 6
    def __init__(self, ds): self.ds, self.rows, self.ce, self.aligned = ds, [], [], True
    def after_loss(self):
        if not self.training: return
        idx = self.learn.sample_idx
        self.rows.append(idx.clone())
        self.ce.append(unimodal_ce(self.learn.aux['uni_logits'].detach(), self.yb[0]))
        same_x = all(torch.equal(x, t[idx]) for x, t in zip(self.learn.xb, self.ds.xs))
        self.aligned &= same_x and torch.equal(self.yb[0], self.ds.y[idx])


def test_history_is_indexed_by_the_rows_of_shuffled_batches():
    d = synth_multimodal(n_train=100, n_test=32, dims=(6, 5), n_valid=32, names=['a', 'b'])
    dls = MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=16, device='cpu', seed=0)
    learn = qmf_learner(dls, feat_dim=8)
    rec = Record(d.train); learn.add_cb(rec)
    _fit(learn, 3)
    rows = torch.cat(rec.rows)
    assert rec.aligned                                  # the split-off rows are the batch's own samples
    assert len(rows) == 3*96 and not torch.equal(rows[:96], torch.arange(96))   # 6 full batches an epoch, shuffled
    want = torch.zeros(2, 100).index_add_(1, rows, torch.cat(rec.ce).T)
    torch.testing.assert_close(learn.model.loss_history.losses, want)
    seen = torch.bincount(rows, minlength=100)
    assert ((learn.model.loss_history.losses > 0) == (seen > 0)).all()   # rows dropped with the last batch keep 0
    assert not hasattr(dls.train_ds, 'carries_index')                    # the user's DataLoaders are unchanged


def test_missing_modality_term_dropped():
    fusion = QualityFusion([nn.Linear(6, 3), nn.Linear(6, 3)])
    net = QMFNet([MLPEncoder(4, 6), MLPEncoder(3, 6)], fusion, n_train=10).eval()
    xs, m = [torch.randn(5, 4), torch.randn(5, 3)], torch.tensor([[True, False]]*5)
    with torch.no_grad():
        z0 = net.fusion.heads[0](net.encoders[0](xs[0]))
        torch.testing.assert_close(net(*xs, m), energy_weight(z0)[:, None]*z0)      # w_1 z_1 alone
        torch.testing.assert_close(net(*xs, m), net(xs[0], torch.randn(5, 3), m))
    uni = torch.randn(2, 5, 3)
    ce = unimodal_ce(uni, torch.zeros(5, dtype=torch.long), m)
    assert (ce[:, 1] == 0).all() and (ce[:, 0] > 0).all()
    w, h = torch.rand(5, 2), torch.rand(5, 2)
    assert ranking_loss(w, h, mask=m)[1] == 0 and ranking_loss(w, h, 'crl', mask=m)[0] > 0


@pytest.mark.parametrize('kwargs, err, msg', [
    (dict(lam=-1.), ValueError, 'lam must be a finite number'),
    (dict(lam=float('nan')), ValueError, 'lam must be a finite number'),
    (dict(margin='hinge'), ValueError, 'margin must be one of'),
    (dict(temperature=0.), ValueError, 'temperature must be a positive number')])
def test_bad_arguments(kwargs, err, msg):
    with pytest.raises(err, match=msg): qmf_learner(synth_dls(), **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match='QMF classifies'): qmf_learner(synth_seg_dls())
    with pytest.raises(TypeError, match='dls must be MultimodalDataLoaders'): qmf_learner(synth_dls().train_ds)
    with pytest.raises(TypeError, match='ds must be a MultimodalBase'): with_sample_index([torch.zeros(3)])
    with pytest.raises(ValueError, match='n_samples must be an integer'): History(2, -1)
    with pytest.raises(ValueError, match='does not match'): History(2, 5).update(torch.tensor([0, 1]), torch.ones(3, 2))
    with pytest.raises(ValueError, match='margin must be one of'): ranking_loss(torch.ones(2, 1), torch.ones(2, 1), 'x')
    with pytest.raises(ValueError, match='margin must be one of'): RankingLoss(1., 'x')


def test_data_read_item_by_item_carries_its_rows():
    "Data decoded item by item in a worker process: the wrapper appends each item's row."
    d = synth_multimodal(n_train=64, n_test=32, dims=(4, 4), n_valid=32, names=['a', 'b'])
    wrap = lambda s: WrappedDataset(torch.utils.data.TensorDataset(*s.xs, s.y), s.names, s.n_classes)
    dls = MultimodalDataLoaders.from_dsets(wrap(d.train), wrap(d.valid), bs=16, device='cpu', seed=0, num_workers=1)
    ids = with_sample_index(dls.train_ds)
    assert ids[7][-1] == 7 and ids.subset([2, 9])[1][-1] == 9
    learn = _fit(qmf_learner(dls, feat_dim=8), 1)
    assert (learn.model.loss_history.losses > 0).all()
    assert indexed_dls(learn.dls) is learn.dls


def test_history_is_saved_with_the_model(tmp_path):
    learn = _fit(qmf_learner(synth_dls(), feat_dim=8), 2)
    h = learn.model.loss_history.losses.clone()
    assert (h > 0).any()
    learn.export(tmp_path/'qmf.pkl')
    torch.testing.assert_close(load_learner(tmp_path/'qmf.pkl').model.loss_history.losses, h)
    learn.path = tmp_path; learn.save('q')
    fresh = qmf_learner(learn.dls, feat_dim=8, seed=3); fresh.path = tmp_path; fresh.load('q')
    torch.testing.assert_close(fresh.model.loss_history.losses, h)


def test_same_seed_same_numbers_and_late_fusion_init():
    a, b = (_fit(qmf_learner(synth_dls(), feat_dim=8, seed=2)) for _ in range(2))
    assert a.recorder.values == b.recorder.values
    assert torch.equal(a.model.loss_history.losses, b.model.loss_history.losses)


def test_options_change_training():
    base = _fit(qmf_learner(synth_dls(), feat_dim=8)).recorder.values
    for kw in (dict(detach=False), dict(margin='crl'), dict(lam=0.)):
        assert _fit(qmf_learner(synth_dls(), feat_dim=8, **kw)).recorder.values != base, kw


def test_registered():
    r = get_recipe('qmf')
    assert (r.title, r.problem, r.training, r.module) == ('QMF', 'noisy', 'complete', 'robustmm.qmf')
    assert r.baselines == ('late', 'late+noise') and not r.default
    assert (r.paper, r.code) == ('https://arxiv.org/abs/2306.02050', 'https://github.com/QingyangZhang/QMF')


DDP_SCRIPT = '''
import json, sys, torch, torch.distributed as dist
from fastai.callback.core import Callback
from robustmm.synthetic import synth_multimodal
from robustmm.data import MultimodalDataLoaders
from robustmm.distributed import world_size, rank
from robustmm.qmf import qmf_learner, unimodal_ce

class Record(Callback):
    order = 6
    def __init__(self): self.rows, self.ce = [], []
    def after_loss(self):
        if not self.training: return
        self.rows.append(self.learn.sample_idx.clone())
        self.ce.append(unimodal_ce(self.learn.aux['uni_logits'].detach(), self.yb[0]))

d = synth_multimodal(n_train=100, n_test=32, dims=(6, 5), n_valid=32, names=['a', 'b'])
dls = MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=16, device='cpu', seed=0)
learn = qmf_learner(dls, feat_dim=8); rec = Record(); learn.add_cb(rec)
with learn.no_bar(), learn.no_logging(): learn.fit(2, 3e-3)
mine = torch.zeros(2, 100).index_add_(1, torch.cat(rec.rows), torch.cat(rec.ce).T)   # what this process added
hist = learn.model.loss_history.losses
out = dict(world=world_size(), rank=rank(), rows=torch.cat(rec.rows).tolist(), mine=mine.tolist(), hist=hist.tolist())
parts = [None]*world_size(); dist.all_gather_object(parts, out)
if rank() == 0: json.dump(parts, open(sys.argv[1], 'w'))
'''


def test_history_under_two_processes(tmp_path):
    "Two CPU processes (gloo): each sees its half of every batch; both histories hold the sum of both halves' losses."
    (tmp_path/'ddp_qmf.py').write_text(textwrap.dedent(DDP_SCRIPT))
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
           str(tmp_path/'ddp_qmf.py'), str(tmp_path/'out.json')]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    p0, p1 = json.loads((tmp_path/'out.json').read_text())
    assert p0['world'] == p1['world'] == 2
    assert p0['hist'] == p1['hist']                                           # the same history in both processes
    first = p0['rows'][:8] + p1['rows'][:8]                              # the first batch of 16, split in two
    assert len(set(first)) == 16
    torch.testing.assert_close(torch.tensor(p0['hist']), torch.tensor(p0['mine']) + torch.tensor(p1['mine']))
