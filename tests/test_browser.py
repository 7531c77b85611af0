"""The course in a real browser: JupyterLab driven by Playwright through the system Chromium (no browser download).

Each widget notebook is opened, run with Run All, and checked: every cell ran, no cell shows an error, each
explorer is visible with its figure, moving one of its controls changes the figure, and (for selections) an empty
selection clears the figure with a "nothing selected" note. Screenshots of each widget before and after the move
go to `$BROWSER_SCREENSHOTS` (default `tests/browser_screenshots/`), with a report of the timings.

Environment:
- `ROBUSTMM_BROWSER_TEST=1`: a missing Chromium, Playwright or JupyterLab fails the test instead of skipping it (CI).
- `ROBUSTMM_BROWSER_NOTEBOOKS=05_evaluate.ipynb,...`: run these notebooks instead (paths under the served folder).
- `ROBUSTMM_BROWSER_ROOT=dir`: the folder JupyterLab serves (default `nbs/`; a scratch copy elsewhere works too).
- `ROBUSTMM_CHROMIUM=path`: the browser (default `/usr/bin/chromium`); `ROBUSTMM_BROWSER_TIMEOUT`: seconds per notebook.
"""
import json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
# every notebook that builds an explorer (`explorer(...)` or one of the `*_widget(...)` built on it)
def widget_notebooks(root=Path(__file__).resolve().parents[1]/'nbs')->list:
    "Every notebook with a code cell (not an export) that builds an explorer: `explorer(`, or a `..._widget(` call."
    out = []
    for p in sorted(root.rglob('*.ipynb')):
        if '.ipynb_checkpoints' in p.parts: continue
        cells = json.loads(p.read_text())['cells']
        if any(c['cell_type'] == 'code' and not ''.join(c['source']).startswith('#| export') and
               re.search(r'(_widget|explorer)\(', ''.join(c['source'])) for c in cells):
            out.append(str(p.relative_to(root)))
    return out

NOTEBOOKS = widget_notebooks()

REQUIRED = os.environ.get('ROBUSTMM_BROWSER_TEST') == '1'
SERVED = Path(os.environ.get('ROBUSTMM_BROWSER_ROOT') or ROOT/'nbs').resolve()
CHROMIUM = os.environ.get('ROBUSTMM_CHROMIUM') or '/usr/bin/chromium'
NB_TIMEOUT = float(os.environ.get('ROBUSTMM_BROWSER_TIMEOUT') or 480)
SHOTS = Path(os.environ.get('BROWSER_SCREENSHOTS') or ROOT/'tests'/'browser_screenshots').resolve()
SELECTED = [s.strip() for s in os.environ.get('ROBUSTMM_BROWSER_NOTEBOOKS', '').split(',') if s.strip()]
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']
# the controls `robustmm.evaluate.explorer` builds, in the order they are tried
CONTROLS = '.widget-slider, .widget-checkbox, .widget-dropdown, .widget-select-multiple'

def _missing(reason):
    "Skip on a machine without a browser; fail where the browser test is required (CI)."
    if REQUIRED: pytest.fail(f'browser test required (ROBUSTMM_BROWSER_TEST=1) but {reason}', pytrace=False)
    pytest.skip(reason)

def _free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _api(base, path, method='GET', timeout=10):
    req = urllib.request.Request(base + path, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r: body = r.read()
    return json.loads(body) if body else None

def _snapshot()->dict:
    "What the test must leave unchanged: every file under the served folder, and `git status` of the repository."
    files = {str(p.relative_to(SERVED)): (p.stat().st_size, p.stat().st_mtime_ns)
             for p in SERVED.rglob('*') if p.is_file()}
    git = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=all'], cwd=ROOT,
                         capture_output=True, text=True)
    return dict(files=files, git=git.stdout if git.returncode == 0 else None)

def _changes(before:dict)->str:
    "What the run changed of `_snapshot()`: files under the served folder, then the repository's `git status`."
    after = _snapshot()
    files = sorted({f for f, _ in set(before['files'].items()) ^ set(after['files'].items())})
    if files: return f'files under {SERVED} created or changed by the run: {files}'
    if before['git'] != after['git']: return f"git status changed by the run:\n{after['git']}"
    return ''

