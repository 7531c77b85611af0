"""Your own data, fast and safe (issue 22): inputs sized to the data, and bad input refused where it enters, naming the
file, line, key or value. Every test here failed on the code before the issue (see the report of the h-data branch)."""
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
import soundfile as sf
from PIL import Image
from robustmm import core, media, datasets as D
from robustmm.data import read_mfeat, MultimodalDataLoaders, MFEAT_VIEWS

SR = 8000
FSDD = Path(__file__).resolve().parents[2]/'shared'/'data'/'fsdd'/'recordings'

def _wave(path, seconds=0.4, freq=300., sr=SR, seed=0):
    t = np.arange(int(sr*seconds))/sr
    wave = 0.4*np.sin(2*np.pi*freq*t) + np.random.default_rng(seed).normal(0, 0.05, len(t))
    sf.write(path, wave.astype(np.float32), sr)

def _grey(path, value=0.5, size=(28, 28), seed=0):
    a = np.clip(value*255 + np.random.default_rng(seed).normal(0, 20, size), 0, 255).astype(np.uint8)
    Image.fromarray(a).save(path)

def _manifest(root, n=40, labels=None, extra=None, split=True, **cols):
    "A manifest of n rows: a clip and a grey image per row (label-dependent), `labels` as written, columns of `extra`."
    rows = []
    for i in range(n):
        k = i % 2
        _wave(root/f's{i}.wav', 0.3 + 0.01*(i % 10), 300 + 300*k, seed=i); _grey(root/f'p{i}.png', 0.2 + 0.5*k, seed=i)
        r = {'sound': f's{i}.wav', 'picture': f'p{i}.png', 'y': k if labels is None else labels[i]}
        if split: r['split'] = 'test' if i >= n*3//4 else 'train'
        r.update({c: v[i] for c, v in (extra or {}).items()})
        rows.append(r)
    pd.DataFrame(rows).to_csv(root/'manifest.csv', index=False)
    return root/'manifest.csv'

def _train(d, epochs=2):
    from robustmm.learner import fusion_learner
    dls = MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=8, device='cpu', seed=0)
    learn = fusion_learner(dls, 'late')
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 3e-3)
    return learn

# --- 1. inputs sized to the data ----------------------------------------------------------------------------

def test_manifest_defaults_to_the_datas_own_sizes(tmp_path):
    m = D.load_manifest(_manifest(tmp_path))
    # 8 kHz clips of 0.30-0.39 s: their own rate and 95th-percentile length, a 32 ms STFT; grey 28 x 28 images stay so
    assert m.train.readers['sound'].sr == 8000 and m.train.readers['sound'].duration == 0.39
    assert m.train.shapes == {'sound': (1, 129, 25), 'picture': (1, 28, 28)}
    assert m.train[0][0].shape == (1, 129, 25) and m.train[0][1].shape == (1, 28, 28)

def test_manifest_sizes_can_be_set(tmp_path):
    m = D.load_manifest(_manifest(tmp_path), image_size=16, image_mode='RGB', audio_rate=16000, audio_seconds=0.5)
    assert m.train.shapes == {'sound': (1, 257, 32), 'picture': (3, 16, 16)}
    m = D.load_manifest(tmp_path/'manifest.csv', audio=dict(sr=8000, duration=1.0, n_fft=64, hop=32))   # the older dict
    assert m.train.shapes['sound'] == (1, 33, 251)
    with pytest.raises(ValueError, match=r"audio_rate=16000 contradicts audio\['sr'\]=8000"):
        D.load_manifest(tmp_path/'manifest.csv', audio_rate=16000, audio=dict(sr=8000))
    with pytest.raises(ValueError, match="image_mode must be 'L'"):
        D.load_manifest(tmp_path/'manifest.csv', image_mode='CMYK')

def test_image_size_rule_most_common_size_capped(tmp_path):
    paths = []
    for i, size in enumerate([(300, 600)]*3 + [(10, 10)]*2):
        p = tmp_path/f'{i}.png'; Image.fromarray(np.zeros((*size, 3), np.uint8)).save(p); paths.append(p)
    assert D.image_settings(paths) == {'size': (112, 224), 'mode': 'RGB'}   # the long side at most 224, aspect kept
    assert D.image_settings(paths[3:]) == {'size': (10, 10), 'mode': 'RGB'}

