"""A small training run for tests/test_distributed.py, launched in several processes, e.g.
`torchrun --standalone --nproc_per_node 2 tests/ddp_fault.py --fail-rank 1 --pids DIR`.
With `--fail-rank R`, process R raises in `before_batch` of the second training batch of epoch 1 (mid-epoch: the
other processes are then inside DDP's gradient all-reduce). Each process writes its pid to `DIR/rank<R>.pid`, so the
test can check that none outlives the launcher, and the failing one creates `DIR/raised` as it raises."""
import argparse, os
from pathlib import Path
import torch
from fastai.callback.core import Callback
from robustmm.data import MultimodalDataLoaders
from robustmm.learner import fusion_learner
from robustmm.distributed import rank

class RaiseMidEpoch(Callback):
    "Raise in process `fail_rank` before the second training batch of epoch `fail_epoch` (creating `flag` first)."
    def __init__(self, fail_rank:int, fail_epoch:int=1, flag:Path|None=None):
        self.fail_rank, self.fail_epoch, self.flag = fail_rank, fail_epoch, flag
    def before_batch(self):
        if self.training and self.epoch == self.fail_epoch and self.iter == 1 and rank() == self.fail_rank:
            if self.flag is not None: self.flag.touch()
            raise RuntimeError(f"injected failure in rank {rank()}")

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--fail-rank', type=int, default=-1, help='the process that raises (-1: none)')
    p.add_argument('--epochs', type=int, default=2); p.add_argument('--pids', default=None)
    a = p.parse_args()
    if a.pids: (Path(a.pids)/f"rank{os.environ.get('RANK', '0')}.pid").write_text(str(os.getpid()))
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(256, 8, generator=g), torch.randn(256, 4, generator=g)]
    y = torch.randint(0, 3, (256,), generator=g)
    dls = MultimodalDataLoaders.from_arrays(xs, y, [x[:64] for x in xs], y[:64], bs=64, device='cpu')
    learn = fusion_learner(dls, cbs=[RaiseMidEpoch(a.fail_rank, flag=Path(a.pids)/'raised' if a.pids else None)])
    with learn.no_bar(), learn.no_logging(): learn.fit(a.epochs, 1e-3)
    print(f"rank {rank()}: trained {a.epochs} epochs", flush=True)
