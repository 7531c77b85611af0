"README is generated from nbs/index.ipynb and up to date; every notebook processes for the docs site; CI runs the README's test command."
import re, subprocess, sys, shutil

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
