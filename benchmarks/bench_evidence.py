"""Evidence on AV-digits and emoji-views: each paper's claim tested under a protocol fixed before the first result.

    OMP_NUM_THREADS=1 python benchmarks/bench_evidence.py --dataset avdigits|emoji [--seeds 0,1,2,3,4] \
        [--epochs 20] [--out DIR]
    OMP_NUM_THREADS=1 python benchmarks/bench_evidence.py --dataset emoji --quick --out /tmp/ev   # CI's smoke version

Every model of one seed is trained, evaluated and written (atomically) to `DIR/seed{k}.json` before the next starts,
so an interrupted run keeps what it finished; a rerun skips the seeds already written (`--force` retrains them).
The protocol (PROTOCOL, the data's DATASETS entry and CLAIMS, below) is written into every result file; the
evidence page (nbs/evidence.ipynb) reads the files and decides each claim with the verdict rule of robustmm.stats.
"""
import argparse, importlib, json, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).parent))
from robustmm.data import MultimodalDataLoaders
from robustmm.evaluate import evaluate_subsets, evaluate_noise, evaluate_presence, random_presence
from robustmm.missingness import MCAR, ByClass, BySignal
from robustmm.methods import get_recipe
from robustmm.results import atomic_write
from robustmm.pairing import pairing_table
from _common import machine, RESULTS, uncertainty_tracking

PROTOCOL = dict(
    encoders="robustmm's small encoder per modality (ConvEncoder 16-32-64 for images and spectrograms, TextEncoder for "
             "names; feature size 64), no augmentation, for every model",
    training='FastAdam, one-cycle, lr 3e-3, batch 64, the same epochs for every model (two-stage: half per stage); '
             'teachers the same epochs and learning rate',
    checkpoint='the last epoch, for every model (a fixed rule: nothing is selected on test)',
    selection="per seed, on the validation split: DMRNet's beta from (0.2, 0.5, 1.0) and MMANet's MAD weight from "
              '(1, 10, 30), each by the mean validation accuracy over every modality subset; MMANet mines its weak '
              'combinations on validation',
    noise_training="the data's noise protocol (DATASETS[...]['noise']) with half of the samples clean, for every model "
                   'trained with noise (static and empirical dynamic fusion, late fusion trained with noise, UDML); '
                   'QMF trains on clean data, as its code does',
    noise_test='each modality alone, and all together, at every test level; 100 % and 50 % of the test samples '
               'corrupted',
    missing_train="the methods' own: none (late, concat, teachers), uniform over the non-empty subsets (modality "
                  'dropout, common subspace, DMRNet, MMANet, ShaSpec)',
    missing_test='every subset of modalities; MCAR at rates 0.1-0.9 (each modality independently, never all); and '
                 'at a 0.5 average rate: MCAR, MNAR by class (spread 1), MNAR by signal (spread 1), each drawn with '
                 'the seed',
    statistics='mean +- std over seeds; paired differences (same seed, same test samples) with a 95 % t-interval; '
               'verdict: better when the interval is above zero, worse when below, not distinguishable otherwise '
               '(robustmm.stats.verdict)',
)


def _avdigits():
    from robustmm.avdigits import load_avdigits, avdigits_noise, AVDIGITS_LEVELS
    return dict(data=load_avdigits(), noise=avdigits_noise(), levels=AVDIGITS_LEVELS,
                test_levels=(0., 2., 4., 6., 8., 10., 11.), available='image', privileged='audio')


def _emoji():
    from robustmm.emoji import load_emoji, emoji_noise, EMOJI_LEVELS
    d = load_emoji()
    return dict(data=d, noise=emoji_noise(len(d.train.vocabs['name'])), levels=tuple(l for l in EMOJI_LEVELS if l > 0),
                test_levels=EMOJI_LEVELS, available='google', privileged='twitter')


