"""Cost of evaluating every modality subset, per method, as the number of modalities grows (M = 2..12).

    OMP_NUM_THREADS=1 python benchmarks/bench_subsets_methods.py [--M 2,3,4,6,8,10,12] \
        [--methods late,concat,common_subspace,dmrnet,udml]

For each method's model on synthetic vector data (M modalities of 16 features, 256 test rows, one training
epoch: the weights do not matter for timing) it times one full-modality evaluation pass, `evaluate_subsets`
batched (each encoder once per batch, fuse + head per subset in byte-bounded chunks) and the naive loop
(the whole model per subset), and reports both in units of the full pass. Median of --repeats runs after a
warm-up (one run for M >= 9). Writes results/subsets_methods.json.
"""
import argparse
from robustmm.data import MultimodalDataLoaders
from robustmm.synthetic import synth_multimodal
from robustmm.learner import fusion_learner
from robustmm.evaluate import evaluate_subsets
from robustmm.dmrnet import dmrnet_learner, common_subspace_learner
from robustmm.udml import udml_learner
from _common import machine, save, median_time

MAKERS = {'late': lambda dls: fusion_learner(dls, 'late', seed=0, feat_dim=32),
          'concat': lambda dls: fusion_learner(dls, 'concat', seed=0, feat_dim=32),
          'common_subspace': lambda dls: common_subspace_learner(dls, seed=0, feat_dim=32),
          'dmrnet': lambda dls: dmrnet_learner(dls, seed=0, feat_dim=32),
          'udml': lambda dls: udml_learner(dls, seed=0, feat_dim=32)}

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--M', default='2,3,4,6,8,10,12'); p.add_argument('--methods', default=','.join(MAKERS))
    p.add_argument('--repeats', type=int, default=3); p.add_argument('--out', default=None)
    p.add_argument('--naive-max-M', type=int, default=12, help='time the naive loop only up to this M (it is slow)')
    a = p.parse_args()
    res = {'machine': machine(), 'command': 'OMP_NUM_THREADS=1 python benchmarks/bench_subsets_methods.py', 'rows': []}
    for M in [int(m) for m in a.M.split(',')]:
        s = synth_multimodal(256, 256, 4, dims=[16]*M, seed=0)
        dls = MultimodalDataLoaders.from_dsets(s.train, s.test, bs=64, seed=0)
        r = a.repeats if M < 9 else 1
        for name in a.methods.split(','):
            l = MAKERS[name](dls)
            with l.no_bar(), l.no_logging(): l.fit(1, 1e-3)
            full = median_time(lambda: evaluate_subsets(l, subsets=[tuple(range(M))]), r)
            batched = median_time(lambda: evaluate_subsets(l), r)
            naive = median_time(lambda: evaluate_subsets(l, batched=False), r) if M <= a.naive_max_M else float('nan')
            row = dict(method=name, M=M, subsets=2**M - 1, full_pass_ms=full*1e3, batched_ms=batched*1e3,
                       naive_ms=naive*1e3, naive_max_M=a.naive_max_M)
            res['rows'].append(row)
            print(f"M={M:2d} {name:16s} pass {full*1e3:7.1f} ms  batched {batched/full:7.1f} passes  naive "
                  f"{naive/full:7.1f} passes", flush=True)
            save('subsets_methods', res, a.out)

if __name__ == '__main__': main()
