"""Data loading: items/s of a file-backed audio + image dataset with 0 and 2 worker processes, and training throughput
on in-memory mfeat (to check that the dataset protocol did not slow the in-memory path).

    OMP_NUM_THREADS=1 python benchmarks/bench_loading.py files [--n 1000] [--epochs 3]
    OMP_NUM_THREADS=1 python benchmarks/bench_loading.py mfeat --label after [--rounds 3]

`files` writes N clips (a 1.5 s wav at 16 kHz, a 128 x 128 png) to a temporary folder and reads them as the
CREMA-D reader does (resample to 22.05 kHz, tile to 3 s, 257 x 188 log-spectrogram; frames resized to 224 with the
training crop and flip), timing every pass over the training DataLoader (the first pass of the worker run includes
starting the workers; they persist afterwards). `mfeat` times `fusion_learner(dls, 'late')` training (samples/s,
median over epochs after a warm-up, per round); run it with the previous commit's package on PYTHONPATH as
`--label before` and with this one as `--label after`, alternating a few times: rounds accumulate and the median is
kept. Both append to results/loading.json.
"""
import argparse, json, statistics, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd
from _common import machine, RESULTS

def _write_files(root:Path, n:int):
    import soundfile as sf
    from PIL import Image
    rng = np.random.default_rng(0)
    sr, rows = 16000, []
    for i in range(n):
        sf.write(root/f'{i:05d}.wav', (0.2*rng.standard_normal(int(1.5*sr))).astype(np.float32), sr)
        Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(root/f'{i:05d}.png')
        rows.append({'audio': f'{i:05d}.wav', 'visual': f'{i:05d}.png', 'y': i % 6, 'split': 'train'})
    rows[-1]['split'] = 'test'
    pd.DataFrame(rows).to_csv(root/'manifest.csv', index=False)

def bench_files(n:int, epochs:int, bs:int=32)->dict:
    from robustmm.data import MultimodalDataLoaders
    from robustmm.datasets import load_manifest
    from robustmm.media import image_augment
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp); _write_files(tmp, n)
        d = load_manifest(tmp/'manifest.csv', valid_pct=0.01)
        train = d.train.with_tfms({'visual': image_augment(224)})
        for workers in (0, 2):
            dls = MultimodalDataLoaders.from_dsets(train, d.valid, bs=bs, num_workers=workers, device='cpu', seed=0)
            rates = []
            for ep in range(epochs):
                t0 = time.perf_counter()
                k = sum(len(b[-1]) for b in dls.train)
                rates.append(k/(time.perf_counter() - t0))
            out[f'{workers}_workers'] = dict(items_per_s=rates, first=rates[0],
                                             steady=statistics.median(rates[1:]) if epochs > 1 else rates[0])
            print(f'{workers} workers: ' + ', '.join(f'{r:.0f}' for r in rates) + ' items/s per pass')
    out.update(n=n, bs=bs, shapes={k: list(v) for k, v in train.shapes.items()})
    return out

def bench_mfeat(rounds:int, epochs:int=5, bs:int=64)->dict:
    from robustmm.data import load_mfeat, MultimodalDataLoaders
    from robustmm.learner import fusion_learner
    from fastai.callback.core import Callback
    d = load_mfeat()
    best = []
    for r in range(rounds):
        dls = MultimodalDataLoaders.from_dsets(d.train, d.test, bs=bs, device='cpu', seed=0)
        learn = fusion_learner(dls, 'late')
        times = []
        class T(Callback):
            order = 99
            def before_train(self): self.t0 = time.perf_counter()
            def after_train(self): times.append(time.perf_counter() - self.t0)
        with learn.no_bar(), learn.no_logging(): learn.fit(epochs + 1, 1e-3, cbs=T())
        best.append(len(dls.train)*bs/statistics.median(times[1:]))
        print(f'round {r}: {best[-1]:.0f} samples/s')
    return dict(samples_per_s=statistics.median(best), rounds=best, bs=bs, epochs=epochs)

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('what', choices=['files', 'mfeat'])
    p.add_argument('--n', type=int, default=1000)
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--label', default='after', help="'before' or 'after' the change (mfeat)")
    a = p.parse_args()
    f = RESULTS/'loading.json'
    res = json.loads(f.read_text()) if f.exists() else {}
    res['machine'] = machine()
    if a.what == 'files': res['files'] = bench_files(a.n, a.epochs)
    else:   # rounds accumulate over invocations, so before/after runs can be interleaved on a busy machine
        prev = res.setdefault('mfeat', {}).get(a.label, {}).get('rounds', [])
        r = bench_mfeat(a.rounds); r['rounds'] = prev + r['rounds']
        r['samples_per_s'] = statistics.median(r['rounds']); res['mfeat'][a.label] = r
    RESULTS.mkdir(exist_ok=True); f.write_text(json.dumps(res, indent=1)); print(f'wrote {f}')
