"""Train every robustmm method on mfeat and record, per method, test accuracy and whether all processes hold the same
weights, buffers (method state) and loss-part logs. Run directly (one process) or under a launcher, e.g.
`torchrun --standalone --nproc_per_node 2 tests/ddp_check.py out.json`. Rank 0 writes `out.json`."""
import argparse, json
import torch, torch.distributed as dist
from robustmm.data import load_mfeat, MultimodalDataLoaders
from robustmm.callbacks import LossParts
from robustmm.distributed import is_distributed, is_main_process, world_size
from robustmm.methods import get_recipe
from robustmm.cli import default_methods

def state_vector(model)->torch.Tensor:
    "Every parameter and buffer (the methods' state lives in buffers) as one float64 vector."
    return torch.cat([t.detach().double().flatten().cpu() for t in model.state_dict().values()])

def gathered(t:torch.Tensor)->list:
    if not is_distributed(): return [t]
    out = [torch.empty_like(t) for _ in range(world_size())]
    dist.all_gather(out, t); return out

def method_state(model)->dict:
    "A method's decisions in training: UDML's dependence updates, the hard (DMRNet) or weak (MMANet) combinations."
    st = {}
    if getattr(model, 'dependence', None) is not None: st['dependence_updates'] = int(model.dependence.n_updates)
    for k in ('hard_state', 'weak_state'):
        if getattr(model, k, None) is not None: st[k] = model_subsets(getattr(model, k))
    return st

def model_subsets(state): s = state.subsets(); return None if s is None else [list(x) for x in s]

def check(name:str, seed:int, epochs:int, lr:float)->dict:
    d = load_mfeat(views=['fou', 'kar', 'zer'], valid_pct=0.1, seed=seed)
    dls = MultimodalDataLoaders.from_dsets(d.train, d.valid, bs=64, device='cpu', seed=seed)
    learn = get_recipe(name).build(dls, seed, epochs, lr)   # a teacher, if any, trains with the same schedule
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, lr)
        acc = float(learn.validate(dl=dls.test_dl(d.test))[1])
    v = state_vector(learn.model)
    hist = next(cb for cb in learn.cbs if isinstance(cb, LossParts)).history
    h = torch.tensor([[x.get(k, float('nan')) for k in sorted(hist[-1])] for x in hist], dtype=torch.float64).flatten()
    vs, hs = gathered(v), gathered(h)
    same = lambda xs: max(float((x - xs[0]).abs().nan_to_num(0).max()) for x in xs)
    return dict(accuracy=acc, n_test=len(d.test), n_state=len(v), state_max_diff=same(vs), loss_log_max_diff=same(hs),
                processes=world_size(), **method_state(learn.model))

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('out'); p.add_argument('--methods', default=','.join(default_methods()))
    p.add_argument('--seeds', default='0'); p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--lr', type=float, default=3e-3)
    a = p.parse_args()
    res = {}
    for m in a.methods.split(','):
        for s in map(int, a.seeds.split(',')):
            res.setdefault(m, {})[s] = check(m, s, a.epochs, a.lr)
            if is_main_process(): print(m, s, res[m][s], flush=True)
    if is_main_process(): json.dump(res, open(a.out, 'w'), indent=1)