DATASETS = {   # the data, its noise protocol (training levels, test levels) and its privileged-modality setting
    'avdigits': dict(load=_avdigits,
                     description='AV-digits (shipped): 1600 train / 400 valid (training speakers, recordings 0-9) / '
                                 '1000 test (speakers theo, yweweler); audio and image paired by label only; audio '
                                 'privileged, image available'),
    'emoji': dict(load=_emoji,
                  description='emoji-views (shipped): 1150 train / 386 valid / 370 test emoji, split by related '
                              "groups; Google's and Twitter's drawings of the same emoji and its name (category words "
                              'removed); the Twitter drawing privileged, the Google drawing available'),
}
GRIDS = dict(dmrnet_beta=(0.2, 0.5, 1.0), mmanet_mad=(1., 10., 30.))
MISSING_RATES = (0.1, 0.3, 0.5, 0.7, 0.9)
MECHANISMS = (MCAR(0.5), ByClass(0.5), BySignal(0.5))

# Which comparison decides each claim, fixed with the protocol (the evidence page computes them):
# (claim, what the paper says, method, baseline, measure)
CLAIMS = [
    ('UDML (a)', 'static fusion above empirical dynamic fusion', 'static fusion (noise-trained)',
     'empirical dynamic fusion', 'clean and noisy accuracy'),
    ('UDML (b)', "UDML's estimate tracks the noise level where empirical uncertainty does not", 'UDML',
     'empirical dynamic fusion', 'Spearman of level vs uncertainty, low and high noise'),
    ('UDML (c)', 'UDML above static and empirical dynamic fusion, and QMF, under noise', 'UDML',
     'static fusion (noise-trained) / empirical dynamic fusion / QMF / late fusion trained with noise',
     'noisy accuracy'),
    ('UDML (d)', "the dependence term restores the hard modality's weight", 'UDML', 'UDML w/o dependence',
     "the hard modality's weight share"),
    ('DMRNet (a)', 'DMRNet above the common-subspace model and ShaSpec over the modality combinations', 'DMRNet',
     'common subspace / ShaSpec', 'mean accuracy over subsets'),
    ('DMRNet (b)', 'the hard-combination regulariser lifts the hard combinations', 'DMRNet', 'DMRNet w/o regulariser',
     'accuracy on the selected hard combinations'),
    ('one-stage', 'one-stage distillation above two-stage distillation and the available modality alone', 'one-stage',
     'two-stage / available only', 'accuracy with the available modality'),
    ('MMANet', 'MMANet above modality dropout and plain distillation, on the weak combinations and the mean', 'MMANet',
     'common subspace / plain distillation', 'accuracy on the mined weak combinations, mean over subsets'),
]


def models_for(ds_names, available, privileged):
    "(label, registered method, its arguments from the run's context, options): the order is the run's."
    a = ds_names.index(available)
    tracked = lambda kind: lambda l, ctx: _tracked(l, ctx, kind)
    with_teacher = lambda ctx: dict(teacher=ctx['teacher']) if 'teacher' in ctx else {}
    return [*[(f'{n} only', 'available', (lambda i: lambda ctx: dict(available=i))(i), {})
              for i, n in enumerate(ds_names)],
            ('late fusion', 'late', None, {}),
            ('late fusion + modality dropout', 'late+dropout', None, {}),
            ('late fusion trained with noise', 'late+noise', None, {}),
            ('static fusion (noise-trained)', 'concat+noise', None, {}),
            ('empirical dynamic fusion', 'dynamic', None, dict(extra=tracked('dynamic'))),
            ('UDML', 'udml', None, dict(extra=tracked('udml'))),
            ('UDML w/o dependence', 'udml', lambda ctx: dict(use_dependence=False), dict(extra=tracked('udml'))),
            ('UDML w/o uncertainty weights', 'udml', lambda ctx: dict(use_uncertainty=False),
             dict(extra=tracked('udml'))),
            ('QMF', 'qmf', None, {}),
            ('common subspace', 'common_subspace', None, {}),
            ('ShaSpec', 'shaspec', None, {}),
            ('DMRNet', 'dmrnet', None, dict(grid=('beta', 'dmrnet_beta'),
                                            extra=lambda l, ctx: {'hard_set': l.model.hard_state.subsets()})),
            ('DMRNet w/o regulariser', 'dmrnet', lambda ctx: dict(beta=0.), {}),
            ('teacher (complete data)', None, None, {}),
            ('plain distillation', 'distill', with_teacher, {}),
            ('MMANet', 'mmanet', with_teacher, dict(grid=('mad_weight', 'mmanet_mad'),
                                                    extra=lambda l, ctx: {'weak_set': l.model.weak_state.subsets()})),
            ('one-stage', 'onestage', lambda ctx: dict(teacher=ctx['privileged_teacher'], available=a), {}),
            ('two-stage', 'onestage', lambda ctx: dict(teacher=ctx['privileged_teacher'], available=a),
             dict(fit=lambda l, e: _twostage(l, e))),
            ('one-stage w/o joint adaptation', 'onestage',
             lambda ctx: dict(teacher=ctx['privileged_teacher'], available=a, mmd=0., kd=0.), {})]


