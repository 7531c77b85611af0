"""The claims table: every paper's claim decided on every dataset's evidence run (benchmarks/bench_evidence.py).

    python benchmarks/bench_claims.py            # reads benchmarks/results/evidence/*/seed*.json

Writes benchmarks/results/claims.csv (one row per claim and dataset: method, strongest baseline, paired difference,
95 % interval, seeds, verdict) and its provenance beside it (which seed files, from which commits). The front door
(nbs/index.ipynb), the choosing-a-method tutorial and the evidence page read this file; nothing here trains.
"""
import sys
from pathlib import Path
from robustmm.evidence import claims_table, load_runs
from robustmm.results import save_table
sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS


def sources(root:Path)->dict:
    "Per dataset: the seeds and the commits their files were written from."
    out = {}
    for f in sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob('seed*.json'))):
        runs = load_runs(f)
        out[f.name] = dict(seeds=[r['seed'] for r in runs], epochs=sorted({r['epochs'] for r in runs}),
                           commits=sorted({str(r['machine'].get('commit')) for r in runs}))
    return out


def main(root=RESULTS/'evidence', out=RESULTS/'claims.csv'):
    claims = claims_table(root)
    save_table(claims, out, index=False, source='benchmarks/bench_claims.py', evidence=sources(Path(root)))
    print(claims[['dataset', 'claim', 'baseline', 'diff', 'lo', 'hi', 'seeds', 'verdict']].round(3)
          .to_string(index=False))
    print(f'wrote {out}')


if __name__ == '__main__': main()
