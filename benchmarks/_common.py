"Shared by the benchmark scripts: the provenance of their figures and where results are written."
import json, statistics, time
from pathlib import Path
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
