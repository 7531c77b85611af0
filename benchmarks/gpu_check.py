"""What robustmm does on one GPU, in at most 8 minutes: run it first on any machine lent with a GPU, commit the result.

    python benchmarks/gpu_check.py                      # on a GPU machine: writes results/gpu.json
    python benchmarks/gpu_check.py --device cpu --tiny  # the same steps on the CPU, tiny (a check of the script)

Steps, each timed, each written to the result file as soon as it ends (a step that fails is recorded, the others run):
  1. the notebooks' `#| cuda` cells (`nbdev-test --flags cuda` on the notebooks that have one);
  2. host-device syncs per training batch of every registered method, counted on the GPU;
  3. fastai against a bare PyTorch loop, float32 and mixed precision (bf16/fp16 autocast), on mfeat;
  4. every registered method's training throughput (samples/s) and peak GPU memory on AV-digits;
  5. the paper presets for a few epochs on AV-digits with ResNet-18 encoders (UDML, DMRNet, MMANet).
"""
import argparse, json, subprocess, sys, time, traceback
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, RESULTS
from robustmm.results import atomic_write

ROOT = Path(__file__).resolve().parents[1]


def cuda_notebooks():
    "The notebooks with a `#| cuda` cell."
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT/'nbs').rglob('*.ipynb') if '#| cuda' in p.read_text())


def step_cuda_cells(a):
    out = {}
    for nb in cuda_notebooks():
        t0 = time.time()
        r = subprocess.run([str(Path(sys.executable).parent/'nbdev-test'), nb, '--flags', 'cuda'], cwd=ROOT,
                           capture_output=True, text=True, timeout=240)
        out[nb] = dict(ok=r.returncode == 0, seconds=round(time.time() - t0, 1), tail=(r.stdout + r.stderr)[-1500:])
    return out


def _data(a):
    from robustmm.avdigits import load_avdigits
    from robustmm.data import MultimodalDataLoaders
    d = load_avdigits()
    if a.tiny: d = type(d)(*(s.subset(list(range(128))) for s in d))
    return d, MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=64, device=a.device, seed=0)


def step_syncs(a):
    sys.path.insert(0, str(ROOT/'tests'))
    from test_gpu_readiness import SyncProbe
    from robustmm.methods import recipes
    _, dls = _data(a)
    out = {}
    for r in recipes():
        learn = r.build(dls, seed=0, epochs=1)
        probe = SyncProbe(); learn.add_cb(probe)
        with learn.no_bar(), learn.no_logging(): learn.fit(2, 1e-3)
        out[r.name] = dict(worst_batch=probe.worst.n, where=dict(probe.worst.where))
    return out


def step_fastai_vs_bare(a):
    import bench_training as bt
    from fastai.learner import Learner
    from robustmm.data import load_mfeat, MultimodalDataLoaders
    from robustmm.learner import fusion_learner, CrossEntropy
    from robustmm.callbacks import AuxOutputs
    from robustmm.optim import FastAdam
    d = load_mfeat()
    dls = MultimodalDataLoaders.from_dsets(d.train, d.test, bs=256, device=a.device, seed=0)
    epochs, out = (1 if a.tiny else 5), {}
    bare = bt._bare(fusion_learner(dls, 'late').model, d.train, 256, epochs, a.device)
    out['bare_float32'] = bare
    out['fastai_float32'] = bt._fastai(Learner(dls, fusion_learner(dls, 'late').model, loss_func=CrossEntropy(),
                                               opt_func=FastAdam, cbs=AuxOutputs()), epochs)
    if a.device.startswith('cuda'):
        amp = fusion_learner(dls, 'late').to_fp16()
        out['fastai_mixed_precision'] = bt._fastai(amp, epochs)
    return out


def step_methods(a):
    from robustmm.methods import recipes
    d, dls = _data(a)
    out, cuda = {}, a.device.startswith('cuda')
    for r in recipes():
        if cuda: torch.cuda.reset_peak_memory_stats()
        learn = r.build(dls, seed=0, epochs=1)
        if cuda: learn.to_fp16()
        t0 = time.time()
        with learn.no_bar(), learn.no_logging(): learn.fit(1 if a.tiny else 3, 3e-3)
        if cuda: torch.cuda.synchronize()
        secs = time.time() - t0
        out[r.name] = dict(samples_per_s=len(d.train)*(1 if a.tiny else 3)/secs, seconds=secs,
                           teacher_seconds=learn.teacher_seconds,
                           peak_mb=torch.cuda.max_memory_allocated()/2**20 if cuda else None,
                           accuracy=float(learn.validate()[1]))
    return out


def step_presets(a):
    from robustmm.presets import fit_paper
    from robustmm.udml import udml_learner
    from robustmm.dmrnet import dmrnet_learner
    from robustmm.mmanet import mmanet_learner, full_modality_teacher
    _, dls = _data(a)
    epochs, out = (1 if a.tiny else 3), {}
    makers = {'udml (cremad preset)': lambda: udml_learner(dls, paper='cremad', arch=18),
              'dmrnet (cremad preset, ResNet-18)': lambda: dmrnet_learner(dls, paper='cremad', arch=18),
              'mmanet (casia-surf preset)': lambda: mmanet_learner(dls, full_modality_teacher(dls, epochs=epochs),
                                                                   paper='casia-surf')}
    for name, make in makers.items():
        t0 = time.time(); learn = make()
        with learn.no_bar(), learn.no_logging(): fit_paper(learn, epochs=epochs)
        out[name] = dict(seconds=time.time() - t0, epochs=epochs, accuracy=float(learn.validate()[1]))
    return out


STEPS = {'cuda_cells': step_cuda_cells, 'syncs': step_syncs, 'fastai_vs_bare': step_fastai_vs_bare,
         'methods': step_methods, 'presets': step_presets}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default='cuda'); p.add_argument('--tiny', action='store_true')
    p.add_argument('--steps', default=','.join(STEPS)); p.add_argument('--out', default=str(RESULTS))
    a = p.parse_args(argv)
    if a.device.startswith('cuda') and not torch.cuda.is_available():
        sys.exit('no CUDA device: run with --device cpu --tiny to check the script')
    res = {'machine': machine(a.device), 'command': 'python benchmarks/gpu_check.py ' + ' '.join(argv or sys.argv[1:]),
           'steps': {}}
    f = Path(a.out)/('gpu.json' if a.device.startswith('cuda') and not a.tiny else 'gpu_check_dry_run.json')
    for name in a.steps.split(','):
        t0 = time.time()
        try: r = dict(ok=True, result=STEPS[name](a))
        except Exception as e: r = dict(ok=False, error=f'{type(e).__name__}: {e}',
                                        trace=traceback.format_exc()[-2000:])
        r['seconds'] = round(time.time() - t0, 1); res['steps'][name] = r
        atomic_write(f, json.dumps(res, indent=1, default=float))
        print(f"{name}: {'ok' if r['ok'] else r['error']} ({r['seconds']} s)", flush=True)
    print(f'wrote {f}')


if __name__ == '__main__': main()
