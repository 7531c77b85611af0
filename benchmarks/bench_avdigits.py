"""AV-digits evidence: each paper's claim tested under a protocol fixed before the first result (nbs/evidence.ipynb).

    OMP_NUM_THREADS=1 python benchmarks/bench_avdigits.py [--seeds 0,1,2,3,4] [--epochs 20] [--out DIR] [--quick]

Every model of one seed is trained, evaluated and written to `DIR/seed{k}.json` before the next starts, so an
interrupted run keeps what it finished. `--quick` is CI's smoke version of the same script (1 seed, 2 epochs,
one candidate per grid). The protocol (PROTOCOL below) is printed into every result file.
"""
import argparse, importlib, json, time
from pathlib import Path
import numpy as np, torch
from robustmm.data import MultimodalDataLoaders
from robustmm.evaluate import evaluate_subsets, evaluate_noise, evaluate_presence, random_presence
from robustmm.avdigits import load_avdigits, avdigits_noise, AVDIGITS_LEVELS
from robustmm.udml import udml_learner
from robustmm.combination import common_subspace_learner
from robustmm.mmanet import mmanet_learner, teacher_learner
from robustmm.methods import get_recipe, method_names
from robustmm.onestage import privileged_teacher, onestage_learner, twostage_fit
from robustmm.results import atomic_write
from _common import machine, RESULTS, uncertainty_tracking

PROTOCOL = dict(
    data='AV-digits (shipped): 1600 train / 400 valid (training speakers, recordings 0-9) / 1000 test (speakers theo, '
         'yweweler)',
    encoders="robustmm's small CNN per modality (ConvEncoder 16-32-64, feature size 64), no augmentation, for every "
             "model",
    training='FastAdam, one-cycle, lr 3e-3, batch 64, the same epochs for every model (two-stage: half per stage); '
             'teachers the same epochs',
    checkpoint='the last epoch, for every model (a fixed rule: nothing is selected on test)',
    selection="per seed, on the validation split: DMRNet's beta from (0.2, 0.5, 1.0) and MMANet's MAD weight from "
              "(1, 10, 30), "
              'each by the mean accuracy over the three modality subsets; '
              'MMANet mines its weak combinations on validation',
    noise="UDML's code levels per modality (avdigits_noise): image std L^2/255 on [0, 1] pixels, "
          "audio std L log units; L = 11 replaces the input; "
          'training levels 2-11 with half of the samples clean (static, dynamic and UDML models); '
          'test levels 0 (clean), 2, 4, 6, 8, 10, 11 on image, audio and both, with 100 % and 50 % of the test samples '
          'corrupted',
    missing='every subset (image, audio, image+audio); random per-sample missing at rates 0.1-0.9 (each modality '
            'independently, never both)',
    privileged='one-stage / two-stage distillation: audio privileged (training only), image available',
    statistics='mean +- std over seeds; paired differences (same seed, same test samples) with a 95 % t-interval',
)
TEST_LEVELS = (0., 2., 4., 6., 8., 10., 11.)
MISSING_RATES = (0.1, 0.3, 0.5, 0.7, 0.9)
GRIDS = dict(dmrnet_beta=(0.2, 0.5, 1.0), mmanet_mad=(1., 10., 30.))

def _fit(learn, epochs, lr=3e-3):
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, lr)
    return learn

def _subsets(learn, dl):
    return evaluate_subsets(learn, dl)['accuracy'].to_dict()

def _evaluate(learn, data, test_dl, noise, seed):
    "Every test measurement of one trained model (and its validation subsets, for selection)."
    r = {'valid_subsets': _subsets(learn, learn.dls.valid), 'test_subsets': _subsets(learn, test_dl)}
    with learn.no_bar(): r['clean'] = float(learn.validate(dl=test_dl)[1])
    r['noise'] = []
    for frac in (1.0, 0.5):
        n = evaluate_noise(learn, test_dl, noise=noise, levels=TEST_LEVELS, corrupt='each+all', seed=seed,
                           fraction=frac)
        r['noise'] += n.assign(fraction=frac).to_dict('records')
    r['missing'] = {str(rate): evaluate_presence(learn, test_dl,
                                                 random_presence(len(data.test), 2, rate, seed=seed))['accuracy']
                    for rate in MISSING_RATES}
    return r

def _tracking(model, test_dl, noise, seed, kind):
    "Uncertainty and weight per modality and level; the correlation read over levels 0-4 and 6-11."
    return uncertainty_tracking(model, test_dl, noise, seed, kind, TEST_LEVELS, low_max=4, high_min=6)

