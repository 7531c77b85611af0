"""GPU readiness measured on the CPU (issue 22): host-device syncs per training batch for every registered method.

A GPU stalls whenever the host reads a value back from the device (`.item()`, `float()`, `bool()` of a tensor: the op
`aten._local_scalar_dense`). Counted here with a `TorchDispatchMode` over every training batch of a short fit (all of a
method's phases: warm-ups, noise, mining), the worst batch kept."""
import collections, traceback
import pytest, torch
from torch.utils._python_dispatch import TorchDispatchMode
from fastai.callback.core import Callback
from robustmm.methods import recipes, get_recipe
from robustmm.synthetic import synth_multimodal
from robustmm.data import MultimodalDataLoaders


class CountSyncs(TorchDispatchMode):
    "Count the tensor-to-host reads, and where robustmm's code made them."
    def __init__(self):
        super().__init__(); self.n, self.where = 0, collections.Counter()
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            self.n += 1
            st = [f for f in traceback.extract_stack()[:-1] if '/robustmm/' in f.filename]
            self.where[f'{st[-1].filename.split("/robustmm/")[-1]}:{st[-1].lineno}' if st else 'outside robustmm'] += 1
        return func(*args, **(kwargs or {}))


class SyncProbe(Callback):
    "Count the syncs of every training batch (from the first callback event to the last); keep the worst."
    order = -100
    def __init__(self): self.mode, self.worst = None, None
    def before_batch(self):
        if self.training: self.mode = CountSyncs(); self.mode.__enter__()
    def after_batch(self):
        if self.mode is None: return
        self.mode.__exit__(None, None, None)
        if self.worst is None or self.mode.n > self.worst.n: self.worst = self.mode
        self.mode = None


@pytest.fixture(scope='module')
def dls():
    d = synth_multimodal(n_train=128, n_test=64, n_valid=64, dims=(6, 6), names=['a', 'b'])
    return MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=32, device='cpu')


def worst_batch(dls, name, **kwargs):
    learn = get_recipe(name).build(dls, seed=0, epochs=1, **kwargs)
    probe = SyncProbe(); learn.add_cb(probe)
    with learn.no_bar(), learn.no_logging(): learn.fit(4, 1e-3)   # 4 epochs: every phase of every method is reached
    return probe.worst


@pytest.mark.parametrize('name', [r.name for r in recipes()])
def test_at_most_one_host_sync_per_training_batch(dls, name):
    w = worst_batch(dls, name)
    assert w.n <= 1, f'{name}: {w.n} host syncs in one training batch, at {dict(w.where)}'


@pytest.mark.parametrize('name', ['late', 'udml', 'dmrnet', 'mmanet'])
def test_the_one_sync_is_the_finite_loss_check(dls, name):
    "`FiniteLoss` reads the loss once per batch to stop before a NaN reaches the weights; without it, none."
    assert worst_batch(dls, name, check_finite=False).n == 0
