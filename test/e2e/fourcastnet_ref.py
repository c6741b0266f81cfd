"""test/e2e/fourcastnet_ref.py - FourCastNet written out in float64, plainly.

The independent side of fourcastnet_e2e.py. Written from the FourCastNet
paper (Pathak et al. 2022) and the description of its published AFNONet:

  patch embedding   a p x p convolution with stride p, tokens row-major,
                    plus a learned position embedding
  AFNO block        x + AFNO(LN1(x)) = y;  y + MLP(LN2(y))  (double skip)
  AFNO filter       2-D real FFT over the token grid (orthonormal); per
                    block of channels a complex two-layer MLP (ReLU on the
                    real and imaginary parts apart, then soft shrinkage of
                    both) on the kept modes: int((h/2+1) * fraction) of them
                    on both axes, rows [h/2+1 - kept, h/2+1 + kept), columns
                    [0, kept); inverse FFT; the filter's input added back
  head              a bias-free linear layer, features ordered (p, q, c)
  layer norms       eps 1e-6; GELU exact (erf)

The parameters carry the published module's names (blocks.0.filter.w1,
blocks.0.mlp.fc1.weight [out, in], head.weight, ...), including its `norm`,
which the published forward never applies. Everything is computed in float64
from the float32 values the weights file holds.

Needs python3-torch, python3-numpy and python3-h5py (Debian's).
"""
import collections

import h5py
import numpy as np
import torch

C, H, W, P, E, DEPTH, BLOCKS = 4, 32, 64, 4, 64, 2, 4
SPARSITY, FRACTION = 0.01, 1.0
h, w = H // P, W // P