def _valid_mean(l, dls): return np.mean(list(_subsets(l, dls.valid).values())[:3])

def _tracked(kind):
    "Extra measurements of a noise-trained model: uncertainty and weight per level (and UDML's dependence)."
    def extra(l, ctx):
        r = {'tracking': _tracking(l.model, ctx['test_dl'], ctx['noise'], ctx['seed'], kind)}
        if kind == 'udml': r['dependence'] = l.model.dependence.normalised().tolist()
        return r
    return extra

# (label in the result files, registered method, its arguments from the run's context, options); the order is the run's
MODELS = [
    ('image only', 'available', lambda ctx: dict(available=0), {}),
    ('audio only', 'available', lambda ctx: dict(available=1), {}),
    ('late fusion', 'late', None, {}),
    ('late fusion + modality dropout', 'late+dropout', None, {}),
    # UDML and its baselines: all trained with the same noise
    ('static fusion (noise-trained)', 'concat+noise', None, {}),
    ('empirical dynamic fusion', 'dynamic', None, dict(extra=_tracked('dynamic'))),
    ('UDML', 'udml', None, dict(extra=_tracked('udml'))),
    ('UDML w/o dependence', 'udml', lambda ctx: dict(use_dependence=False), dict(extra=_tracked('udml'))),
    ('common subspace', 'common_subspace', None, {}),   # also MMANet's modality-dropout baseline
    ('DMRNet', 'dmrnet', None,
     dict(grid=('beta', 'dmrnet_beta'), extra=lambda l, ctx: {'hard_set': l.model.hard_state.subsets()})),
    ('DMRNet w/o regulariser', 'dmrnet', lambda ctx: dict(beta=0.), {}),
    # MMANet's teacher: trained and evaluated, then handed to its students
    ('teacher (complete data)', None, None, {}),
    ('plain distillation', 'distill', lambda ctx: dict(teacher=ctx['teacher']) if 'teacher' in ctx else {}, {}),
    ('MMANet', 'mmanet', lambda ctx: dict(teacher=ctx['teacher']) if 'teacher' in ctx else {},
     dict(grid=('mad_weight', 'mmanet_mad'), extra=lambda l, ctx: {'weak_set': l.model.weak_state.subsets()})),
    # audio privileged, image available
    ('one-stage', 'onestage', lambda ctx: dict(teacher=ctx['privileged_teacher'], available=0), {}),
    ('two-stage', 'onestage', lambda ctx: dict(teacher=ctx['privileged_teacher'], available=0),
     dict(fit=lambda l, epochs: twostage_fit(l, max(epochs//2, 1), 3e-3))),
]

def run_seed(seed, epochs, out, grids=GRIDS, log=print, methods=None):
    """Train and evaluate every model of MODELS (or, with `methods`, those of the registered methods named, in MODELS
    or not) for one seed, writing `out/seed{seed}.json` after each."""
    data = load_avdigits()
    dls = MultimodalDataLoaders.from_dsets(data.train, data.valid, bs=64, seed=seed)
    test_dl = dls.test_dl(data.test)
    noise = avdigits_noise()
    ctx = dict(seed=seed, test_dl=test_dl, noise=noise, train_noise=dict(noise=noise, levels=AVDIGITS_LEVELS))
    res = {'protocol': PROTOCOL, 'machine': machine(), 'seed': seed, 'epochs': epochs,
           'grids': {k: list(v) for k, v in grids.items()}, 'models': {}, 'seconds': {}}
    f = Path(out)/f'seed{seed}.json'; f.parent.mkdir(parents=True, exist_ok=True)
    def record(name, learn, extra=None):
        t0 = time.time()
        r = _evaluate(learn, data, test_dl, noise, seed); r.update(extra or {})
        res['models'][name] = r
        atomic_write(f, json.dumps(res, indent=1, default=float))
        log(f'seed {seed} {name}: '
                f'clean {r["clean"]:.3f}, subsets {r["test_subsets"]["image"]:.3f}/{r["test_subsets"]["audio"]:.3f}, '
                f'eval {time.time()-t0:.0f}s')
    def build(method, kw):
        return get_recipe(method).build(dls, seed, epochs, 3e-3, noise=ctx['train_noise'], **kw)
    models = MODELS if methods is None else [m for m in MODELS if m[1] in methods] + \
             [(get_recipe(n).title, n, None, {}) for n in methods if n not in {m[1] for m in MODELS}]
    for name, method, args, opt in models:
        t0 = time.time()
        if method is None:   # the teacher
            l = _fit(teacher_learner(dls, seed=seed), epochs); ctx['teacher'] = l.model
            res['seconds'][name] = time.time() - t0; record(name, l); continue
        if get_recipe(method).privileged and get_recipe(method).teacher is not None and 'privileged_teacher' not in ctx:
            ctx['privileged_teacher'] = privileged_teacher(dls, 'audio', epochs, 3e-3, seed)
        kw = args(ctx) if args else {}
        if 'grid' in opt:   # a hyper-parameter chosen per seed on the validation split
            key, grid = opt['grid']; cands = {}
            for v in grids[grid]: l = _fit(build(method, {**kw, key: v}), epochs); cands[v] = (_valid_mean(l, dls), l)
            best = max(cands, key=lambda v: cands[v][0]); l = cands[best][1]
            extra = {key: best, f'valid_mean_by_{key.split("_")[0]}': {str(v): m for v, (m, _) in cands.items()}}
        else:
            l = build(method, kw); (opt['fit'](l, epochs) if 'fit' in opt else _fit(l, epochs)); extra = {}
        res['seconds'][name] = time.time() - t0   # a grid: the whole validation grid
        if 'extra' in opt: extra.update(opt['extra'](l, ctx))
        record(name, l, extra)
    return res

ABLATIONS = ('UDML w/o uncertainty weights', 'one-stage w/o joint adaptation', 'MMANet, modality-dropout teacher')

def run_ablations(seed, epochs, out, log=print):
    """Added after the main results, to explain them (see the evidence page): the same protocol, one change each.
    Reads the seed's main result file for MMANet's validation-chosen MAD weight."""
    main_res = json.loads((Path(out)/f'seed{seed}.json').read_text())
    data = load_avdigits()
    dls = MultimodalDataLoaders.from_dsets(data.train, data.valid, bs=64, seed=seed)
    test_dl, noise = dls.test_dl(data.test), avdigits_noise()
    res = {'protocol': PROTOCOL, 'machine': machine(), 'seed': seed, 'epochs': epochs, 'models': {}}
    f = Path(out)/f'ablations_seed{seed}.json'
    def record(name, learn, extra=None):
        r = _evaluate(learn, data, test_dl, noise, seed); r.update(extra or {})
        res["models"][name] = r; atomic_write(f, json.dumps(res, indent=1, default=float))
        log(f'seed {seed} {name}: '
            f'clean {r["clean"]:.3f}, subsets {r["test_subsets"]["image"]:.3f}/{r["test_subsets"]["audio"]:.3f}')
    l = _fit(udml_learner(dls, seed=seed, noise=noise, levels=AVDIGITS_LEVELS, use_uncertainty=False), epochs)
    record(ABLATIONS[0], l, {'tracking': _tracking(l.model, test_dl, noise, seed, 'udml')})
    pt = privileged_teacher(dls, 'audio', epochs, 3e-3, seed)
    record(ABLATIONS[1], _fit(onestage_learner(dls, pt, 'image', mmd=0., kd=0., seed=seed), epochs))
    teacher = _fit(common_subspace_learner(dls, seed=seed), epochs).model
    w = main_res['models']['MMANet']['mad_weight']
    l = _fit(mmanet_learner(dls, teacher, mad_weight=w, seed=seed), epochs)
    record(ABLATIONS[2], l, {'mad_weight': w, 'weak_set': l.model.weak_state.subsets()})
    return res

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', default='0,1,2,3,4'); p.add_argument('--epochs', type=int, default=20)
    p.add_argument('--out', default=str(RESULTS/'avdigits')); p.add_argument('--quick', action='store_true')
    p.add_argument('--ablations', action='store_true',
                   help='run the explanatory ablations (after the main run of the same seeds)')
    p.add_argument('--methods', default=None,
                   help="only these registered methods (default: the protocol's models), "
                        f"from {', '.join(method_names())}")
    p.add_argument('--import', dest='imports', default='',
                   help='comma-separated modules to import first (your own registered methods)')
    a = p.parse_args(argv)
    for m in filter(None, a.imports.split(',')): importlib.import_module(m)
    methods = None if a.methods is None else [m for m in a.methods.split(',') if m]
    for m in methods or []: get_recipe(m)   # an unknown name fails before any training
    seeds, epochs, grids = [int(s) for s in a.seeds.split(',')], a.epochs, GRIDS
    if a.quick: seeds, epochs, grids = seeds[:1], 2, {k: v[:1] for k, v in GRIDS.items()}
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    for s in seeds:
        if not a.ablations: run_seed(s, epochs, a.out, grids, methods=methods)
        if a.ablations or (a.quick and methods is None): run_ablations(s, epochs, a.out)

if __name__ == '__main__': main()
