"Keeping a trained model (issue 22, item 6): pickle-free save_model/load_model for every registered method, versions."
import json, shutil, subprocess, sys, warnings
from pathlib import Path
import pytest, torch, torch.nn as nn
from fastai.learner import Learner
from robustmm.core import all_subsets, subset_mask
from robustmm.data import MultimodalDataset, MultimodalDataLoaders
from robustmm.deploy import save_model, load_model, load_exported, read_description, stand_in_dls
from robustmm.methods import Recipe, recipes, get_recipe, register, _REGISTRY
from robustmm.learner import fusion_learner
from robustmm.synthetic import synth_multimodal
from robustmm.test_utils import synth_seg_dls
from robustmm.text import Vocab

ROOT = Path(__file__).resolve().parents[1]


def _dls(M=2, seed=0):
    d = synth_multimodal(n_train=96, n_test=32, dims=(6,)*M, n_valid=32, names=[f'm{i}' for i in range(M)], seed=seed)
    return MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=32, device='cpu', seed=seed), d


def _fit(learn, n=1, lr=3e-3):
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(n, lr)
    return learn


def _outputs(model, xs)->dict:
    "Eval outputs for every non-empty subset of present modalities."
    model.eval(); M, B = len(xs), len(xs[0])
    with torch.no_grad(): return {s: model(*xs, subset_mask(s, B, M)) for s in all_subsets(M)}


def _same(a, b, xs):
    oa, ob = _outputs(a, xs), _outputs(b, xs)
    return all(torch.equal(oa[s], ob[s]) for s in oa)


def _warnings(fn):
    "fn's result and the messages of the warnings it raised (fastai's notice that unpickling runs code left out)."
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        r = fn()
    return r, [str(o.message) for o in w if 'insecure pickle' not in str(o.message)]


@pytest.mark.parametrize('name', [r.name for r in recipes()])
def test_every_registered_method_round_trips(name, tmp_path):
    dls, d = _dls()
    learn = _fit(get_recipe(name).build(dls, seed=0, epochs=1))
    f = save_model(learn, tmp_path/name)
    state = torch.load(f/'weights.pt', weights_only=True)     # tensors only: no pickle
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    net, ws = _warnings(lambda: load_model(f))
    assert ws == [], ws
    assert type(net) is type(learn.model) and not net.training
    ref = learn.model.state_dict()
    assert state.keys() == ref.keys() and all(torch.equal(state[k], ref[k]) for k in ref)
    assert _same(learn.model, net, d.test.xs)


def test_teacher_methods_train_nothing_at_load(tmp_path, monkeypatch):
    dls, d = _dls(3)
    for name in ('mmanet', 'distill', 'onestage'):
        learn = _fit(get_recipe(name).build(dls, epochs=1, available=2))
        save_model(learn, tmp_path/name)
    monkeypatch.setattr(Learner, 'fit', lambda *a, **k: pytest.fail('load_model trained something'))
    for name in ('mmanet', 'distill', 'onestage'): load_model(tmp_path/name)
    assert read_description(tmp_path/'onestage')['kwargs']['available'] == 2
    assert read_description(tmp_path/'onestage')['kwargs']['teacher_dim'] > 0


def test_method_state_in_buffers_survives(tmp_path):
    dls, d = _dls(3)
    dm = _fit(get_recipe('dmrnet').build(dls), 5)            # warm-up is one epoch: a hard set is chosen
    net = load_model(save_model(dm, tmp_path/'dm'))
    assert net.hard_state.subsets() and net.hard_state.subsets() == dm.model.hard_state.subsets()
    mm = _fit(get_recipe('mmanet').build(dls, epochs=1), 5)  # mining ends at a quarter of training
    net = load_model(save_model(mm, tmp_path/'mm'))
    assert bool(mm.model.weak_state.done) and torch.equal(net.weak_state.selected, mm.model.weak_state.selected)
    ud = _fit(get_recipe('udml').build(dls), 3)
    net = load_model(save_model(ud, tmp_path/'ud'))
    assert int(ud.model.dependence.n_updates) > 0 and torch.equal(net.dependence.value, ud.model.dependence.value)


def test_text_image_and_segmentation_round_trip(tmp_path):
    texts = [f'{w} sample {i % 3}' for i, w in enumerate(['red', 'green', 'blue', 'red green']*16)]
    vocab = Vocab.build(texts, unit='both', n=(2, 3))
    g = torch.Generator().manual_seed(0)
    xs = [vocab.encode(texts, 8), torch.randn(64, 1, 8, 8, generator=g)]
    ds = MultimodalDataset(xs, torch.arange(64) % 3, ['caption', 'picture'], kinds=['text', 'image'],
                           class_names=['x', 'y', 'z'], vocabs={'caption': vocab})
    dls = MultimodalDataLoaders.from_dsets(ds.subset(range(48)), ds.subset(range(48, 64)), bs=16, device='cpu')
    learn = _fit(get_recipe('late+dropout').build(dls, feat_dim=8))
    f = save_model(learn, tmp_path/'text')
    desc = read_description(f)
    assert desc['data']['vocabs']['caption'] == dict(tokens=vocab.tokens, unit='both', n=[2, 3])
    assert desc['data']['class_names'] == ['x', 'y', 'z'] and desc['data']['kinds'] == ['text', 'image']
    assert stand_in_dls(desc['data']).train_ds.describe() == ds.describe()
    assert _same(learn.model, load_model(f), [x[48:] for x in xs])

    sdls = synth_seg_dls()
    seg = _fit(fusion_learner(sdls, 'concat', feat_dim=16))
    f = save_model(seg, tmp_path/'seg', method='concat', feat_dim=16)    # not made by Recipe.build: say how
    net = load_model(f)
    assert read_description(f)['data']['task'] == 'segmentation'
    assert _same(seg.model, net, list(sdls.valid_ds.xs))


