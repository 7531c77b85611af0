"""File-backed data end to end: 2000 generated wav + png items through every method factory with worker processes,
every subset and noise level, and export / reload with identical predictions."""
import numpy as np, pandas as pd, pytest, torch
from PIL import Image
import soundfile as sf
from fastai.learner import load_learner
from robustmm.data import MultimodalDataLoaders, FileDataset
from robustmm.datasets import load_manifest
from robustmm.learner import fusion_learner
from robustmm.evaluate import evaluate_subsets, evaluate_noise
from robustmm.udml import udml_learner, dynamic_fusion_learner
from robustmm.learner import noisy_fusion_learner
from robustmm.dmrnet import dmrnet_learner, common_subspace_learner
from robustmm.mmanet import mmanet_learner, teacher_learner, plain_distillation_learner
from robustmm.onestage import privileged_teacher, onestage_learner

N, K, SR = 2000, 4, 8000
AUDIO = dict(sr=SR, duration=0.25, n_fft=64, hop=32)

@pytest.fixture(scope='module')
def av_files(tmp_path_factory):
    ("2000 items: a noisy tone whose pitch carries half the label, a noisy grey image whose brightness carries the "
     "other half.")
    root = tmp_path_factory.mktemp('av2000')
    rng = np.random.default_rng(0)
    t = np.arange(int(SR*0.2))/SR
    rows = []
    for i in range(N):
        y = i % K
        wave = 0.3*np.sin(2*np.pi*(300 + 500*(y % 2))*t) + rng.normal(0, 0.1, len(t))
        sf.write(root/f'{i:04d}.wav', wave.astype(np.float32), SR)
        img = np.clip(255*(0.3 + 0.4*(y//2)) + rng.normal(0, 40, (16, 16)), 0, 255).astype(np.uint8)
        Image.fromarray(img).convert('RGB').save(root/f'{i:04d}.png')
        rows.append({'sound': f'{i:04d}.wav', 'picture': f'{i:04d}.png', 'y': y,
                     'split': 'test' if i >= 1600 else 'train'})
    pd.DataFrame(rows).to_csv(root/'manifest.csv', index=False)
    return root

FACTORIES = {
    'late': lambda dls: fusion_learner(dls, 'late'),
    'concat': lambda dls: fusion_learner(dls, 'concat'),
    'late+dropout': lambda dls: fusion_learner(dls, 'late', modality_dropout='subsets'),
    'static': lambda dls: noisy_fusion_learner(dls, 'concat'),
    'dynamic': lambda dls: dynamic_fusion_learner(dls),
    'udml': lambda dls: udml_learner(dls),
    'common_subspace': lambda dls: common_subspace_learner(dls),
    'dmrnet': lambda dls: dmrnet_learner(dls),
    'teacher': lambda dls: teacher_learner(dls),
    'modality_dropout': lambda dls: common_subspace_learner(dls),
}

def _teacher(dls):
    t = teacher_learner(dls)
    with t.no_bar(), t.no_logging(): t.fit(1, 3e-3)
    return t.model

FACTORIES.update({
    'plain_distillation': lambda dls: plain_distillation_learner(dls, _teacher(dls)),
    'mmanet': lambda dls: mmanet_learner(dls, _teacher(dls)),
    'onestage': lambda dls: onestage_learner(dls, privileged_teacher(dls, 1, epochs=1), 0),
})

@pytest.fixture(scope='module')
def dls(av_files):
    d = load_manifest(av_files/'manifest.csv', audio=AUDIO, image_size=16)
    assert isinstance(d.train, FileDataset) and len(d.train) + len(d.valid) + len(d.test) == N
    assert d.train.kinds == ['audio', 'image'] and d.train.shapes == {'sound': (1, 33, 63), 'picture': (3, 16, 16)}
    dls = MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=64, num_workers=2, device='cpu', seed=0)
    dls.test = dls.test_dl(d.test)
    return dls

@pytest.mark.parametrize('name', list(FACTORIES))
def test_every_factory_trains_on_files_with_workers(name, dls, tmp_path):
    learn = FACTORIES[name](dls)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 3e-3)
    assert dls.train.fake_l.num_workers == 2 and dls.train._loader is not None   # decoded in worker processes
    subsets = evaluate_subsets(learn, dls.test)
    assert list(subsets.index) == ['sound', 'picture', 'sound+picture', 'mean', 'worst']
    noise = evaluate_noise(learn, dls.test, levels=(0., 1., 4.))
    assert len(noise) == 3*3 and noise.accuracy.between(0, 1).all()
    if name != 'onestage':   # one-stage deploys the first modality alone: half the label, so at most ~0.5
        assert subsets.loc['sound+picture', 'accuracy'] > 0.5, subsets   # chance is 0.25
    preds, _ = learn.get_preds(dl=dls.test)
    learn.export(tmp_path/'model.pkl')
    reloaded = load_learner(tmp_path/'model.pkl', cpu=True)
    assert reloaded.dls.train_ds.records == []        # the export carries no data rows
    preds2, _ = reloaded.get_preds(dl=dls.test)
    torch.testing.assert_close(preds, preds2, rtol=0, atol=0)

def test_every_factory_takes_the_resnet_depth_and_local_weights(tmp_path):
    ("arch picks the torchvision ResNet depth for image-like modalities (vectors keep an MLP); "
     "weights come from a local file.")
    import torchvision
    from robustmm.data import MultimodalDataset
    from robustmm.models import ResNetEncoder, VideoEncoder
    g = torch.Generator().manual_seed(0)
    mk = lambda n: MultimodalDataset([torch.randn(n, 4, generator=g), torch.randn(n, 1, 32, 32, generator=g),
                                      torch.randn(n, 2, 3, 32, 32, generator=g)],
                                     torch.arange(n) % 2, ['vec', 'spec', 'frames'], kinds=['vector', 'audio', 'video'])
    dls = MultimodalDataLoaders.from_dsets(mk(8), mk(4), bs=4, device='cpu')
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), tmp_path/'r34.pth')
    t = teacher_learner(dls, arch=34).model
    factories = [lambda **k: fusion_learner(dls, 'late', **k), lambda **k: noisy_fusion_learner(dls, 'concat', **k),
                 lambda **k: dynamic_fusion_learner(dls, **k),
                 lambda **k: udml_learner(dls, **k), lambda **k: common_subspace_learner(dls, **k),
                 lambda **k: dmrnet_learner(dls, **k),
                 lambda **k: teacher_learner(dls, **k), lambda **k: common_subspace_learner(dls, **k),
                 lambda **k: plain_distillation_learner(dls, t, **k), lambda **k: mmanet_learner(dls, t, **k)]
    for f in factories:
        encs = f(arch=34, weights_path=tmp_path/'r34.pth').model.encoders
        assert type(encs[0]).__name__ == 'MLPEncoder'
        assert isinstance(encs[1], ResNetEncoder) and encs[1].arch == 'resnet34'
        assert isinstance(encs[2], VideoEncoder) and encs[2].frames.arch == 'resnet34'
    assert onestage_learner(dls, privileged_teacher(dls, 2, epochs=1, arch=50), 'spec',
                            arch=50).model.enc_a.arch == 'resnet50'
    with pytest.raises(FileNotFoundError, match='nowhere.pth'): fusion_learner(dls, arch=18,
                                                                               weights_path=tmp_path/'nowhere.pth')
    with pytest.raises(ValueError, match=r'arch must be one of \(18, 34, 50\)'): fusion_learner(dls, arch=101)

def test_augmented_batches_repeat_across_processes(tmp_path):
    "Random joint augmentation decoded by two workers: the same seed gives the same batches in a new process."
    import subprocess, sys
    from robustmm.datasets import write_casia_fixture
    code = ("import sys; from pathlib import Path; from robustmm.datasets import load_casia_surf; "
            "from robustmm.data import MultimodalDataLoaders\n"
            "d = load_casia_surf(Path(sys.argv[1]), size=24)\n"
            "dls = MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=4, num_workers=2, device='cpu', seed=0)\n"
            "print([round(float(b[0].sum()), 4) for e in range(2) for b in dls.train])")
    write_casia_fixture(tmp_path/'casia')
    outs = [subprocess.run([sys.executable, '-c', code, str(tmp_path/'casia')], capture_output=True, text=True)
            for _ in range(2)]
    assert all(o.returncode == 0 for o in outs), outs[0].stderr[-2000:]
    assert outs[0].stdout == outs[1].stdout and outs[0].stdout.count(',') > 5
