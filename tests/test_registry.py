"The method registry, the model contract and import hygiene (issue 21)."
import json, subprocess, sys, textwrap
from pathlib import Path
import pytest, torch
from robustmm.methods import recipes, get_recipe, method_names
from robustmm.models import MultimodalNet
from robustmm.synthetic import synth_multimodal
from robustmm.data import MultimodalDataLoaders

ROOT = Path(__file__).resolve().parents[1]
CLI_METHODS = ('late', 'concat', 'weighted', 'late+dropout', 'concat+dropout', 'dynamic', 'udml', 'common_subspace',
               'dmrnet', 'mmanet', 'onestage')

TOY = '''
from functools import partial
from robustmm.methods import Recipe, register
from robustmm.learner import fusion_learner
register(Recipe('toy', partial(fusion_learner, fusion='weighted'), 'a toy method', problem='missing',
                module='toymethod'))
'''


def test_registry_lists_every_method():
    names = method_names()
    assert set(CLI_METHODS) <= set(names), set(CLI_METHODS) - set(names)
    assert len(names) == len(set(names))
    for r in recipes():
        assert r.title and r.module, r.name
        for b in r.baselines: get_recipe(b)   # every named baseline is registered


@pytest.mark.parametrize('name', [r.name for r in recipes()])
def test_every_method_network_is_the_contract(name):
    d = synth_multimodal(n_train=96, n_test=32, dims=(6, 6), n_valid=32, names=['a', 'b'])
    dls = MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=32, device='cpu')
    learn = get_recipe(name).build(dls, seed=0, epochs=1)
    assert isinstance(learn.model, MultimodalNet), type(learn.model)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    assert torch.isfinite(torch.tensor(learn.recorder.values[-1][0]))


def test_cli_help_lists_the_registry():
    out = subprocess.run([sys.executable, '-m', 'robustmm', 'bench', '--help'], capture_output=True, text=True,
                         cwd=ROOT).stdout
    flat = ' '.join(out.split())
    for n in method_names(): assert n in flat, n


def test_a_registered_toy_method_reaches_the_cli_and_the_benchmark_script(tmp_path):
    (tmp_path/'toymethod.py').write_text(textwrap.dedent(TOY))
    r = subprocess.run([sys.executable, '-m', 'robustmm', 'bench', '--import', 'toymethod', '--methods', 'late,toy',
                        '--dataset', 'synthetic', '--epochs', '1', '--protocol', 'missing', '--out',
                        str(tmp_path/'out')],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'toy' in r.stdout
    assert 'toy' in (tmp_path/'out'/'subsets.csv').read_text().splitlines()[0]
    res = json.loads((tmp_path/'out'/'results.json').read_text())
    assert [s['method'] for s in res['summary']] == ['late', 'toy'] and res['provenance']['robustmm']
    env = {'PYTHONPATH': f'{tmp_path}:{ROOT}', 'OMP_NUM_THREADS': '1', 'PATH': '/usr/bin:/bin'}
    r = subprocess.run([sys.executable, str(ROOT/'benchmarks'/'bench_avdigits.py'), '--quick', '--import', 'toymethod',
                        '--methods', 'toy', '--out', str(tmp_path/'av')], capture_output=True, text=True, cwd=tmp_path,
                        env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    models = json.loads((tmp_path/'av'/'seed0.json').read_text())['models']
    assert list(models) == ['a toy method'] and 0 <= models['a toy method']['clean'] <= 1


def test_importing_robustmm_changes_no_global_state():
    code = textwrap.dedent('''
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            import fastai.basics, fastai.learner, fastai.callback.all, fastai.callback.progress as p
        before, bars, cbs = list(warnings.filters), (p.master_bar, p.progress_bar), list(p.defaults.callbacks)
        import robustmm.cli, robustmm.methods
        robustmm.methods.recipes()   # imports every method package
        assert warnings.filters == before, 'warning filters changed'
        assert (p.master_bar, p.progress_bar) == bars, "fastai's progress bars replaced"
        assert list(p.defaults.callbacks) == cbs, "fastai's default callbacks changed"
    ''')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    # a fresh process, FutureWarnings as errors: fastai's torch.jit notice stays inside robustmm's import of fastai
    r = subprocess.run([sys.executable, '-W', 'error::FutureWarning', '-c', 'import robustmm.cli'], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]


def test_no_notebook_needs_an_import_order_comment():
    bad = [p.name for p in (ROOT/'nbs').rglob('*.ipynb') if 'import robustmm  # first' in p.read_text()]
    assert not bad, bad
