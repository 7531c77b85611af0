"""Write README.md from nbs/index.ipynb without quarto (nbdev's `proc_nbs` + nbconvert markdown).

    python tools/make_readme.py          # write README.md
    python tools/make_readme.py --check  # exit 1 if README.md is not up to date
"""
import sys, re
import yaml
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter
from nbdev.serve import proc_nbs

ROOT = Path(__file__).resolve().parents[1]

def render() -> str:
    "README text rendered from the docs-processed nbs/index.ipynb."
    proc = Path(proc_nbs(ROOT/'nbs', file_glob='index.ipynb'))
    nb = nbformat.read(proc/'index.ipynb', as_version=4)
    front = nb.cells.pop(0).source if nb.cells and nb.cells[0].cell_type == 'raw' else ''
    meta = yaml.safe_load(front.strip().strip('-')) or {} if front else {}
    for c in nb.cells:  # keep text outputs only: README has no place for the images
        if c.cell_type == 'code':
            c.outputs = [o for o in c.get('outputs', [])
                         if not ('data' in o and any(k.startswith('image/') for k in o['data']))]
    body, _ = MarkdownExporter().from_notebook_node(nb)
    head = f"# {meta.get('title', 'robustmm')}\n\n"
    if meta.get('description'): head += '> ' + ' '.join(str(meta['description']).split()) + '\n\n'
    head += "<!-- generated from nbs/index.ipynb by tools/make_readme.py: do not edit -->\n\n"
    body = re.sub(r'\n{3,}', '\n\n', body).strip() + '\n'
    return head + body

def main(argv):
    text, readme = render(), ROOT/'README.md'
    if '--check' in argv:
        if not readme.exists() or readme.read_text() != text:
            print('README.md is out of date: run `python tools/make_readme.py`'); return 1
        print('README.md is up to date'); return 0
    readme.write_text(text); print(f'wrote {readme}'); return 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