def _twostage(l, epochs):
    from robustmm.onestage import twostage_fit
    return twostage_fit(l, max(epochs//2, 1), 3e-3)


def _fit(learn, epochs, lr=3e-3):
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, lr)
    return learn


def _subsets(learn, dl): return evaluate_subsets(learn, dl)['accuracy'].to_dict()


def _evaluate(learn, cfg, test_dl, seed):
    "Every test measurement of one trained model (and its validation subsets, for selection)."
    d, M = cfg['data'], len(cfg['data'].train.names)
    r = {'valid_subsets': _subsets(learn, learn.dls.valid), 'test_subsets': _subsets(learn, test_dl)}
    with learn.no_bar(): r['clean'] = float(learn.validate(dl=test_dl)[1])
    r['noise'] = []
    for frac in (1.0, 0.5):
        n = evaluate_noise(learn, test_dl, noise=cfg['noise'], levels=cfg['test_levels'], corrupt='each+all', seed=seed,
                           fraction=frac)
        r['noise'] += n.assign(fraction=frac).to_dict('records')
    r['missing'] = {str(rate): evaluate_presence(learn, test_dl,
                                                 random_presence(len(d.test), M, rate, seed=seed))['accuracy']
                    for rate in MISSING_RATES}
    r['mechanisms'] = {m.name: evaluate_presence(learn, test_dl, m.presence(d.test, seed))['accuracy']
                       for m in MECHANISMS}
    return r


def _tracked(learn, ctx, kind):
    "Uncertainty and weight per modality and level, the correlation read below and above the median noisy level."
    levels = ctx['test_levels']
    mid = float(np.median(np.unique([L for L in levels if L > 0])))
    r = {'tracking': uncertainty_tracking(learn.model, ctx['test_dl'], ctx['noise'], ctx['seed'], kind, levels,
                                          low_max=mid, high_min=mid)}
    if kind == 'udml': r['dependence'] = learn.model.dependence.normalised().tolist()
    return r


def run_seed(dataset, seed, epochs, out, grids=GRIDS, log=print, methods=None):
    """Train and evaluate every model (or those of the registered `methods`) for one seed,
    writing `out/seed{seed}.json` after each."""
    cfg = DATASETS[dataset]['load']()
    d = cfg['data']
    dls = MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=64, seed=seed)
    test_dl = dls.test_dl(d.test)
    ctx = dict(seed=seed, test_dl=test_dl, noise=cfg['noise'], test_levels=cfg['test_levels'],
               train_noise=dict(noise=cfg['noise'], levels=cfg['levels']))
    res = {'dataset': dataset, 'description': DATASETS[dataset]['description'], 'protocol': PROTOCOL,
           'claims': CLAIMS, 'machine': machine(), 'seed': seed, 'epochs': epochs,
           'grids': {k: list(v) for k, v in grids.items()},
           'modalities': list(d.train.names), 'available': cfg['available'], 'privileged': cfg['privileged'],
           'n_test': len(d.test), 'models': {}, 'seconds': {}}
    f = Path(out)/f'seed{seed}.json'
    def record(name, learn, extra=None):
        t0 = time.time()
        r = _evaluate(learn, cfg, test_dl, seed); r.update(extra or {})
        res['models'][name] = r
        atomic_write(f, json.dumps(res, indent=1, default=float))
        log(f'{dataset} seed {seed} {name}: clean {r["clean"]:.3f}, '
            f'subset mean {np.mean(list(r["test_subsets"].values())[:-2] or [0]):.3f}, '
            f'eval {time.time() - t0:.0f}s', flush=True)
    def build(method, kw): return get_recipe(method).build(dls, seed, epochs, 3e-3, noise=ctx['train_noise'], **kw)
    models = models_for(d.train.names, cfg['available'], cfg['privileged'])
    if methods is not None: models = [m for m in models if m[1] in methods]
    for name, method, args, opt in models:
        t0 = time.time()
        if method is None:   # the teacher of MMANet and plain distillation: trained and evaluated, then handed to them
            from robustmm.mmanet import teacher_learner
            l = _fit(teacher_learner(dls, seed=seed), epochs); ctx['teacher'] = l.model
            res['seconds'][name] = time.time() - t0; record(name, l); continue
        if get_recipe(method).privileged and get_recipe(method).teacher is not None and 'privileged_teacher' not in ctx:
            from robustmm.onestage import privileged_teacher
            ctx['privileged_teacher'] = privileged_teacher(dls, cfg['privileged'], epochs, 3e-3, seed)
        kw = args(ctx) if args else {}
        extra = {}
        if 'grid' in opt:   # a hyper-parameter chosen per seed on the validation split (mean over every subset)
            key, grid = opt['grid']; cands = {}
            for v in grids[grid]:
                l = _fit(build(method, {**kw, key: v}), epochs)
                vs = evaluate_subsets(l, dls.valid)['accuracy']
                cands[v] = (float(vs.loc['mean']), l)
            best = max(cands, key=lambda v: cands[v][0]); l = cands[best][1]
            extra = {key: best, f'valid_mean_by_{key.split("_")[0]}': {str(v): m for v, (m, _) in cands.items()}}
        else:
            l = build(method, kw); (opt['fit'](l, epochs) if 'fit' in opt else _fit(l, epochs))
        res['seconds'][name] = time.time() - t0   # a grid: the whole validation grid
        if 'extra' in opt: extra.update(opt['extra'](l, ctx))
        record(name, l, extra)
    return res


