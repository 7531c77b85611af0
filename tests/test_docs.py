("README is generated from nbs/index.ipynb and up to date; every notebook processes for the docs site; "
 "CI runs the README's test command.")
import functools, re, subprocess, sys

def test_readme_up_to_date(root):
    r = subprocess.run([sys.executable, 'tools/make_readme.py', '--check'], cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

def _readme_commands(root):
    return re.findall(r'```sh\n(.+?)\n```', (root/'README.md').read_text())

def test_readme_has_two_commands_and_ci_runs_the_test_one(root):
    cmds = _readme_commands(root)
    assert len(cmds) == 2, cmds
    assert 'robustmm bench' in cmds[0]
    assert 'nbdev-test' in cmds[1] and 'pytest' in cmds[1]
    assert cmds[1] in (root/'.ci/run').read_text(), "'.ci/run' must run the README's test command verbatim"

def test_every_notebook_processes_for_docs(root, tmp_path):
    from nbdev.serve import proc_nbs
    cache = proc_nbs(root/'nbs', force=True, n_workers=0)
    nbs = sorted(p.relative_to(root/'nbs') for p in (root/'nbs').rglob('*.ipynb') if '_proc' not in p.parts)
    done = {p.relative_to(cache) for p in cache.rglob('*.ipynb')}
    assert set(nbs) <= done, set(nbs) - done

@functools.cache
def _cells(root)->tuple:
    "(notebook path, cell) for every cell of every notebook in nbs/, read once."
    import nbformat
    return tuple((p, c) for p in sorted((root/'nbs').rglob('*.ipynb'))
                 if '_proc' not in p.parts and '.ipynb_checkpoints' not in p.parts
                 for c in nbformat.read(p, as_version=4).cells)

def test_imports_sit_in_cells_of_their_own(root):
    """nbdev's docs build executes every cell holding an import (so `show_doc` can resolve names): a cell that also
    trains or tests would run again at build time, and one mixing imports with other code makes nbdev warn."""
    import ast
    bad = []
    for p, c in _cells(root):
        if c.cell_type != 'code' or 'nbdev_export()' in c.source: continue
        if re.search(r'^#\|\s*(export|exports|exporti|exec_doc)\b', c.source, re.M): continue
        code = '\n'.join(l for l in c.source.splitlines() if not l.lstrip().startswith(('%', '!')))
        try: tree = ast.parse(code)
        except SyntaxError: continue
        has_import = any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))
        if has_import and not all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body):
            bad.append(f"{p.relative_to(root)}: {c.source.splitlines()[0][:80]}")
    assert not bad, bad

_MACHINE_PATH = re.compile(r'(/home/|/Users/|/work/|/tmp/|/root/|[A-Z]:\\\\)')
_WARNING = re.compile(r'\b\w*Warning\b|\bwarnings\.warn\b')

def _stored_texts(root):
    "(notebook, output text) for every stored output of every notebook."
    for p, c in _cells(root):
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream': yield p.name, o.get('name'), o.get('text', '')
            elif o.get('output_type') == 'error': yield p.name, 'error', '\n'.join(o.get('traceback', []))
            else:
                for k, v in o.get('data', {}).items():
                    if k.startswith('text/'): yield p.name, k, v if isinstance(v, str) else ''.join(v)

def test_stored_outputs_are_clean(root):
    "No machine paths, warnings, errors, stderr or progress debris in what the docs show (nor in README.md)."
    bad = []
    for nb, kind, text in _stored_texts(root):
        if kind in ('stderr', 'error'): bad.append((nb, kind, text[:200]))
        elif _MACHINE_PATH.search(text) or _WARNING.search(text): bad.append((nb, 'path or warning', text[:200]))
        elif '\u2588' in text or '\r' in text: bad.append((nb, 'progress bar', text[:120]))
    readme = (root/'README.md').read_text()
    assert not _MACHINE_PATH.search(readme) and not _WARNING.search(readme), 'README.md'
    assert not bad, bad