def test_a_version_mismatch_warns_naming_both_versions(tmp_path):
    dls, d = _dls()
    learn = _fit(get_recipe('late').build(dls))
    f = save_model(learn, tmp_path/'m')
    desc = json.loads((f/'model.json').read_text())
    desc['provenance'].update(torch='1.13.0', fastai='2.7.0')
    (f/'model.json').write_text(json.dumps(desc))
    _, ws = _warnings(lambda: load_model(f))
    assert len(ws) == 1 and 'torch 1.13.0' in ws[0] and torch.__version__ in ws[0] and 'fastai 2.7.0' in ws[0], ws
    with pytest.warns(UserWarning, match='robustmm 0.0.1'):
        desc['provenance']['robustmm'] = '0.0.1'; (f/'model.json').write_text(json.dumps(desc)); load_model(f)

    learn.export(tmp_path/'l.pkl')                      # MMLearner.export records the versions
    l2, ws = _warnings(lambda: load_exported(tmp_path/'l.pkl'))
    assert ws == [] and l2.export_provenance['fastai']
    l2.export_provenance = {**l2.export_provenance, 'torch': '1.13.0'}
    Learner.export(l2, tmp_path/'old.pkl')
    _, ws = _warnings(lambda: load_exported(tmp_path/'old.pkl'))
    assert len(ws) == 1 and 'torch 1.13.0' in ws[0], ws


def test_clear_errors_naming_the_file(tmp_path):
    dls, d = _dls()
    learn = _fit(get_recipe('late').build(dls))
    f = save_model(learn, tmp_path/'m')
    def broken(name, fix):
        g = tmp_path/name; shutil.copytree(f, g); fix(g); return g
    def edit(**kw): return lambda g: (g/'model.json').write_text(json.dumps({**read_description(f), **kw}))
    cases = [
        (tmp_path/'nowhere', FileNotFoundError, 'no model.json in'),
        (broken('bad_json', lambda g: (g/'model.json').write_text('{"method": ')), ValueError, 'is not valid JSON'),
        (broken('not_ours', lambda g: (g/'model.json').write_text('[1, 2]')), ValueError, 'not a robustmm model'),
        (broken('lacks', edit(data={'names': ['m0', 'm1']})), ValueError, r'lacks \(or has malformed\) data.kinds'),
        (broken('bad_kwargs', edit(kwargs=[1])), ValueError, r'has malformed\) kwargs'),
        (broken('no_weights', lambda g: (g/'weights.pt').unlink()), FileNotFoundError, 'no weights.pt in'),
        (broken('garbage', lambda g: (g/'weights.pt').write_bytes(b'not torch')), ValueError, 'weights_only=True'),
        (broken('pickled', lambda g: torch.save({'a': nn.ReLU()}, g/'weights.pt')), ValueError, 'weights_only=True'),
        (broken('unknown', edit(method='mine')), ValueError, 'import that module'),
        (broken('misfit', edit(kwargs={'feat_dim': 8})), ValueError, 'weights.pt does not fit the network'),
    ]
    for path, exc, msg in cases:
        with pytest.raises(exc, match=msg) as e: load_model(path)
        assert path.name in str(e.value), (path.name, str(e.value))
    with pytest.raises(ValueError, match='save_model needs method='): save_model(fusion_learner(dls), tmp_path/'x')
    with pytest.raises(ValueError, match='does not fit the network rebuilt'):
        save_model(learn, tmp_path/'x', method='concat')
    assert not (tmp_path/'x').exists()


def test_a_users_method_loads_once_its_module_is_imported(tmp_path):
    dls, d = _dls()
    toy = Recipe('toy_deploy', fusion_learner, 'a toy', module='toy_deploy_module')
    register(toy)
    try:
        f = save_model(_fit(get_recipe('toy_deploy').build(dls, fusion='weighted')), tmp_path/'toy')
        del _REGISTRY['toy_deploy']                     # as in a process that has not imported the module
        with pytest.raises(ValueError, match="unknown method 'toy_deploy'.*import that module"): load_model(f)
        register(toy)
        assert type(load_model(f).fusion).__name__ == 'WeightedFusion'
    finally: _REGISTRY.pop('toy_deploy', None)


def test_load_model_keeps_the_callers_random_state(tmp_path):
    dls, d = _dls()
    f = save_model(_fit(get_recipe('late').build(dls)), tmp_path/'m')
    torch.manual_seed(5); a = torch.rand(3)
    torch.manual_seed(5); load_model(f)
    assert torch.equal(torch.rand(3), a)


FRESH = '''
import sys, torch
from robustmm.deploy import load_model
folder = sys.argv[1]
torch.load(folder + '/weights.pt', weights_only=True)
net = load_model(folder)
xs = torch.load(folder + '/../inputs.pt', weights_only=True)
with torch.no_grad(): torch.save(net(*xs), folder + '/../outputs.pt')
'''

def test_loads_in_a_fresh_process(tmp_path):
    dls, d = _dls()
    learn = _fit(get_recipe('mmanet').build(dls, epochs=1), 2)
    f = save_model(learn, tmp_path/'m')
    torch.save(list(d.test.xs), tmp_path/'inputs.pt')
    r = subprocess.run([sys.executable, '-W', 'error::UserWarning', '-c', FRESH, str(f)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    learn.model.eval()
    with torch.no_grad(): expected = learn.model(*d.test.xs)
    assert torch.equal(torch.load(tmp_path/'outputs.pt', weights_only=True), expected)