def test_audio_settings_rule(tmp_path):
    paths = []
    for i, s in enumerate([0.2]*18 + [0.5, 5.0]):
        _wave(tmp_path/f'{i}.wav', s); paths.append(tmp_path/f'{i}.wav')
    s = D.audio_settings(paths)
    assert s == dict(sr=8000, duration=0.73, n_fft=256, hop=128)   # the 95th percentile, not the 5 s outlier
    _wave(tmp_path/'hi.wav', 0.2, sr=44100)
    assert D.audio_settings([tmp_path/'hi.wav'])['sr'] == 22050   # capped at the papers' rate

@pytest.mark.skipif(not FSDD.exists(), reason='needs ../shared/data/fsdd beside the repository')
def test_digits_fixture_is_small_and_real(tmp_path):
    csv = D.write_digits_fixture(tmp_path, FSDD, n=40)
    m = D.load_manifest(csv)
    assert len(pd.read_csv(csv)) == 40 and m.train.readers['audio'].sr == 8000
    assert m.train.shapes['image'] == (1, 28, 28) and m.train.shapes['audio'][:2] == (1, 129)

def test_paper_readers_keep_the_papers_sizes(tmp_path):
    cd = D.load_cremad(D.write_cremad_fixture(tmp_path/'cremad'), size=32)
    assert cd.train.shapes['audio'] == (1, 257, 188)

# --- 2. labels ----------------------------------------------------------------------------------------------

def test_manifest_blank_label_is_an_error_naming_the_line(tmp_path):
    labels = [i % 2 for i in range(40)]; labels[5] = ''
    with pytest.raises(ValueError, match=r"column 'y': blank labels: line 7 \(''\)"):
        D.load_manifest(_manifest(tmp_path, labels=labels))

def test_manifest_stray_name_among_integers_is_an_error(tmp_path):
    labels = [str(i % 12) for i in range(40)]; labels[9] = 'x'
    with pytest.raises(ValueError, match=r"labels mix integers and names \(a typo\?\): line 11 \('x'\)"):
        D.load_manifest(_manifest(tmp_path, labels=labels))

def test_manifest_fractional_labels_are_an_error(tmp_path):
    labels = [float(i % 2) for i in range(40)]; labels[3] = 1.5
    with pytest.raises(ValueError, match=r"not fractions: line 5 \('1.5'\)"):
        D.load_manifest(_manifest(tmp_path, labels=labels))

def test_integer_labels_keep_numeric_order(tmp_path):
    labels = [[2, 10, 1][i % 3] for i in range(40)]
    m = D.load_manifest(_manifest(tmp_path, labels=labels))
    assert m.train.class_names == ['1', '2', '10'] and m.train.n_classes == 3
    row = [int(r['sound'].stem[1:]) for r in m.train.records]
    assert m.train.y.tolist() == [{1: 0, 2: 1, 10: 2}[labels[i]] for i in row]   # the k-th smallest: '10' after '2'

def test_names_are_sorted_into_classes(tmp_path):
    m = D.load_manifest(_manifest(tmp_path, labels=[['dog', 'cat'][i % 2] for i in range(40)]))
    assert m.train.class_names == ['cat', 'dog']

def test_npz_column_vector_labels_are_class_labels(tmp_path):
    np.savez(tmp_path/'a.npz', a=np.random.default_rng(0).normal(size=(50, 3)), y=(np.arange(50) % 2)[:, None])
    d = D.load_npz(tmp_path/'a.npz')
    assert d.train.task == 'classification' and d.train.y.ndim == 1

def test_npz_fractional_and_blank_labels_are_errors(tmp_path):
    x = np.zeros((6, 2))
    np.savez(tmp_path/'f.npz', a=x, y=np.array([0, 1, 0.5, 1, 0, 1]))
    with pytest.raises(ValueError, match=r"array 'y' in .*f.npz: labels must be integers or class names, "
                                         r"not fractions: row 2 \(0.5\)"):
        D.load_npz(tmp_path/'f.npz')
    np.savez(tmp_path/'b.npz', a=x, y=np.array([0, 1, np.nan, 1, 0, 1]))
    with pytest.raises(ValueError, match=r"blank labels: row 2"): D.load_npz(tmp_path/'b.npz')

