"""AV-digits evidence: each paper's claim tested under a protocol fixed before the first result (nbs/evidence.ipynb).

    OMP_NUM_THREADS=1 python benchmarks/bench_avdigits.py [--seeds 0,1,2,3,4] [--epochs 20] [--out DIR] [--quick]

Every model of one seed is trained, evaluated and written to `DIR/seed{k}.json` before the next starts, so an
interrupted run keeps what it finished. `--quick` is CI's smoke version of the same script (1 seed, 2 epochs,
one candidate per grid). The protocol (PROTOCOL below) is printed into every result file.
"""
import argparse, json, time
from pathlib import Path
import numpy as np, torch
from scipy.stats import spearmanr
from robustmm.core import subset_mask
from robustmm.noise import modality_generator
from robustmm.data import MultimodalDataLoaders
from robustmm.learner import fusion_learner
from robustmm.callbacks import FixedSubset
from robustmm.evaluate import evaluate_subsets, evaluate_noise, evaluate_presence, random_presence, main_output
from robustmm.avdigits import load_avdigits, avdigits_noise, AVDIGITS_LEVELS
from robustmm.udml import udml_learner, static_fusion_learner, dynamic_fusion_learner, confidence_score
from robustmm.dmrnet import dmrnet_learner, common_subspace_learner
from robustmm.mmanet import mmanet_learner, teacher_learner, plain_distillation_learner
from robustmm.onestage import privileged_teacher, onestage_learner, twostage_fit
from _common import machine, RESULTS