def test_every_public_function_and_class_is_indexed(root):
    "Every function and class a module defines and exports is in `_modidx.py`, so the docs link it."
    import importlib, inspect, pkgutil, robustmm
    from robustmm._modidx import d
    missing = []
    for m in pkgutil.walk_packages(robustmm.__path__, 'robustmm.'):
        if m.name.rsplit('.', 1)[-1].startswith('_'): continue
        mod = importlib.import_module(m.name)
        for name in getattr(mod, '__all__', []):
            obj = getattr(mod, name)
            if ((inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == m.name
                    and f'{m.name}.{name}' not in d['syms'].get(m.name, {})):
                missing.append(f'{m.name}.{name}')
    assert not missing, missing

def test_tutorials_and_interactive_notebooks(root):
    "At least six tutorials, and at least four notebooks with an ipywidgets explorer."
    import nbformat
    tutorials = sorted((root/'nbs/tutorials').glob('*.ipynb'))
    assert len(tutorials) >= 6, tutorials
    def uses_widgets(p): return any(c.cell_type == 'code' and ('_widget(' in c.source or 'ipywidgets' in c.source)
                                    for c in nbformat.read(p, as_version=4).cells)
    widgets = [p.name for p in sorted((root/'nbs').rglob('*.ipynb')) if '_proc' not in p.parts and uses_widgets(p)]
    assert len(widgets) >= 4, widgets

def test_sidebar_up_to_date(root):
    "nbs/sidebar.yml is derived from the notebooks and the method registry (tools/make_sidebar.py)."
    r = subprocess.run([sys.executable, 'tools/make_sidebar.py', '--check'], cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

def _markdown(root):
    "(notebook path, markdown source) for every markdown cell of every notebook."
    for p, c in _cells(root):
        if c.cell_type == 'markdown': yield p, c.source

def test_no_show_doc_debris(root):
    "show_doc's Quarto link attributes never reach a stored output (they show as text in JupyterLab)."
    bad = sorted({nb for nb, _, text in _stored_texts(root) if '{target=' in text})
    assert not bad, f'stored outputs with `source{{target=` (rerun with --save): {bad}'

def test_lessons_carry_no_history(root):
    bad = sorted({p.name for p, s in _markdown(root) if re.search(r'earlier version|until this was fixed', s, re.I)})
    assert not bad, bad

def test_relative_links_open_in_jupyterlab(root):
    "Links between notebooks point at notebooks that exist (an `.html` link does nothing in JupyterLab)."
    bad = []
    for p, s in _markdown(root):
        for target in re.findall(r'\]\(([^)\s#]+)(?:#[^)]*)?\)', s):
            if re.match(r'[a-z]+:', target): continue
            if target.endswith('.html') or (target.endswith('.ipynb') and not (p.parent/target).exists()):
                bad.append(f'{p.relative_to(root)}: {target}')
    assert not bad, bad

def _advice_cells(root):
    "The stored HTML of every notebook cell that shows `method_advice` (the front door and the tutorial)."
    import nbformat
    for p in ('nbs/index.ipynb', 'nbs/tutorials/choosing_a_method.ipynb'):
        nb = nbformat.read(root/p, as_version=4)
        cells = [c for c in nb.cells if c.cell_type == 'code' and 'method_advice(' in c.source]
        assert cells, f'{p} shows no method_advice table'
        yield p, ''.join(o['data'].get('text/html', '') for c in cells for o in c.outputs if 'data' in o)

def test_front_door_reads_the_claims_table(root):
    "The README's and the tutorial's 'which method' tables are the claims table's advice, verdicts beside them."
    import pandas as pd
    from robustmm.evidence import method_advice
    adv = method_advice(pd.read_csv(root/'benchmarks/results/claims.csv'))
    for p, html in _advice_cells(root):
        for cell in adv.drop(columns=['problem', 'method']).to_numpy().ravel():
            assert cell in html, f'{p}: {cell!r} is not in the stored table (rerun the notebook after bench_claims.py)'
    assert 'method_advice(' in (root/'README.md').read_text()
