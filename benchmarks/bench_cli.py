"""Wall time and peak memory of `robustmm bench` (the README's first command), run as a child process.

    python benchmarks/bench_cli.py [-- extra robustmm bench options]

Peak memory is the child's maximum resident set size (`getrusage(RUSAGE_CHILDREN).ru_maxrss`).
"""
import resource, subprocess, sys, tempfile, time, json
from pathlib import Path
from _common import machine, save

def main():
    extra = sys.argv[sys.argv.index('--')+1:] if '--' in sys.argv else []
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ['robustmm', 'bench', '--out', tmp, *extra]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if r.returncode: sys.exit(f'robustmm bench failed ({r.returncode}):\n{r.stderr[-2000:]}')
        summary = json.loads((Path(tmp)/'results.json').read_text())
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024   # Linux reports KiB
    print(r.stdout[-3000:]); print(f'wall {wall:.1f} s, peak RSS {peak_mb:.0f} MB')
    save('cli', {'machine': machine(), 'command': ' '.join(['robustmm', 'bench', *extra]), 'wall_s': wall,
                 'peak_rss_mb': peak_mb,
                 'meta': summary['meta'], 'summary': summary['summary']})

if __name__ == '__main__': main()