def pairing(dataset, out):
    "The pairing check of the data (how much one modality predicts another beyond the label), written beside the seeds."
    d = DATASETS[dataset]['load']()['data']
    tab = pairing_table(d)
    atomic_write(Path(out)/'pairing.json',
                 json.dumps({'dataset': dataset, 'machine': machine(), 'rows': tab.to_dict('records')},
                            indent=1, default=float))
    return tab


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dataset', required=True, choices=list(DATASETS))
    p.add_argument('--seeds', default='0,1,2,3,4'); p.add_argument('--epochs', type=int, default=20)
    p.add_argument('--out', default=None, help='default: benchmarks/results/evidence/<dataset>')
    p.add_argument('--quick', action='store_true', help='1 seed, 2 epochs, one candidate per grid')
    p.add_argument('--force', action='store_true', help='retrain seeds whose result file exists')
    p.add_argument('--methods', default=None, help='only the models of these registered methods')
    p.add_argument('--import', dest='imports', default='',
                   help='comma-separated modules to import first (your own registered methods)')
    a = p.parse_args(argv)
    for m in filter(None, a.imports.split(',')): importlib.import_module(m)
    methods = None if a.methods is None else [m for m in a.methods.split(',') if m]
    for m in methods or []: get_recipe(m)   # an unknown name fails before any training
    out = Path(a.out or RESULTS/'evidence'/a.dataset)
    seeds, epochs, grids = [int(s) for s in a.seeds.split(',')], a.epochs, GRIDS
    if a.quick: seeds, epochs, grids = seeds[:1], 2, {k: v[:1] for k, v in GRIDS.items()}
    if not (out/'pairing.json').exists() or a.force: print(pairing(a.dataset, out).round(3).to_string(), flush=True)
    for s in seeds:
        if (out/f'seed{s}.json').exists() and not a.force and methods is None:
            done = json.loads((out/f'seed{s}.json').read_text())
            if (done.get('epochs') == epochs
                    and len(done['models']) == len(models_for(done['modalities'], *_setting(a.dataset)))):
                print(f'{a.dataset} seed {s}: already written, skipped (--force retrains it)'); continue
        run_seed(a.dataset, s, epochs, out, grids, methods=methods)


def _setting(dataset):
    return {'avdigits': ('image', 'audio'), 'emoji': ('google', 'twitter')}[dataset]


if __name__ == '__main__': main()
