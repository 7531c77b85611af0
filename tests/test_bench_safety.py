"""`robustmm bench` on your own data, fast and safe (issue 22): the output folder checked before training, every file
whole, one run per folder, each method named once, the batch split over a launch's processes, a file that cannot be
decoded named, threads, inputs sized to the data, one line per epoch in logs."""
import errno, json, os, re, resource, signal, subprocess, sys
from contextlib import ExitStack
from pathlib import Path
import numpy as np, pandas as pd, pytest
from conftest import bench_in_process as _main, bench_cmd as _cmd, bench_subprocess as _bench

QUICK = ['--dataset', 'synthetic', '--methods', 'late', '--epochs', '1', '--protocol', 'missing', '--device', 'cpu']

def _file_limit(n:int):
    "For a child process: files larger than `n` bytes cannot be written (EFBIG), as on a disk that fills up."
    def set_limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # an error from write(), not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))
    return set_limit

def _unwritable(tmp_path:Path)->Path:
    "An existing folder this process cannot write into."
    if os.geteuid() != 0:
        d = tmp_path/'ro'; d.mkdir(); d.chmod(0o500); return d
    d = Path('/sys/fs')   # root writes anywhere but in sysfs
    try: (d/'.probe').write_text('')
    except OSError: return d
    pytest.skip('no unwritable folder here')

def _trained(r)->bool: return 'training' in r.stdout


def test_unwritable_out_is_refused_before_training(tmp_path, capsys):
    code, out, err = _main(capsys, *QUICK, '--out', str(_unwritable(tmp_path)))
    assert code == 2 and 'cannot hold the results' in err and 'Traceback' not in err, err[-2000:]
    assert 'training' not in out, out[-2000:]

def test_a_full_disk_is_found_before_training(tmp_path):
    r = _bench(*QUICK, '--out', str(tmp_path/'o'), preexec_fn=_file_limit(1024))
    assert r.returncode == 2 and 'cannot hold the results' in r.stderr, r.stderr[-2000:]
    assert not _trained(r), r.stdout[-2000:]

def _whole(out:Path):
    "Every file in `out` is complete: no temporary file left, JSON and CSV parse, PNGs end with their IEND chunk."
    for p in out.rglob('*'):
        if p.is_dir() or p.name == '.bench.lock': continue
        assert not p.name.endswith('.tmp'), p
        if p.suffix == '.json': json.loads(p.read_text())
        if p.suffix == '.csv': pd.read_csv(p)
        if p.suffix == '.png': assert p.read_bytes().endswith(b'IEND\xaeB`\x82'), f'{p} is cut short'

def test_a_disk_filling_during_a_plot_leaves_every_file_whole(tmp_path, monkeypatch):
    "The disk fills while the second seed's plot replaces the first's: the first stays, whole; so does every table."
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from robustmm import cli
    real, figures = FigureCanvasAgg.print_png, []
    def full_disk(self, f, **kwargs):
        if self.figure not in figures: figures.append(self.figure)
        if figures.index(self.figure) < 2:   # the first seed's two plots
            return real(self, f, **{k: v for k, v in kwargs.items() if k in ('metadata', 'pil_kwargs')})
        with ExitStack() as stack:
            fh = stack.enter_context(open(f, 'wb')) if isinstance(f, (str, os.PathLike)) else f
            fh.write(b'\x89PNG\r\n\x1a\n')
            raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(FigureCanvasAgg, 'print_png', full_disk)
    with pytest.raises(OSError, match='could not write the results into .*No space left on device'):
        cli.run_bench(['late'], 'all', 'synthetic', epochs=1, out=tmp_path, levels=(0., 1.), quiet=True, seeds=[0, 1])
    _whole(tmp_path)
    assert pd.read_csv(tmp_path/'summary.csv', index_col=0).loc['late', 'seeds'] == 2   # the tables came first

