"""Remove console progress-bar streams (fastprogress outside Jupyter) from notebook outputs.

`nbdev-test --save` runs notebooks outside Jupyter, where fastprogress prints text bars; they bloat the
notebooks and the docs. Run after `nbdev-test --save`, before `nbdev-clean`:  python tools/strip_progress.py
"""
import sys
from pathlib import Path
import nbformat

def strip(path:Path)->bool:
    nb = nbformat.read(path, as_version=4); changed = False
    for c in nb.cells:
        if c.cell_type != 'code': continue
        keep = [o for o in c.outputs if not (o.get('output_type') == 'stream' and '\u2588' in o.get('text', ''))]
        if len(keep) != len(c.outputs): c.outputs, changed = keep, True
    if changed: nbformat.write(nb, path)
    return changed

if __name__ == '__main__':
    root = Path(__file__).resolve().parents[1]/'nbs'
    for p in sorted(root.rglob('*.ipynb')):
        if strip(p): print(f'stripped progress bars from {p.relative_to(root)}')
