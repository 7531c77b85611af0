"Build the wheel, install it without dependencies into a clean folder, and import every module from it."
import subprocess, sys, zipfile, pkgutil
from pathlib import Path
import robustmm

def _modules(): return sorted(m.name for m in pkgutil.walk_packages(robustmm.__path__, 'robustmm.'))

def _path(name:str)->str:
    "Path of a module inside the wheel (a package is its __init__.py)"
    p = name.replace('.', '/')
    return p + '/__init__.py' if (Path(robustmm.__file__).parents[1]/p).is_dir() else p + '.py'

def test_wheel_contains_every_module_and_the_data(root, tmp_path):
    subprocess.run([sys.executable, '-m', 'build', '--wheel', '--no-isolation', '--outdir', str(tmp_path), str(root)],
                   check=True, capture_output=True)
    whl = next(tmp_path.glob('robustmm-*.whl'))
    names = zipfile.ZipFile(whl).namelist()
    for m in _modules(): assert _path(m) in names, m
    assert any(n.startswith('robustmm/udml/') for n in names)   # subpackages ship
    assert 'robustmm/assets/mfeat.npz' in names and 'robustmm/_modidx.py' in names
    assert {'robustmm/assets/avdigits/avdigits.npz', 'robustmm/assets/emoji/emoji.npz'} <= set(names)   # shipped data
    assert whl.stat().st_size < 30*2**20, f'the wheel is {whl.stat().st_size/2**20:.1f} MB: keep it under 30 MB'
    # the official CREMA-D lists
    assert {'robustmm/assets/cremad/train.csv', 'robustmm/assets/cremad/test.csv'} <= set(names)
    # install the wheel alone into a target folder and import every module from there (dependencies from this env)
    target = tmp_path/'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-index', '--target', str(target),
                    str(whl)],
                   check=True, capture_output=True)
    code = ("import importlib, sys, robustmm, pathlib; "
            "assert pathlib.Path(robustmm.__file__).resolve()"
            f".is_relative_to(pathlib.Path({str(target)!r}).resolve()), "
            "robustmm.__file__; "
            f"[importlib.import_module(m) for m in {_modules()!r}]; "
            "from robustmm.data import load_mfeat; d = load_mfeat(); assert len(d.train) == 1600; "
            "from robustmm.datasets import cremad_lists; assert len(cremad_lists()['train']) == 6698; print('ok')")
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True,
                       env={'PYTHONPATH': str(target), 'PATH': '/usr/bin:/bin', 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0 and r.stdout.strip().endswith('ok'), r.stderr[-2000:]

def test_no_method_imports_another(root):
    ("UDML, DMRNet, MMANet and one-stage distillation import only the shared layer (core, data, models, learner, "
     "combination, distill...).")
    import re
    methods = ('udml', 'dmrnet', 'mmanet', 'onestage')
    for m in methods:
        for f in (root/'robustmm'/m).glob('*.py'):
            for line in f.read_text().splitlines():
                if not re.match(r'\s*(from|import)\s', line): continue
                others = [o for o in methods if o != m and re.search(rf'(robustmm\.|\.\.){o}\b', line)]
                assert not others, f'{f.relative_to(root)} imports {others}: {line.strip()}'