# --- 2b. what a .npz holds ----------------------------------------------------------------------------------

def _xy(n=60, d=4, seed=0): return np.random.default_rng(seed).normal(size=(n, d)), np.arange(n) % 3

def test_npz_object_array_is_an_error_naming_the_key(tmp_path):
    x, y = _xy()
    np.savez(tmp_path/'r.npz', a=x, b=np.array([np.zeros(i % 3 + 1) for i in range(60)], dtype=object), y=y)
    with pytest.raises(ValueError, match=r"array 'b' in .*r.npz is an object array"): D.load_npz(tmp_path/'r.npz')
    with pytest.raises(ValueError, match=r"array 'b' in .*r.npz holds object values"):
        D.load_npz(tmp_path/'r.npz', allow_pickle=True)

def test_npz_rows_must_match_the_labels(tmp_path):
    x, y = _xy()
    np.savez(tmp_path/'n.npz', a=x, b=x[:50], y=y)
    with pytest.raises(ValueError, match=r"array 'b' in .*n.npz has 50 rows for 60 labels"):
        D.load_npz(tmp_path/'n.npz')
    np.savez(tmp_path/'s.npz', a=x, y=y, split=np.array(['train']*40 + ['test']*10))   # a split of 50 rows for 60
    with pytest.raises(ValueError, match='the split has 50 values for 60 rows'): D.load_npz(tmp_path/'s.npz')
    np.savez(tmp_path/'z.npz', a=x, scale=np.float64(2.), y=y)
    with pytest.raises(ValueError, match=r"array 'scale' in .*z.npz is a single value"): D.load_npz(tmp_path/'z.npz')

def test_npz_mask_is_never_a_modality(tmp_path):
    x, y = _xy()
    np.savez(tmp_path/'m.npz', a=x, b=x, mask=np.ones((60, 2)), y=y)
    with pytest.raises(ValueError, match=r"array 'mask' in .*m.npz looks like a presence mask"):
        D.load_npz(tmp_path/'m.npz')
    np.savez(tmp_path/'k.npz', a=x, b=x, keep=np.ones((60, 2), bool), y=y)
    with pytest.raises(ValueError, match=r"array 'keep' in .*k.npz is boolean"): D.load_npz(tmp_path/'k.npz')
    assert D.load_npz(tmp_path/'m.npz', modalities=['a', 'b']).train.names == ['a', 'b']   # chosen explicitly

def test_npz_presence_is_per_sample_presence(tmp_path):
    x, y = _xy()
    pres = np.ones((60, 2), bool); pres[::4, 1] = False
    np.savez(tmp_path/'p.npz', a=x, b=x, presence=pres, y=y)
    d = D.load_npz(tmp_path/'p.npz')
    assert d.train.names == ['a', 'b'] and d.test.presence.dtype == torch.bool
    assert d.test.presence.shape == (len(d.test), 2)
    np.savez(tmp_path/'q.npz', a=x, b=x, presence=np.zeros((60, 2)), y=y)
    with pytest.raises(ValueError, match=r"array 'presence' in .*q.npz: rows \[0, 1, 2, 3, 4\] have no modality"):
        D.load_npz(tmp_path/'q.npz')

def test_npz_non_finite_values_name_the_key_and_count(tmp_path):
    x, y = _xy(); x2 = x.copy(); x2[3, 1] = np.nan; x2[7, 0] = np.inf
    np.savez(tmp_path/'n.npz', a=x, b=x2, y=y)
    with pytest.raises(ValueError, match=r"array 'b' in .*n.npz contains 2 non-finite values"):
        D.load_npz(tmp_path/'n.npz')

def test_npz_one_number_per_row_is_an_error_naming_the_key(tmp_path):
    x, y = _xy()
    np.savez(tmp_path/'v.npz', a=x, b=x[:, 0], y=y)
    with pytest.raises(ValueError, match=r"array 'b' in .*v.npz has shape \(60,\).*reshape it to \(N, 1\)"):
        D.load_npz(tmp_path/'v.npz')

# --- 2c. non-finite values in files -------------------------------------------------------------------------

