"""Peak memory and time of evaluating every subset of a segmentation model: naive loop, unbounded batched,
byte-bounded batched.

    OMP_NUM_THREADS=1 python benchmarks/bench_subsets_memory.py

A 4-modality RGB-D-like segmentation `CombinationNet` (64x64 inputs, 40 classes, 64 samples, batch 32, untrained:
the weights do not matter). Each variant runs in its own process so that the peak resident memory (ru_maxrss)
above the process's baseline is its own. Writes results/subsets_memory.json.
"""
import json, resource, subprocess, sys, time
import torch
from _common import machine, save

VARIANTS = {'naive loop': dict(batched=False), 'batched, unbounded (before)': dict(max_bytes=2**40, max_rows=10**9),
            'batched, bounded (default 32 MiB)': {}}

def _one(name):
    from torch.utils.data import DataLoader, TensorDataset
    from robustmm.combination import CombinationNet
    from robustmm.models import encoder_for
    from robustmm.evaluate import subset_confusions
    torch.manual_seed(0)
    M, K, H = 4, 40, 64
    net = CombinationNet([encoder_for((3 if i == 0 else 1, H, H), 64, seg=True) for i in range(M)], K,
                         task='segmentation').eval()
    xs = [torch.randn(64, 3 if i == 0 else 1, H, H) for i in range(M)]; y = torch.randint(0, K, (64, H, H))
    dl = DataLoader(TensorDataset(*xs, y), batch_size=32)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter(); subset_confusions(net, dl, **VARIANTS[name]); t = time.perf_counter() - t0
    print(json.dumps({'variant': name, 'seconds': t,
                      'peak_mb': (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)/1024}))

def main():
    rows = []
    for name in VARIANTS:
        out = subprocess.run([sys.executable, __file__, name], capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1])); print(rows[-1])
    save('subsets_memory',
         {'machine': machine(), 'command': 'OMP_NUM_THREADS=1 python benchmarks/bench_subsets_memory.py',
                            'setup': '4 modalities, 64x64, 40 classes, 64 samples, batch 32, 15 subsets', 'rows': rows})

if __name__ == '__main__':
    if len(sys.argv) > 1: _one(sys.argv[1])
    else: main()
