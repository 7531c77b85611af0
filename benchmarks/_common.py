"Shared by the benchmark scripts: a description of the machine and where results are written."
import json, os, platform, datetime, statistics, time
from pathlib import Path
import torch

RESULTS = Path(__file__).parent/'results'

def machine(device:str='cpu')->dict:
    "What the figures were measured on."
    m = dict(date=datetime.date.today().isoformat(), cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
             torch=torch.__version__, threads=torch.get_num_threads(), device=device, python=platform.python_version())
    if device.startswith('cuda') and torch.cuda.is_available(): m['gpu'] = torch.cuda.get_device_name()
    return m

def save(name:str, data:dict, out=None)->Path:
    "Write `data` as `results/{name}.json` (or into `out`)."
    p = Path(out or RESULTS); p.mkdir(parents=True, exist_ok=True)
    f = p/f'{name}.json'; f.write_text(json.dumps(data, indent=1)); print(f'wrote {f}')
    return f

def median_time(f, repeats:int)->float:
    "Median wall time of `f()` over `repeats` runs, after one warm-up run."
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)