def _lab_config(tmp:Path, port:int)->Path:
    "A private Jupyter config: no token, no saving, no network calls, checkpoints and runtime files out of the repo."
    settings = {'@jupyterlab/docmanager-extension/plugin': {'autosave': False},
                '@jupyterlab/notebook-extension/tracker': {'windowingMode': 'none',   # every cell in the DOM
                                                           'autoStartDefaultKernel': True},   # no kernel dialog
                '@jupyterlab/apputils-extension/notification': {'fetchNews': 'false', 'checkForUpdates': False}}
    for name, value in settings.items():
        f = tmp/'settings'/f'{name}.jupyterlab-settings'; f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    cfg = {'ServerApp': {'ip': '127.0.0.1', 'port': port, 'port_retries': 0, 'open_browser': False, 'allow_root': True,
                         'root_dir': str(SERVED), 'disable_check_xsrf': True, 'password': '',
                         'jpserver_extensions': {'jupyter_lsp': False}},   # no `.virtual_documents` in the folder
           'IdentityProvider': {'token': ''},
           'LabApp': {'user_settings_dir': str(tmp/'settings'), 'workspaces_dir': str(tmp/'workspaces'),
                      'news_url': None, 'check_for_updates_class': 'jupyterlab.NeverCheckForUpdate',
                      'extension_manager': 'readonly'},
           'FileCheckpoints': {'root_dir': str(tmp/'checkpoints')}}
    (tmp/'config').mkdir(); (tmp/'config'/'jupyter_server_config.json').write_text(json.dumps(cfg))
    return tmp/'config'

def _kernel_pids(runtime:Path)->list:
    "Processes whose command line names a connection file in this server's private runtime folder: its kernels."
    pids = []
    for p in Path('/proc').glob('[0-9]*'):
        try: cmd = (p/'cmdline').read_bytes().decode(errors='replace')
        except OSError: continue
        if str(runtime) in cmd and int(p.name) != os.getpid(): pids.append(int(p.name))
    return pids

def _stop_lab(proc, base, runtime):
    "Shut the kernels and the server down politely, then by force: nothing may outlive the test."
    try:
        for s in _api(base, '/api/sessions'): _api(base, f"/api/sessions/{s['id']}", 'DELETE', timeout=30)
        _api(base, '/api/shutdown', 'POST')
    except Exception: pass
    try: proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try: proc.wait(timeout=10)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait()
    for pid in _kernel_pids(runtime):   # kernels run in their own sessions, so the group kill misses them
        try: os.kill(pid, signal.SIGKILL)
        except ProcessLookupError: pass

def _die_with_parent():
    "Linux: the server gets SIGTERM when pytest dies, however it dies (its kernels then exit with it)."
    try: import ctypes; ctypes.CDLL(None).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except Exception: pass

@pytest.fixture(scope='module')
def lab():
    "JupyterLab serving `SERVED` on a free localhost port, the kernel importing this checkout's robustmm."
    try: import jupyterlab  # noqa: F401
    except ImportError: _missing('jupyterlab is not installed')
    tmp = Path(tempfile.mkdtemp(prefix='robustmm_lab_'))
    port = _free_port(); base = f'http://127.0.0.1:{port}'
    env = {k: v for k, v in os.environ.items() if k != 'MPLBACKEND'}   # the kernel's inline backend draws the figures
    env.update(JUPYTER_CONFIG_DIR=str(_lab_config(tmp, port)), JUPYTER_DATA_DIR=str(tmp/'data'),
               JUPYTER_RUNTIME_DIR=str(tmp/'runtime'), IPYTHONDIR=str(tmp/'ipython'), JUPYTER_PLATFORM_DIRS='1',
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get('PYTHONPATH')])]),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get('PATH', '')]),
               OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    log = open(tmp/'server.log', 'w')
    proc = subprocess.Popen([sys.executable, '-m', 'jupyterlab'], cwd=SERVED, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)
    try:
        for _ in range(120):
            if proc.poll() is not None: break
            try: _api(base, '/api/status', timeout=2); break
            except Exception: time.sleep(0.5)
        else: pytest.fail(f'JupyterLab did not answer within 60 s; log: {tmp/"server.log"}')
        if proc.poll() is not None: pytest.fail(f'JupyterLab exited: {(tmp/"server.log").read_text()[-2000:]}')
        yield base
    finally:
        _stop_lab(proc, base, tmp/'runtime'); log.close()
        shutil.rmtree(tmp, ignore_errors=True)

@pytest.fixture(scope='module')
def browser():
    "The system Chromium under Playwright (never `playwright install`: nothing is downloaded)."
    try: from playwright.sync_api import sync_playwright
    except ImportError: _missing('playwright is not installed (pip install playwright; never `playwright install`)')
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        _missing(f'no Chromium at {CHROMIUM} (apt-get install chromium)')
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS/'report.txt').write_text('')
    print(f'\nbrowser screenshots: {SHOTS}')
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try: yield b
        finally: b.close()

