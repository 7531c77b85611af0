"""Training throughput: fastai vs a bare PyTorch loop, and each method's cost over static late fusion.

    OMP_NUM_THREADS=1 python benchmarks/bench_training.py [--epochs 5] [--bs 64] [--device cpu] [--methods late,udml] \
        [--profile udml]

For every method's model on mfeat (TMC split, 1600 training rows):
  * bare:   a plain PyTorch loop (same model, same tensors, same batch size and shuffling, Adam, cross-entropy);
  * fastai: `learn.fit` of the same model with only the task loss (robustmm's `CrossEntropy`, no method
            callbacks) and robustmm's default optimizer `FastAdam`, progress bar and logging off: the
            framework's own overhead is bare / fastai;
  * fastai + fastai's Adam: the same with fastai's per-tensor `Adam` (same results, bit for bit);
  * method: the method's full learner (its callbacks and loss terms), as users train it.
Samples per second are the median over epochs after one warm-up epoch, best of --rounds interleaved rounds.
`--profile NAME` prints the top functions (cProfile) of one method's full training epoch.
"""
import argparse, time, statistics, cProfile, pstats, io
import torch, torch.nn.functional as F
from fastai.learner import Learner
from fastai.optimizer import Adam
from robustmm.data import load_mfeat, MultimodalDataLoaders
from robustmm.learner import fusion_learner, CrossEntropy
from robustmm.callbacks import AuxOutputs
from robustmm.optim import FastAdam
from robustmm.udml import udml_learner, dynamic_fusion_learner
from robustmm.dmrnet import dmrnet_learner
from robustmm.mmanet import mmanet_learner, teacher_learner
from robustmm.onestage import privileged_teacher, onestage_learner
from _common import machine, save

def _bare(model, ds, bs, epochs, device, lr=1e-3):
    "Samples/s of a plain loop: shuffle, slice tensors, forward, CE, backward, Adam step"
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr)
    xs, y = [x.to(device) for x in ds.xs], ds.y.to(device)
    n, times = len(y) - len(y) % bs, []
    for ep in range(epochs + 1):
        t0 = time.perf_counter()
        idx = torch.randperm(len(y), device=device)
        for i in range(0, n, bs):
            j = idx[i:i+bs]
            out = model(*[x[j] for x in xs])
            out = out[0] if isinstance(out, tuple) else out
            loss = F.cross_entropy(out, y[j])
            opt.zero_grad(); loss.backward(); opt.step()
        if device != 'cpu': torch.cuda.synchronize()
        if ep: times.append(time.perf_counter() - t0)
    return n/statistics.median(times)

def _fastai(learn, epochs):
    from fastai.callback.core import Callback
    class T(Callback):
        order = 99
        def before_train(self): self.t0 = time.perf_counter()
        def after_train(self): self.learn._epoch_times.append(time.perf_counter() - self.t0)
    learn._epoch_times = []
    with learn.no_bar(), learn.no_logging(): learn.fit(epochs + 1, 1e-3, cbs=T())
    n = len(learn.dls.train)*learn.dls.train.bs
    return n/statistics.median(learn._epoch_times[1:])

class _Phases:
    "Per-batch wall time of each phase of a fastai training batch (CPU: no device sync needed)"
    names = ('prepare', 'forward', 'loss', 'backward', 'step')
    def __init__(self): self.sums = dict.fromkeys(self.names, 0.); self.batches = 0

