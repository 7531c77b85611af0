("Emoji-views: the shipped file is what build_emoji makes from the source; no group crosses splits; "
 "licences ship beside it.")
from collections import Counter
from pathlib import Path
import numpy as np, pytest
from robustmm.emoji import build_emoji, read_emoji, load_emoji, _emoji_path, EMOJI_CATEGORIES
from robustmm.text import tokenize

SRC = Path(__file__).parents[2]/'shared'/'data'/'emoji'

@pytest.mark.skipif(not SRC.exists(), reason='needs ../shared/data/emoji beside the repository')
def test_shipped_file_rebuilds_from_the_source(tmp_path):
    new = build_emoji(SRC, tmp_path/'emoji.npz')
    old = read_emoji()
    assert set(new) == set(old)
    for k in old:
        assert new[k].dtype == old[k].dtype, k
        np.testing.assert_array_equal(new[k], old[k], err_msg=k)   # exact: integer compositing, no tolerance
    again = read_emoji(tmp_path/'emoji.npz')
    for k in old: np.testing.assert_array_equal(again[k], old[k], err_msg=k)

def test_no_group_crosses_splits():
    a = read_emoji()
    for g in np.unique(a['group']): assert len(set(a['split'][a['group'] == g])) == 1, g
    em = load_emoji()
    groups = [set(d.group.tolist()) for d in em]
    assert not groups[0] & groups[1] and not groups[0] & groups[2] and not groups[1] & groups[2]
    assert sum(len(d) for d in em) == 1906 and set(a['split']) == {'train', 'valid', 'test'}
    # every category is in every split, near 60 / 20 / 20
    for d, lo, hi in zip(em, (0.55, 0.15, 0.15), (0.67, 0.26, 0.26)):
        share = np.bincount(d.y.numpy(), minlength=9)/np.bincount(a['y'], minlength=9)
        assert (share > lo).all() and (share < hi).all(), share

def test_load_emoji_and_its_vocabulary():
    em = load_emoji()
    assert em.train.names == ['google', 'twitter', 'name'] and em.train.class_names == list(EMOJI_CATEGORIES)
    assert em.train.shapes['google'] == (3, 32, 32) and em.test.shapes == em.train.shapes
    v = em.train.vocabs['name']
    assert em.valid.vocabs['name'] is v and em.test.vocabs['name'] is v
    counts = Counter(t for s in em.train.text for t in tokenize(str(s)))
    assert all(counts[t] >= 2 for t in v.tokens[2:])              # built on the training names only (min_freq 2)
    ids = em.test.xs[2]
    assert ids.dtype.is_floating_point and (ids == ids.round()).all() and ids.max() < len(v)
    a = read_emoji()
    assert not any('flag' in str(t).split() for t in a['text'])  # the category word is gone

def test_licences_ship_beside_the_data(root):
    folder = _emoji_path().parent
    files = {p.name for p in folder.iterdir()}
    assert {'emoji.npz', 'README.md', 'LICENSE-noto-emoji-Apache-2.0.txt', 'LICENSE-twemoji-graphics-CC-BY-4.0.txt',
            'LICENSE-emoji-data-MIT.txt'} <= files
    attribution = 'Twemoji graphics by Twitter, Inc. and other contributors, licensed under CC-BY 4.0.'
    assert attribution in (folder/'README.md').read_text()
    assert attribution in (folder/'LICENSE-twemoji-graphics-CC-BY-4.0.txt').read_text()
    assert 'Apache License' in (folder/'LICENSE-noto-emoji-Apache-2.0.txt').read_text()
    assert 'Cal Henderson' in (folder/'LICENSE-emoji-data-MIT.txt').read_text()
    assert '"assets/emoji/*"' in (root/'pyproject.toml').read_text()