def test_nan_in_a_wav_file_is_an_error_naming_the_file(tmp_path):
    csv = _manifest(tmp_path)
    w = np.zeros(3200, np.float32); w[100] = np.nan
    sf.write(tmp_path/'s2.wav', w, SR, subtype='FLOAT')
    m = D.load_manifest(csv)
    i = next(i for i, r in enumerate(m.train.records) if r['sound'].name == 's2.wav')
    with pytest.raises(ValueError, match=r"s2.wav contains 1 non-finite samples .*modality 'sound'"): m.train[i]

def test_nan_in_npy_depth_and_float_image_files_names_the_file(tmp_path):
    np.save(tmp_path/'v.npy', np.array([1., np.nan], np.float32))
    with pytest.raises(ValueError, match=r"v.npy contains 1 non-finite values"):
        media.NpyReader('v')({'v': tmp_path/'v.npy'})
    np.save(tmp_path/'d.npy', np.full((4, 4), np.nan, np.float32))
    with pytest.raises(ValueError, match=r"d.npy contains 16 non-finite depths"):
        media.DepthReader()({'depth': tmp_path/'d.npy'})
    Image.fromarray(np.array([[0.5, np.nan]], np.float32), 'F').save(tmp_path/'f.tif')
    with pytest.raises(ValueError, match=r"f.tif contains 1 non-finite pixels"):
        media.load_image(tmp_path/'f.tif', mode='L')

def test_nan_in_a_manifest_npy_file_names_the_file(tmp_path):
    extra = {'feat': [f'v{i}.npy' for i in range(40)]}
    for i in range(40): np.save(tmp_path/f'v{i}.npy', np.full(3, i % 2, np.float32))
    np.save(tmp_path/'v35.npy', np.array([0., np.nan, 1.], np.float32))   # a test row: read only when the test split is
    m = D.load_manifest(_manifest(tmp_path, extra=extra))
    i = next(i for i, r in enumerate(m.test.records) if r['feat'].name == 'v35.npy')
    with pytest.raises(ValueError, match=r"v35.npy contains 1 non-finite values"): m.test[i]

# --- 2d. mfeat folders --------------------------------------------------------------------------------------

def test_mfeat_csv_labels_must_agree(tmp_path):
    views, y = read_mfeat()
    for v in MFEAT_VIEWS:
        lab = np.roll(y, 1) if v == 'zer' else y
        np.savetxt(tmp_path/f'mfeat-{v}.csv', np.c_[views[v], lab], fmt='%.6g', delimiter=',', header='x', comments='')
    with pytest.raises(ValueError, match=r"labels of mfeat-zer.csv disagree with those of mfeat-fou.csv on 10 rows"):
        read_mfeat(tmp_path)

def test_mfeat_raw_files_must_have_the_expected_rows(tmp_path):
    views, _ = read_mfeat()
    for v in MFEAT_VIEWS: np.savetxt(tmp_path/f'mfeat-{v}', views[v][:1999] if v == 'kar' else views[v], fmt='%.6g')
    with pytest.raises(ValueError, match=r"mfeat-kar has 1999 rows of 64 values; the mfeat view 'kar' has 2000 rows"):
        read_mfeat(tmp_path)
    (tmp_path/'mfeat-kar').write_text('1 2 3\n4 5\n')
    with pytest.raises(ValueError, match=r"mfeat-kar is not an mfeat table"): read_mfeat(tmp_path)

# --- 2e. subset indices -------------------------------------------------------------------------------------

def test_subset_indices_must_be_integers():
    with pytest.raises(TypeError, match='modality indices must be integers'): core.subset_index([1.7], n_modalities=3)
    with pytest.raises(TypeError, match='boolean'): core.subset_index([True], n_modalities=3)
    with pytest.raises(ValueError, match=r"unknown modality '1' \(an index is an integer: 1"):
        core.subset_index(['1'], n_modalities=3)
    assert core.subset_index([np.int64(2), torch.tensor(0)], n_modalities=3) == (0, 2)
    assert core.subset_index(np.int64(1), n_modalities=3) == (1,)

# --- 3. text and series -------------------------------------------------------------------------------------