def _phase_timer(ph):
    from fastai.callback.core import Callback
    class P(Callback):
        order = 1000   # last at every event: a phase ends when all callbacks of its event have run
        def before_train(self): self.t = time.perf_counter()
        def _mark(self, k):
            t = time.perf_counter(); ph.sums[k] += t - self.t; self.t = t
        def before_batch(self): self._mark('prepare')     # data loading, zero_grad, the before_batch callbacks
        def after_pred(self): self._mark('forward')
        def after_loss(self): self._mark('loss')          # task loss and every loss term
        def after_backward(self): self._mark('backward')
        def after_step(self): self._mark('step'); ph.batches += self.training
    return P()

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--epochs', type=int, default=5); p.add_argument('--bs', type=int, default=64)
    p.add_argument('--device', default='cpu')
    p.add_argument('--profile', default=None)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--out', default=None, help='folder for training.json (default: benchmarks/results)')
    p.add_argument('--methods', default=None, help='comma-separated subset of the methods (default: all)')
    a = p.parse_args()
    res = {'machine': machine(a.device), 'batch_size': a.bs,
           'command': 'OMP_NUM_THREADS=1 python benchmarks/bench_training.py', 'methods': []}
    print('machine:', res['machine'])
    d = load_mfeat()
    dls = MultimodalDataLoaders.from_dsets(d.train, d.test, bs=a.bs, device=a.device, seed=0)
    t = teacher_learner(dls)
    with t.no_bar(), t.no_logging(): t.fit(2, 1e-3)
    pt = privileged_teacher(dls, list(range(1, 6)), epochs=2)
    makers = {'late fusion': lambda: fusion_learner(dls, 'late'),
              'empirical dynamic': lambda: dynamic_fusion_learner(dls),
              'udml': lambda: udml_learner(dls),
              'dmrnet': lambda: dmrnet_learner(dls),
              'mmanet': lambda: mmanet_learner(dls, t.model),
              'onestage': lambda: onestage_learner(dls, pt, 0)}
    if a.methods: makers = {k: makers[k] for k in a.methods.split(',')}
    if a.profile:
        learn = makers[a.profile]()
        pr = cProfile.Profile()
        with learn.no_bar(), learn.no_logging():
            learn.fit(1, 1e-3); pr.enable(); learn.fit(2, 1e-3); pr.disable()
        s = io.StringIO()
        pstats.Stats(pr, stream=s).sort_stats('cumulative').print_stats(25)
        print(s.getvalue())
        return
    base = None
    for name, make in makers.items():
        bare = fa = fa_fast = full = 0.
        for _ in range(a.rounds):   # interleaved rounds, best of each: robust to a noisy VM
            bare = max(bare, _bare(make().model, d.train, a.bs, a.epochs, a.device))
            fa = max(fa, _fastai(Learner(dls, make().model, loss_func=CrossEntropy(), opt_func=Adam, cbs=AuxOutputs()),
                                 a.epochs))
            fa_fast = max(fa_fast, _fastai(Learner(dls, make().model, loss_func=CrossEntropy(), opt_func=FastAdam,
                                                   cbs=AuxOutputs()), a.epochs))
            full = max(full, _fastai(make(), a.epochs))
        ph, learn = _Phases(), make()
        with learn.no_bar(), learn.no_logging(): learn.fit(a.epochs, 1e-3, cbs=_phase_timer(ph))
        phases = {k: v/ph.batches*1e3 for k, v in ph.sums.items()}
        base = base or full
        res['methods'].append(dict(method=name, bare=bare, fastai=fa_fast, fastai_adam=fa, method_learner=full,
                                   overhead=bare/fa_fast, overhead_fastai_adam=bare/fa, cost_vs_late=base/full,
                                   phases_ms=phases))
        print(f"{name:18s} bare {bare:7.0f}/s | fastai+FastAdam {fa_fast:7.0f}/s x{bare/fa_fast:4.2f} | fastai+Adam "
              f"{fa:7.0f}/s x{bare/fa:4.2f} | "
              f"method {full:7.0f}/s, cost vs late fusion x{base/full:4.2f} | ms/batch "
              + ' '.join(f'{k} {v:.2f}' for k, v in phases.items()), flush=True)
    save('training' if a.bs == 64 and not a.methods else f'training_bs{a.bs}', res, a.out)

if __name__ == '__main__': main()