def make_weights(seed=0):
    """Upstream's names and shapes; scales large enough that every part of
    the network (the cut-off, the soft shrinkage, the square head's
    orientation) changes the output."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, std=1.0, mean=0.0):
        return (mean + std * torch.randn(*shape, generator=g,
                                         dtype=torch.float64)).float()

    sd = collections.OrderedDict()
    sd["pos_embed"] = rnd(1, h * w, E, std=0.5)
    sd["patch_embed.proj.weight"] = rnd(E, C, P, P, std=0.2)
    sd["patch_embed.proj.bias"] = rnd(E, std=0.1)
    bs = E // BLOCKS
    for i in range(DEPTH):
        b = f"blocks.{i}."
        sd[b + "norm1.weight"] = rnd(E, std=0.1, mean=1.0)
        sd[b + "norm1.bias"] = rnd(E, std=0.1)
        sd[b + "filter.w1"] = rnd(2, BLOCKS, bs, bs, std=0.3)
        sd[b + "filter.b1"] = rnd(2, BLOCKS, bs, std=0.1)
        sd[b + "filter.w2"] = rnd(2, BLOCKS, bs, bs, std=0.3)
        sd[b + "filter.b2"] = rnd(2, BLOCKS, bs, std=0.1)
        sd[b + "norm2.weight"] = rnd(E, std=0.1, mean=1.0)
        sd[b + "norm2.bias"] = rnd(E, std=0.1)
        sd[b + "mlp.fc1.weight"] = rnd(4 * E, E, std=0.1)
        sd[b + "mlp.fc1.bias"] = rnd(4 * E, std=0.1)
        sd[b + "mlp.fc2.weight"] = rnd(E, 4 * E, std=0.05)
        sd[b + "mlp.fc2.bias"] = rnd(E, std=0.1)
    sd["norm.weight"] = rnd(E, std=0.1, mean=1.0)
    sd["norm.bias"] = rnd(E, std=0.1)
    sd["head.weight"] = rnd(C * P * P, E, std=0.02)
    return sd


def save_upstream_checkpoint(sd, path):
    """As FourCastNet's trainer saves: a dict with the DDP-wrapped model's
    state under 'model_state'."""
    wrapped = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
    optimizer = {"state": {0: {"step": torch.tensor(10.0),
                               "exp_avg": torch.zeros(3)}},
                 "param_groups": [{"lr": 5e-4, "betas": (0.9, 0.95),
                                   "weight_decay": 0.0, "amsgrad": False,
                                   "params": [0, 1, 2]}]}
    torch.save({"iters": 10, "epoch": 3, "model_state": wrapped,
                "optimizer_state_dict": optimizer}, path)


def layer_norm(x, weight, bias, eps=1e-6):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * weight + bias


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / np.sqrt(2.0)))


def soft_shrink(x, lam):
    return torch.where(x > lam, x - lam,
                       torch.where(x < -lam, x + lam, torch.zeros_like(x)))


def afno_filter(x, w1, b1, w2, b2):
    """x [B, h, w, E]; the kept modes one by one."""
    B, hh, ww, e = x.shape
    bs = e // BLOCKS
    X = torch.fft.rfft2(x, dim=(1, 2), norm="ortho")
    wr = ww // 2 + 1
    total = hh // 2 + 1
    kept = int(total * FRACTION)
    rows = range(max(0, total - kept), min(hh, total + kept))
    cols = range(min(wr, kept))
    cw1, cb1 = torch.complex(w1[0], w1[1]), torch.complex(b1[0], b1[1])
    cw2, cb2 = torch.complex(w2[0], w2[1]), torch.complex(b2[0], b2[1])
    out = [[torch.zeros(B, e, dtype=X.dtype) for _ in range(wr)]
           for _ in range(hh)]
    for i in rows:
        for j in cols:
            z = X[:, i, j, :].reshape(B, BLOCKS, bs)
            a = torch.einsum("nbi,bio->nbo", z, cw1) + cb1
            a = torch.complex(torch.relu(a.real), torch.relu(a.imag))
            o = torch.einsum("nbi,bio->nbo", a, cw2) + cb2
            o = torch.complex(soft_shrink(o.real, SPARSITY),
                              soft_shrink(o.imag, SPARSITY))
            out[i][j] = o.reshape(B, e)
    Y = torch.stack([torch.stack(r, dim=1) for r in out], dim=1)
    return torch.fft.irfft2(Y, s=(hh, ww), dim=(1, 2), norm="ortho") + x


def fourcastnet(x, p):
    """x [B, C, H, W] -> [B, C, H, W]; p: float64 parameters by name."""
    B = x.shape[0]
    t = torch.nn.functional.conv2d(x, p["patch_embed.proj.weight"],
                                   p["patch_embed.proj.bias"], stride=P)
    t = t.flatten(2).transpose(1, 2) + p["pos_embed"]
    f = t.reshape(B, h, w, E)
    for i in range(DEPTH):
        b = f"blocks.{i}."
        r = f
        f = afno_filter(layer_norm(f, p[b + "norm1.weight"], p[b + "norm1.bias"]),
                        p[b + "filter.w1"], p[b + "filter.b1"],
                        p[b + "filter.w2"], p[b + "filter.b2"])
        f = f + r
        r = f
        m = layer_norm(f, p[b + "norm2.weight"], p[b + "norm2.bias"])
        m = gelu(m @ p[b + "mlp.fc1.weight"].T + p[b + "mlp.fc1.bias"])
        m = m @ p[b + "mlp.fc2.weight"].T + p[b + "mlp.fc2.bias"]
        f = r + m
    y = f @ p["head.weight"].T  # [B, h, w, (p q c)]
    return y.reshape(B, h, w, P, P, C).permute(0, 5, 1, 3, 2, 4).reshape(
        B, C, H, W)


def tableau_loss(model, window):
    """The autoregressive tableau of order K = frames - 1: for each order k,
    the MSE of every start's k-step forecast against the truth k steps on,
    the orders added."""
    K = window.shape[1] - 1
    loss = 0.0
    for k in range(1, K + 1):
        preds, truths = [], []
        for j in range(0, K - k + 1):
            x = window[:, j]
            for _ in range(k):
                x = model(x)
            preds.append(x)
            truths.append(window[:, j + k])
        loss = loss + ((torch.cat(preds) - torch.cat(truths)) ** 2).mean()
    return loss


def read_normalised(data_dir, year):
    """[time, C, H, W] float64 of one year's file, z-scored with stats.h5."""
    with h5py.File(f"{data_dir}/{year}.h5", "r") as f:
        x = np.asarray(f["fields"], dtype=np.float64)
        times = np.asarray(f["time"])
    with h5py.File(f"{data_dir}/stats.h5", "r") as s:
        mean = np.asarray(s["mean"], dtype=np.float64)
        std = np.asarray(s["std"], dtype=np.float64)
    x = (x - mean[None, :, None, None]) / std[None, :, None, None]
    return torch.from_numpy(x), times, mean, std


def float64_params(sd):
    return {k: v.double() for k, v in sd.items()}
