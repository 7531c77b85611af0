"""Batched vs naive evaluation over every modality subset.

    python benchmarks/bench_subsets.py [--epochs 5] [--repeats 5] [--device cpu] [--synthetic-M 2,3,4,5,6]

On mfeat (M = 6, 63 subsets, 400 test rows) it times
  - a bare forward pass and one full-modality evaluation pass (the same machinery, one subset),
  - `evaluate_subsets` batched (each encoder once per batch; fuse + head per subset),
  - the naive loop (`batched=False`: the whole model per subset and batch),
and prints both times, their ratio and the batched cost in units of one full pass. With --synthetic-M it
repeats the batched/naive comparison on synthetic data for each M (how the cost grows with M).
Timings are the median of --repeats runs after a warm-up.
"""
import argparse
import torch
from robustmm.data import load_mfeat, MultimodalDataLoaders
from robustmm.synthetic import synth_multimodal
from robustmm.learner import fusion_learner
from robustmm.evaluate import evaluate_subsets
from _common import machine, save, median_time

@torch.no_grad()
def full_pass(model, dl, M):
    model.eval()
    for b in dl: model(*b[:M])

def bench(learn, repeats):
    M, dl = learn.dls.n_inp, learn.dls.valid
    fwd = median_time(lambda: full_pass(learn.model, dl, M), repeats)
    full = median_time(lambda: evaluate_subsets(learn, subsets=[tuple(range(M))]), repeats)
    batched = median_time(lambda: evaluate_subsets(learn), repeats)
    naive = median_time(lambda: evaluate_subsets(learn, batched=False), repeats)
    return fwd, full, batched, naive

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--epochs', type=int, default=5); p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--device', default='cpu'); p.add_argument('--synthetic-M', default='2,3,4,5,6')
    p.add_argument('--out', default=None, help='folder for subsets.json (default: benchmarks/results)')
    a = p.parse_args()
    res = {'machine': machine(a.device), 'command': 'OMP_NUM_THREADS=1 python benchmarks/bench_subsets.py',
           'synthetic': []}
    print('machine:', res['machine'])
    d = load_mfeat()
    dls = MultimodalDataLoaders.from_dsets(d.train, d.test, bs=64, device=a.device)
    learn = fusion_learner(dls, 'late', seed=0)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, 3e-3)
    fwd, full, batched, naive = bench(learn, a.repeats)
    print(f"mfeat, M=6, 63 subsets, {len(d.test)} test rows, late fusion of 6 MLPs")
    print(f"  bare forward pass (no metric)        {fwd*1e3:8.1f} ms")
    print(f"  one full-modality evaluation pass    {full*1e3:8.1f} ms")
    print(f"  batched, 63 subsets                  {batched*1e3:8.1f} ms  = {batched/full:5.2f} evaluation passes")
    print(f"  naive, 63 subsets                    {naive*1e3:8.1f} ms  = {naive/full:5.2f} evaluation passes")
    print(f"  naive / batched                      {naive/batched:8.1f} x")
    res['mfeat'] = dict(M=6, subsets=63, test_rows=len(d.test), forward_ms=fwd*1e3, full_pass_ms=full*1e3,
                        batched_ms=batched*1e3, naive_ms=naive*1e3)
    if a.synthetic_M:
        print("\nsynthetic data (dim 64 per modality, 400 test rows): M, subsets, eval pass, batched, naive (ms), "
              "batched/pass, naive/batched")
        for M in [int(m) for m in a.synthetic_M.split(',')]:
            s = synth_multimodal(512, 400, 4, dims=[64]*M, seed=0)
            l = fusion_learner(MultimodalDataLoaders.from_dsets(s.train, s.test, bs=64, device=a.device), 'late',
                               seed=0)
            with l.no_bar(), l.no_logging(): l.fit(1, 1e-3)
            _, f, b, n = bench(l, a.repeats)
            print(f"  M={M} {2**M-1:3d}  {f*1e3:7.1f} {b*1e3:8.1f} {n*1e3:8.1f}   {b/f:5.2f}  {n/b:5.1f}")
            res['synthetic'].append(dict(M=M, subsets=2**M-1, full_pass_ms=f*1e3, batched_ms=b*1e3, naive_ms=n*1e3))
    save('subsets', res, a.out)

if __name__ == '__main__': main()