def _prompts(page)->list:
    "The execution prompt of each non-empty code cell of the open notebook: '[3]:', '[*]:' or '[ ]:'."
    return page.evaluate("""() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')]
        .filter(c => (c.querySelector('.cm-content')?.textContent || '').trim())
        .map(c => c.querySelector('.jp-InputArea-prompt')?.textContent.trim() || '')""")

def _kernel_status(page)->str:
    return page.evaluate("""() => document.querySelector(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator')?.getAttribute('data-status') || ''""")

def _wait(cond, timeout, what, step=0.5):
    t = time.time()
    while time.time() - t < timeout:
        if v := cond(): return v
        time.sleep(step)
    raise AssertionError(f'timed out after {timeout:.0f} s waiting for {what}')

def _run_all(page, base, nb, timeout):
    "Run All from the Run menu once the kernel is up; wait until no cell is queued or running and the kernel idles."
    def ready():
        dialog = page.locator('.jp-Dialog:has-text("Select Kernel") .jp-mod-accept')
        if dialog.count(): dialog.first.click()   # the notebook's own kernel, should the setting not apply
        return any(s['path'] == nb and s['kernel']['execution_state'] == 'idle' for s in _api(base, '/api/sessions'))
    _wait(ready, 180, 'the kernel to start')
    for _ in range(10):   # the menu item does nothing until the notebook is connected to its kernel: try again
        page.click('.lm-MenuBar-itemLabel:text-is("Run")')
        item = page.locator('.lm-Menu-item:has(.lm-Menu-itemLabel:text-is("Run All Cells"))')
        if 'lm-mod-disabled' in (item.get_attribute('class') or ''):
            page.keyboard.press('Escape'); time.sleep(3); continue
        item.click()
        try: _wait(lambda: any(p != '[ ]:' for p in _prompts(page)), 15, 'Run All to start'); break
        except AssertionError: pass
    else: raise AssertionError(f'{nb}: Run All did not start any cell')
    quiet = []   # two idle polls in a row: JupyterLab resets the queued prompts a moment after an error
    def done():
        quiet.append('[*]:' not in _prompts(page) and _kernel_status(page) == 'idle')
        return len(quiet) > 1 and quiet[-1] and quiet[-2]
    _wait(done, timeout, 'Run All to finish', step=1)

ERROR = re.compile(r'Traceback|^\s*\w*(Error|Exception)\b', re.M)

def _outputs(page, scope='.jp-NotebookPanel:not(.lm-mod-hidden)'):
    "Each stderr/error output under `scope`, with the index of its cell."
    return page.evaluate("""scope => [...document.querySelectorAll(scope + ' .jp-Notebook-cell')].flatMap((c, i) =>
        [...c.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(o => ({cell: i, text: o.textContent})))""", scope)

def _explorers(page):
    "The outermost widget boxes holding an Output: one per explorer."
    boxes = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output'
                         ' > .widget-vbox:has(.widget-output)')
    return [boxes.nth(i) for i in range(boxes.count())]

def _figure(box)->str:
    "The `src` of the figure in the explorer's Output ('' when it shows none)."
    return box.evaluate("""b => { const i = b.querySelector('.widget-output img');
        return i && i.complete && i.naturalWidth > 0 ? i.src : '' }""")

def _out_text(box)->str: return box.locator('.widget-output').inner_text()

def _move(control):
    "Move one control as a reader would: a slider some steps, a box (un)ticked, the next option, another selection."
    cls = control.get_attribute('class')
    if 'widget-slider' in cls:
        h = control.locator('.noUi-handle').first
        # PageUp: five steps, a change one sees in the screenshots; PageDown from the top of the range
        key = 'PageDown' if h.get_attribute('aria-valuenow') == h.get_attribute('aria-valuemax') else 'PageUp'
        h.focus(); h.press(key); return f'slider {control.locator("label").inner_text()!r} {key}'
    if 'widget-checkbox' in cls:
        control.locator('input').click(); return f'checkbox {control.inner_text()!r}'
    sel = control.locator('select')
    opts = sel.evaluate('s => [...s.options].map(o => [o.value, o.selected])')
    if 'widget-select-multiple' in cls:
        picked = [v for v, on in opts if on]
        keep = picked[:1] if len(picked) > 1 else [opts[(1 if opts[0][1] else 0) % len(opts)][0]]
        sel.select_option(keep); return f'selection -> {keep}'
    i = next(k for k, (_, on) in enumerate(opts) if on)
    sel.select_option(opts[(i + 1) % len(opts)][0]); return f'dropdown -> option {(i + 1) % len(opts)}'