@pytest.mark.slow
def test_two_runs_on_one_out_cannot_both_succeed(tmp_path):
    out = str(tmp_path/'o')
    ps = [subprocess.Popen(_cmd(*QUICK, '--out', out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
          for _ in range(2)]
    res = [(p.wait(timeout=600), *p.communicate()) for p in ps]
    assert sorted(c for c, _, _ in res) == [0, 2], [(c, e[-800:]) for c, _, e in res]
    loser = next(e for c, _, e in res if c == 2)
    assert 'another robustmm bench is writing to' in loser or 'pass --overwrite' in loser, loser[-2000:]
    r = _bench(*QUICK, '--out', out)   # a finished run's folder
    assert r.returncode == 2 and 'pass --overwrite' in r.stderr and not _trained(r), r.stderr[-2000:]
    assert _bench(*QUICK, '--out', out, '--overwrite').returncode == 0

def test_a_method_named_twice_is_refused(tmp_path, capsys):
    code, out, err = _main(capsys, *QUICK, '--methods', 'late,concat,late', '--out', str(tmp_path/'o'))
    assert code == 2 and 'named more than once: late' in err and 'training' not in out, err[-2000:]

def test_the_batch_must_split_over_the_processes(tmp_path, monkeypatch):
    from robustmm import cli
    monkeypatch.setattr(cli, 'world_size', lambda: 3)   # three processes of a launch, seen from one of them
    monkeypatch.setattr(cli, 'init_distributed', lambda: False)
    with pytest.raises(ValueError, match=r'--bs 64 must be a multiple of the 3 processes of this launch.*--bs 63'):
        cli.run_bench(['late'], 'missing', 'synthetic', epochs=1, out=tmp_path/'a', quiet=True)
    assert not (tmp_path/'a'/'results.json').exists()
    with pytest.raises(ValueError, match=r'--bs 13 \(the training split has 13 rows, fewer than --bs 64\)'):
        cli._check_bs(64, 13)
    monkeypatch.undo()   # one process again: the option reaches the run
    cli.run_bench(['late'], 'missing', 'synthetic', epochs=1, out=tmp_path/'b', quiet=True, bs=32)
    assert json.loads((tmp_path/'b/results.json').read_text())['meta']['bs'] == 32

@pytest.mark.slow
def test_three_processes_and_bs_64_stop_before_training(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '3', '-m',
                        'robustmm', 'bench', *QUICK[:-2], '--out', str(tmp_path/'o')], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode != 0 and 'must be a multiple of the 3 processes' in r.stderr, r.stderr[-3000:]
    assert not _trained(r) and not (tmp_path/'o'/'results.json').exists()

def _manifest(root:Path, corrupt:bool=True)->Path:
    "Tones and pictures of two classes with a fixed split; the sixth training clip (when `corrupt`) a damaged FLAC."
    import soundfile as sf
    from robustmm import datasets as D
    rows = []
    for i in range(50):
        D._tone(root/f's{i}.wav', 200 + 200*(i % 2), seed=i); D._image(root/f'p{i}.png', 0.2 + 0.5*(i % 2), seed=i)
        rows.append({'sound': f's{i}.wav', 'picture': f'p{i}.png', 'y': ['no', 'yes'][i % 2],
                     'split': 'train' if i < 30 else 'valid' if i < 40 else 'test'})
    pd.DataFrame(rows).to_csv(root/'manifest.csv', index=False)
    if corrupt:   # a FLAC stream under a .wav name, damaged after its header: it opens, its samples do not decode
        p = root/'s5.wav'; w, sr = sf.read(p); sf.write(p, w, sr, format='FLAC')
        b = bytearray(p.read_bytes()); b[100:-10] = np.random.default_rng(0).bytes(len(b) - 110)
        p.write_bytes(bytes(b))
    return root/'manifest.csv'

@pytest.mark.slow
def test_a_file_that_cannot_be_decoded_is_named_and_the_run_goes_on(tmp_path):
    csv = _manifest(tmp_path)
    r = _bench('--dataset', str(csv), '--methods', 'late,concat', '--epochs', '1', '--protocol', 'missing',
               '--device', 'cpu', '--num-workers', '2', '--out', str(tmp_path/'o'))
    assert r.returncode == 1, r.stderr[-3000:]
    assert 'Traceback' not in r.stderr and 'str() failed' not in r.stderr, r.stderr[-3000:]
    assert f'cannot read {tmp_path/"s5.wav"}' in r.stderr, r.stderr[-3000:]
    assert '[2/2] concat: training' in r.stdout                      # the next method still ran
    res = json.loads((tmp_path/'o'/'results.json').read_text())     # and the tables were written
    assert set(res['failed']) == {'late', 'concat'} and 'cannot read' in res['failed']['late']
    assert (tmp_path/'o'/'summary.csv').exists() and (tmp_path/'o'/'README.md').exists()

@pytest.mark.slow
def test_a_file_that_cannot_be_decoded_stops_a_launch_without_hanging(tmp_path):
    csv = _manifest(tmp_path)
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '-m',
                        'robustmm', 'bench', '--dataset', str(csv), '--methods', 'late,concat', '--epochs', '1',
                        '--protocol', 'missing', '--num-workers', '2', '--bs', '10', '--out', str(tmp_path/'o')],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert f'cannot read {tmp_path/"s5.wav"}' in r.stderr and 'str() failed' not in r.stderr, r.stderr[-3000:]

def test_threads_and_input_sizes_are_options(tmp_path, capsys):
    csv = _manifest(tmp_path, corrupt=False)
    code, _, err = _main(capsys, '--dataset', str(csv), '--methods', 'late', '--epochs', '1', '--protocol', 'missing',
                         '--device', 'cpu', '--threads', '2', '--image-size', '12,16', '--audio-rate', '4000',
                         '--audio-seconds', '0.25', '--quiet', '--out', str(tmp_path/'o'))
    assert code == 0, err[-3000:]
    meta = json.loads((tmp_path/'o'/'results.json').read_text())['meta']
    assert meta['threads'] == 2 and meta['shapes']['picture'] == [3, 12, 16]
    assert meta['shapes']['sound'] == [1, 65, 16]   # 0.25 s at 4 kHz: 1000 samples, 32 ms windows (128) hopped by 64
    for args, msg in [(['--image-size', '32'], '--image-size sizes the files of a .csv manifest'),
                      (['--threads', '0'], 'threads must be a positive integer'),
                      (['--image-size', '0'], 'expected a side or H,W > 0')]:
        code, _, err = _main(capsys, *QUICK, *args, '--out', str(tmp_path/'x'))
        assert code == 2 and msg in err and 'Traceback' not in err, (args, err[-2000:])

def test_the_default_threads(monkeypatch):
    from robustmm.cli import cli_threads, DEFAULT_THREADS
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    assert cli_threads() == DEFAULT_THREADS and cli_threads(3) == 3
    monkeypatch.setenv('OMP_NUM_THREADS', '2')
    assert cli_threads() == 2

EPOCH = re.compile(r'^\s+\d+\s+-?\d+\.\d+\s')   # an epoch row of the log: its number, then the training loss

@pytest.mark.parametrize('merged', [False, pytest.param(True, marks=pytest.mark.slow)])
def test_a_log_gets_one_line_per_epoch_and_method(tmp_path, merged):
    "`robustmm bench > log.txt` and `robustmm bench 2>&1 | cat`: no bar redraws, one line per epoch of each method."
    r = subprocess.run(_cmd('--dataset', 'synthetic', '--methods', 'late,concat', '--epochs', '3',
                            '--protocol', 'missing', '--device', 'cpu', '--out', str(tmp_path/'o')),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merged else subprocess.PIPE, text=True)
    assert r.returncode == 0, (r.stderr or r.stdout)[-2000:]
    log = r.stdout + (r.stderr or '')
    assert '\r' not in log and '\x1b' not in log
    lines = r.stdout.splitlines()
    assert sum(bool(EPOCH.match(line)) for line in lines) == 2*3, r.stdout
    assert sum(line.split()[:2] == ['epoch', 'train_loss'] for line in lines) == 2   # one header per method
