"""Write nbs/sidebar.yml from the notebooks and the method registry (a new method's chain gets its section by itself).

    python tools/make_sidebar.py          # write nbs/sidebar.yml
    python tools/make_sidebar.py --check  # exit 1 if nbs/sidebar.yml is not up to date
"""
import re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
TUTORIALS = ('mfeat_walkthrough', 'own_data', 'avdigits_walkthrough', 'choosing_a_method', 'missing_sensor',
             'rgbd_segmentation', 'gpu_training')   # the reading order; other tutorials follow, by name
TOOLS = ('benchmarks', 'reliability')


def _chain_title(pkg:str)->str:
    "A method chain's section title: the title of the method (the recipe with a paper) its package registers."
    from robustmm.methods import recipes
    rs = sorted((r for r in recipes() if r.module == f'robustmm.{pkg}' and r.problem != 'baseline'),
                key=lambda r: (r.paper is None, r.order))
    return rs[0].title if rs else pkg


def sections()->list:
    nbs = sorted(p.name for p in NBS.glob('*.ipynb') if not p.name.startswith('_'))
    tut = sorted((p.stem for p in (NBS/'tutorials').glob('*.ipynb')),
                 key=lambda s: (TUTORIALS.index(s) if s in TUTORIALS else 99, s))
    out = [('Tutorials', [f'tutorials/{t}.ipynb' for t in tut]),
           ('Foundation', [n for n in nbs if re.match(r'0\d', n)])]
    chains = {}
    for n in nbs:
        m = re.match(r'([1-5])\d[a-z]?_([a-z0-9]+)', n)
        if m: chains.setdefault(m[2], []).append(n)
    out += [(_chain_title(pkg), ns) for pkg, ns in chains.items()]
    out += [('Evidence', ['evidence.ipynb']),
            ('Tools', [n for n in nbs if re.match(r'[6-9]\d', n)] + [f'{t}.ipynb' for t in TOOLS])]
    return out


def render()->str:
    lines = ['website:', '  sidebar:', '    contents:', '      - index.ipynb']
    for title, items in sections():
        lines += [f'      - section: {title}', '        contents:'] + [f'          - {i}' for i in items]
    return '\n'.join(lines) + '\n'


def main(argv):
    text, f = render(), NBS/'sidebar.yml'
    if '--check' in argv:
        if f.read_text() != text: print('nbs/sidebar.yml is out of date: run `python tools/make_sidebar.py`'); return 1
        print('nbs/sidebar.yml is up to date'); return 0
    f.write_text(text); print(f'wrote {f}'); return 0


if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
