("CI runs the AV-digits evidence script in its one-seed, two-epoch form: every model trains, every measurement is "
 "written.")
import json, subprocess, sys
from pathlib import Path

BENCH = Path(__file__).parents[1]/'benchmarks'

def test_quick_run_writes_every_model(tmp_path):
    r = subprocess.run([sys.executable, 'bench_avdigits.py', '--quick', '--out', str(tmp_path)], cwd=BENCH,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path/'seed0.json').read_text())
    assert res['epochs'] == 2 and 'checkpoint' in res['protocol']
    want = {'image only', 'audio only', 'late fusion', 'late fusion + modality dropout',
            'static fusion (noise-trained)', 'empirical dynamic fusion',
            'UDML', 'UDML w/o dependence', 'common subspace', 'DMRNet', 'DMRNet w/o regulariser',
            'teacher (complete data)', 'plain distillation',
            'MMANet', 'one-stage', 'two-stage'}
    assert set(res['models']) == want
    for name, m in res['models'].items():
        assert set(m['test_subsets']) >= {'image', 'audio', 'image+audio'}, name
        # 3 corrupted sets x 7 levels x 2 fractions
        assert len(m['noise']) == 3*7*2 and len(m['missing']) == 5, name
        assert 0 <= m['clean'] <= 1
    assert {t.get('range') for t in res['models']['UDML']['tracking']} >= {'low', 'high'}
    assert res['models']['DMRNet']['hard_set'] and res['models']['MMANet']['weak_set']
    abl = json.loads((tmp_path/'ablations_seed0.json').read_text())
    assert set(abl['models']) == {'UDML w/o uncertainty weights', 'one-stage w/o joint adaptation',
                                  'MMANet, modality-dropout teacher'}