def _empty(box)->bool:
    "Untick every box or deselect every option; False when the explorer has no selection to empty."
    ticks = box.locator('.widget-checkbox input'); sels = box.locator('.widget-select-multiple select')
    if not ticks.count() and not sels.count(): return False
    for i in range(ticks.count()):
        if ticks.nth(i).is_checked(): ticks.nth(i).click()
    for i in range(sels.count()): sels.nth(i).select_option([])
    return True

def _check_explorer(box, name, k, notes):
    "The figure is drawn, moving one control redraws it, an empty selection clears it with a note."
    box.scroll_into_view_if_needed()
    before = _wait(lambda: _figure(box), 60, f'{name} explorer {k}: a figure in its output (nothing drawn when built?)')
    box.screenshot(path=SHOTS/f'{name}_w{k}_before.png')
    control = box.locator(CONTROLS).first
    assert control.count(), f'{name} explorer {k}: no control (slider, checkbox, dropdown, selection) to move'
    moved = _move(control)
    _wait(lambda: (f := _figure(box)) and f != before, 60, f'{name} explorer {k}: the figure to change after {moved}')
    box.screenshot(path=SHOTS/f'{name}_w{k}_after.png')
    notes.append(f'explorer {k}: {moved} changed the figure')
    if _empty(box):
        _wait(lambda: not _figure(box) and 'nothing selected' in _out_text(box).lower(), 60,
              f'{name} explorer {k}: an empty selection to clear the figure and say "nothing selected"')
        box.screenshot(path=SHOTS/f'{name}_w{k}_empty.png')
        notes.append(f'explorer {k}: empty selection cleared the figure')
    errs = [o['text'][-500:] for o in _outputs(page=box.page) if ERROR.search(o['text'])]
    assert not errs, f'{name} explorer {k}: an error after moving its controls:\n' + '\n'.join(errs)

@pytest.mark.parametrize('nb', SELECTED or NOTEBOOKS)
def test_widget_notebook(nb, browser, lab):   # no browser: skipped before JupyterLab starts
    "Open, Run All, no error, every explorer shown and redrawn by its controls; screenshots in `SHOTS`."
    if not (SERVED/nb).exists(): pytest.fail(f'{nb} is not under {SERVED}')
    name = nb.removesuffix('.ipynb').replace('/', '_')
    for f in SHOTS.glob(f'{name}_*.png'): f.unlink()
    before, notes, t0 = _snapshot(), [], time.time()
    ctx = browser.new_context(viewport={'width': 1400, 'height': 1000})
    page = ctx.new_page()
    try:
        page.goto(f'{lab}/lab/tree/{nb}?reset')
        page.wait_for_selector('.jp-NotebookPanel .jp-CodeCell', timeout=120_000)
        _run_all(page, lab, nb, NB_TIMEOUT)
        notes.append(f'open + Run All {time.time() - t0:.0f} s')
        page.screenshot(path=SHOTS/f'{name}_page.png', full_page=True)
        prompts = _prompts(page)
        unrun = [i for i, p in enumerate(prompts) if not re.fullmatch(r'\[\d+\]:', p)]
        errs = [f"cell {o['cell']}: {o['text'][-800:]}" for o in _outputs(page) if ERROR.search(o['text'])]
        assert not errs, f'{nb}: error output after Run All:\n' + '\n'.join(errs)
        assert not unrun, f'{nb}: code cells not run by Run All (by position among code cells): {unrun}'
        notes.append(f'{len(prompts)} code cells, no error')
        notes += [f"stderr in cell {o['cell']}: {o['text'][:200]!r}"
                  for o in _outputs(page) if not ERROR.search(o['text'])]
        boxes = _explorers(page)
        notes.append(f'{len(boxes)} explorer(s)')
        assert boxes and any(b.is_visible() for b in boxes), \
            f'{nb}: no explorer visible after Run All (a widget cell must end with the widget)'
        for k, box in enumerate(boxes): _check_explorer(box, name, k, notes)
    except BaseException as e:
        notes.append(f'FAILED: {str(e).splitlines()[0] if str(e) else type(e).__name__}')
        try: page.screenshot(path=SHOTS/f'{name}_failure.png', full_page=True)
        except Exception: pass
        raise
    finally:
        ctx.close()
        try:   # the notebook's kernel goes with it: one kernel at a time on small machines
            for s in _api(lab, '/api/sessions'):
                if s['path'] == nb: _api(lab, f"/api/sessions/{s['id']}", 'DELETE', timeout=30)
        except Exception: pass
        left = _changes(before)
        if left: notes.append(left)
        with open(SHOTS/'report.txt', 'a') as f: f.write(f'{nb} ({time.time() - t0:.0f} s): ' + '; '.join(notes) + '\n')
    assert not left, f'{nb}: {left}'
