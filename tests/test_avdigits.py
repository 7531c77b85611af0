("AV-digits: the shipped file is what build_avdigits makes from the FSDD recordings; "
 "splits are disjoint by speaker and by image.")
from pathlib import Path
import numpy as np, pytest
from robustmm.avdigits import build_avdigits, load_avdigits, _avdigits_path, AVDIGITS_TEST_SPEAKERS

FSDD = Path(__file__).parents[2]/'shared'/'data'/'fsdd'/'recordings'

@pytest.mark.skipif(not FSDD.exists(), reason='needs ../shared/data/fsdd beside the repository')
def test_shipped_file_rebuilds_from_the_recordings(tmp_path):
    new = build_avdigits(FSDD, tmp_path/'av.npz')
    with np.load(_avdigits_path()) as f: old = {k: f[k] for k in f.files}
    assert set(new) == set(old)
    for k in ('y', 'split', 'speaker', 'recording', 'image_row', 'components_removed'):
        np.testing.assert_array_equal(new[k], old[k])
    np.testing.assert_allclose(new['image'].astype(np.float32), old['image'].astype(np.float32), atol=2e-3)
    d = np.abs(new['audio'].astype(np.float32) - old['audio'].astype(np.float32))
    assert d.max() < 2e-2 and d.mean() < 1e-3   # float16 rounding of STFTs computed on another machine
    assert load_avdigits(tmp_path/'av.npz').test.y.tolist() == load_avdigits().test.y.tolist()

def test_splits_are_disjoint():
    with np.load(_avdigits_path()) as f: split, spk, rows = f['split'], f['speaker'], f['image_row']
    assert set(spk[split == 'test']) == set(AVDIGITS_TEST_SPEAKERS)
    assert not set(spk[split == 'test']) & set(spk[split != 'test'])
    for a, b in (('train', 'valid'), ('train', 'test'), ('valid', 'test')):
        assert not set(rows[split == a]) & set(rows[split == b])
    av = load_avdigits()
    assert (len(av.train), len(av.valid), len(av.test)) == (1600, 400, 1000)
