"Shared by the benchmark scripts: the provenance of their figures and where results are written."
import json, statistics, time
from pathlib import Path
import numpy as np, torch
from scipy.stats import spearmanr
from robustmm.noise import modality_generator
from robustmm.results import provenance, atomic_write

RESULTS = Path(__file__).parent/'results'

def machine(device:str='cpu', **protocol)->dict:
    "What the figures were measured with: commit, package versions, machine, device, date (and `protocol`)."
    return provenance(device, **protocol)

def save(name:str, data:dict, out=None)->Path:
    "Write `data` as `results/{name}.json` (or into `out`), atomically."
    f = atomic_write(Path(out or RESULTS)/f'{name}.json', json.dumps(data, indent=1)); print(f'wrote {f}')
    return f

def median_time(f, repeats:int)->float:
    "Median wall time of `f()` over `repeats` runs, after one warm-up run."
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)

@torch.no_grad()
def uncertainty_tracking(model, test_dl, noise, seed:int, kind:str, levels, low_max:float, high_min:float)->list:
    """Per modality and level (that modality alone corrupted by the seeded `noise`, every test sample): the mean
    uncertainty the model gives it and its mean fusion weight; then, per modality, the Spearman correlation of level
    and uncertainty over the low levels (<= `low_max`) and over the high ones (>= `high_min`). `kind` is 'udml'
    (sigma hat and UDML's weights) or 'dynamic' (negative energy of the modality's own logits, confidence weight)."""
    from robustmm.udml import confidence_score
    model.eval()
    dev, M, rows = next(model.parameters()).device, model.n_modalities, []
    for m in range(M):
        per_sample = []
        for L in levels:
            unc, w = [], []
            for bi, b in enumerate(test_dl):
                xs = [x.to(dev) for x in b[:M]]
                if L > 0: xs[m] = noise[m](xs[m], L, modality_generator(seed, bi, m))
                if kind == 'udml':
                    feats = model.encode(*xs)
                    unc.append(model.sigma_hat(feats)[:, m]); w.append(model.weights(feats)[:, m])
                else:
                    uni = model.fusion.unimodal(model.encode(*xs))
                    unc.append(-confidence_score(uni[m])); w.append(model.fusion.weights(uni)[:, m])
            unc, w = torch.cat(unc).cpu(), torch.cat(w).cpu()
            rows.append({'modality': m, 'level': L, 'uncertainty': float(unc.mean()), 'weight': float(w.mean())})
            per_sample.append((np.full(len(unc), L), unc.numpy()))
        lv, u = [np.concatenate(a) for a in zip(*per_sample)]
        for name, keep in (('low', lv <= low_max), ('high', lv >= high_min)):
            rows.append({'modality': m, 'range': name, 'spearman': float(spearmanr(lv[keep], u[keep]).statistic)})
    return rows