PROTOCOL = dict(
    data='AV-digits (shipped): 1600 train / 400 valid (training speakers, recordings 0-9) / 1000 test (speakers theo, yweweler)',
    encoders="robustmm's small CNN per modality (ConvEncoder 16-32-64, feature size 64), no augmentation, for every model",
    training='FastAdam, one-cycle, lr 3e-3, batch 64, the same epochs for every model (two-stage: half per stage); teachers the same epochs',
    checkpoint='the last epoch, for every model (a fixed rule: nothing is selected on test)',
    selection="per seed, on the validation split: DMRNet's beta from (0.2, 0.5, 1.0) and MMANet's MAD weight from (1, 10, 30), "
              'each by the mean accuracy over the three modality subsets; MMANet mines its weak combinations on validation',
    noise="UDML's code levels per modality (avdigits_noise): image std L^2/255 on [0, 1] pixels, audio std L log units; L = 11 replaces the input; "
          'training levels 2-11 with half of the samples clean (static, dynamic and UDML models); '
          'test levels 0 (clean), 2, 4, 6, 8, 10, 11 on image, audio and both, with 100 % and 50 % of the test samples corrupted',
    missing='every subset (image, audio, image+audio); random per-sample missing at rates 0.1-0.9 (each modality independently, never both)',
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
        n = evaluate_noise(learn, test_dl, noise=noise, levels=TEST_LEVELS, corrupt='each+all', seed=seed, fraction=frac)
        r['noise'] += n.assign(fraction=frac).to_dict('records')
    r['missing'] = {str(rate): evaluate_presence(learn, test_dl, random_presence(len(data.test), 2, rate, seed=seed))['accuracy'] for rate in MISSING_RATES}
    return r

@torch.no_grad()
def _tracking(model, test_dl, noise, seed, kind):
    "Per modality and level (that modality alone corrupted, all test samples): the model's uncertainty for it and its fusion weight."
    model.eval(); dev = next(model.parameters()).device
    rows = []
    for m in range(2):
        per_sample = []
        for L in TEST_LEVELS:
            unc, w = [], []
            for bi, b in enumerate(test_dl):
                xs = [x.to(dev) for x in b[:2]]
                if L > 0: xs[m] = noise[m](xs[m], L, modality_generator(seed, bi, m))
                if kind == 'udml':
                    feats = model.encode(*xs)
                    unc.append(model.sigma_hat(feats)[:, m]); w.append(model.weights(feats)[:, m])
                else:   # empirical: negative energy of the modality's own logits, and the confidence weight
                    uni = model.fusion.unimodal(model.encode(*xs))
                    unc.append(-confidence_score(uni[m])); w.append(model.fusion.weights(uni)[:, m])
            unc, w = torch.cat(unc).cpu(), torch.cat(w).cpu()
            rows.append({'modality': m, 'level': L, 'uncertainty': float(unc.mean()), 'weight': float(w.mean())})
            per_sample.append((np.full(len(unc), L), unc.numpy()))
        lv, u = [np.concatenate(a) for a in zip(*per_sample)]
        for name, keep in (('low', lv <= 4), ('high', lv >= 6)):
            rows.append({'modality': m, 'range': name, 'spearman': float(spearmanr(lv[keep], u[keep]).statistic)})
    return rows

def run_seed(seed, epochs, out, grids=GRIDS, log=print):
    data = load_avdigits()
    dls = MultimodalDataLoaders.from_dsets(data.train, data.valid, bs=64, seed=seed)
    test_dl = dls.test_dl(data.test)
    noise = avdigits_noise()
    train_noise = dict(noise=noise, levels=AVDIGITS_LEVELS)
    res = {'protocol': PROTOCOL, 'machine': machine(), 'seed': seed, 'epochs': epochs, 'grids': {k: list(v) for k, v in grids.items()}, 'models': {}, 'seconds': {}}
    f = Path(out)/f'seed{seed}.json'; f.parent.mkdir(parents=True, exist_ok=True)
    def record(name, learn, extra=None):
        t0 = time.time()
        r = _evaluate(learn, data, test_dl, noise, seed); r.update(extra or {})
        res['models'][name] = r
        f.write_text(json.dumps(res, indent=1, default=float))
        log(f'seed {seed} {name}: clean {r["clean"]:.3f}, subsets {r["test_subsets"]["image"]:.3f}/{r["test_subsets"]["audio"]:.3f}, eval {time.time()-t0:.0f}s')
    def train(name, make, extra=None, fit=None):
        t0 = time.time()
        l = make(); (fit or (lambda l: _fit(l, epochs)))(l)
        res['seconds'][name] = time.time() - t0
        record(name, l, extra(l) if extra else None)
        return l
    # each modality alone, the fusion baselines
    train('image only', lambda: fusion_learner(dls, 'concat', seed=seed, cbs=FixedSubset([0])))
    train('audio only', lambda: fusion_learner(dls, 'concat', seed=seed, cbs=FixedSubset([1])))
    train('late fusion', lambda: fusion_learner(dls, 'late', seed=seed))
    train('late fusion + modality dropout', lambda: fusion_learner(dls, 'late', modality_dropout='subsets', seed=seed))
    # UDML and its baselines (all trained with the same noise)
    train('static fusion (noise-trained)', lambda: static_fusion_learner(dls, seed=seed, **train_noise))
    train('empirical dynamic fusion', lambda: dynamic_fusion_learner(dls, seed=seed, **train_noise),
          extra=lambda l: {'tracking': _tracking(l.model, test_dl, noise, seed, 'dynamic')})
    for name, kw in (('UDML', {}), ('UDML w/o dependence', dict(use_dependence=False))):
        train(name, lambda: udml_learner(dls, seed=seed, **train_noise, **kw),
              extra=lambda l: {'tracking': _tracking(l.model, test_dl, noise, seed, 'udml'),
                               'dependence': l.model.dependence.normalised().tolist()})
    # DMRNet: beta chosen on validation; the common-subspace model (also MMANet's modality-dropout baseline); no regulariser
    train('common subspace', lambda: common_subspace_learner(dls, seed=seed))
    cands, t0 = {}, time.time()
    for beta in grids['dmrnet_beta']:
        l = _fit(dmrnet_learner(dls, beta=beta, seed=seed), epochs)
        cands[beta] = (np.mean(list(_subsets(l, dls.valid).values())[:3]), l)
    beta = max(cands, key=lambda b: cands[b][0])
    res['seconds']['DMRNet'] = time.time() - t0   # the whole validation grid
    record('DMRNet', cands[beta][1], {'beta': beta, 'valid_mean_by_beta': {str(b): v for b, (v, _) in cands.items()},
                                       'hard_set': cands[beta][1].model.hard_state.subsets()})
    train('DMRNet w/o regulariser', lambda: dmrnet_learner(dls, beta=0., seed=seed))
    # MMANet: teacher on complete data, MAD weight chosen on validation
    teacher = train('teacher (complete data)', lambda: teacher_learner(dls, seed=seed)).model
    train('plain distillation', lambda: plain_distillation_learner(dls, teacher, seed=seed))
    cands, t0 = {}, time.time()
    for w in grids['mmanet_mad']:
        l = _fit(mmanet_learner(dls, teacher, mad_weight=w, seed=seed), epochs)
        cands[w] = (np.mean(list(_subsets(l, dls.valid).values())[:3]), l)
    w = max(cands, key=lambda b: cands[b][0])
    res['seconds']['MMANet'] = time.time() - t0   # the whole validation grid
    record('MMANet', cands[w][1], {'mad_weight': w, 'valid_mean_by_mad': {str(b): v for b, (v, _) in cands.items()},
                                    'weak_set': cands[w][1].model.weak_state.subsets()})
    # one-stage vs two-stage distillation: audio privileged, image available
    pt = privileged_teacher(dls, 'audio', epochs, 3e-3, seed)
    train('one-stage', lambda: onestage_learner(dls, pt, 'image', seed=seed))
    train('two-stage', lambda: onestage_learner(dls, pt, 'image', seed=seed), fit=lambda l: twostage_fit(l, max(epochs//2, 1), 3e-3))
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
        res['models'][name] = r; f.write_text(json.dumps(res, indent=1, default=float))
        log(f'seed {seed} {name}: clean {r["clean"]:.3f}, subsets {r["test_subsets"]["image"]:.3f}/{r["test_subsets"]["audio"]:.3f}')
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
    p.add_argument('--ablations', action='store_true', help='run the explanatory ablations (after the main run of the same seeds)')
    a = p.parse_args(argv)
    seeds, epochs, grids = [int(s) for s in a.seeds.split(',')], a.epochs, GRIDS
    if a.quick: seeds, epochs, grids = seeds[:1], 2, {k: v[:1] for k, v in GRIDS.items()}
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    for s in seeds:
        if not a.ablations: run_seed(s, epochs, a.out, grids)
        if a.ablations or a.quick: run_ablations(s, epochs, a.out)

if __name__ == '__main__': main()