def test_npz_series_trains_with_the_series_encoder(tmp_path):
    from robustmm.series import SeriesEncoder
    rng = np.random.default_rng(0); y = np.arange(80) % 2
    motion = rng.normal(size=(80, 3, 40)) + 5 + 2*y[:, None, None]
    np.savez(tmp_path/'s.npz', motion=motion, extra=rng.normal(size=(80, 6)), y=y)
    d = D.load_npz(tmp_path/'s.npz')
    assert d.train.kinds == ['series', 'vector'] and d.train.shapes['motion'] == (3, 40)
    torch.testing.assert_close(d.train.xs[0].mean((0, 2)), torch.zeros(3), atol=1e-5, rtol=0)   # per channel, on train
    learn = _train(d)
    assert isinstance(learn.model.encoders[0], SeriesEncoder)

def test_npz_strings_are_a_text_modality(tmp_path):
    from robustmm.text import TextEncoder
    rng = np.random.default_rng(0); y = np.arange(80) % 2
    notes = np.array([['a calm quiet note', 'a loud sharp note'][k] for k in y])
    np.savez(tmp_path/'t.npz', note=notes, x=rng.normal(size=(80, 4)), y=y)
    d = D.load_npz(tmp_path/'t.npz')
    assert d.train.kinds == ['text', 'vector'] and d.train.vocabs['note'].unit == 'word'
    assert d.train.shapes['note'] == (4,)
    assert isinstance(_train(d).model.encoders[0], TextEncoder)
    np.savez(tmp_path/'t2.npz', note=np.array([[t, t] for t in notes]), y=y)
    with pytest.raises(ValueError, match=r"array 'note' in .*t2.npz: a text modality is one string per row"):
        D.load_npz(tmp_path/'t2.npz')

def test_manifest_text_column_trains_with_the_text_encoder(tmp_path):
    from robustmm.text import TextEncoder
    notes = [['a calm quiet note', 'a loud sharp note'][i % 2] for i in range(40)]
    m = D.load_manifest(_manifest(tmp_path, extra={'note': notes}))
    assert m.train.kinds == ['audio', 'image', 'text'] and m.train.shapes['note'] == (4,)
    assert m.train.vocabs['note'].tokens[2:] == ['a', 'note', 'calm', 'loud', 'quiet', 'sharp']   # from training rows
    learn = _train(m)
    assert isinstance(learn.model.encoders[2], TextEncoder)
    m2 = D.load_manifest(tmp_path/'manifest.csv', text_columns=['note'], text=dict(unit='char', max_len=8))
    assert m2.train.shapes['note'] == (8,) and m2.train.vocabs['note'].unit == 'char'

def test_manifest_npy_series_standardised_on_train(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(40): np.save(tmp_path/f'w{i}.npy', (rng.normal(size=(2, 30)) + [[10.], [-3.]]).astype(np.float32))
    m = D.load_manifest(_manifest(tmp_path, extra={'motion': [f'w{i}.npy' for i in range(40)]}))
    assert m.train.kinds[2] == 'series' and m.train.shapes['motion'] == (2, 30)
    x = torch.stack([m.train[i][2] for i in range(len(m.train))])
    torch.testing.assert_close(x.mean((0, 2)), torch.zeros(2), atol=1e-4, rtol=0)

def test_manifest_columns_that_are_neither_files_nor_text(tmp_path):
    m = _manifest(tmp_path, extra={'age': [20 + i for i in range(40)]})
    with pytest.raises(ValueError, match=r"column 'age' holds numbers, not file paths or text"): D.load_manifest(m)
    assert D.load_manifest(m, text_columns=['age']).train.kinds[2] == 'text'
    (tmp_path/'a.xyz').write_text('?')
    m = _manifest(tmp_path, extra={'odd': ['a.xyz']*40})
    with pytest.raises(ValueError, match=r"column 'odd' names files or folders robustmm has no reader for .*'a.xyz'"):
        D.load_manifest(m)
    (tmp_path/'clips').mkdir()
    with pytest.raises(ValueError, match=r"column 'frames' names files or folders"):
        D.load_manifest(_manifest(tmp_path, extra={'frames': ['clips']*40}))
    m = _manifest(tmp_path, extra={'pic2': [f'p{i}.png' for i in range(39)] + ['']})
    with pytest.raises(ValueError, match=r"column 'pic2' holds image files, but not on every line: line 41 \(''\)"):
        D.load_manifest(m)
