"""bench/models/torch_models.py MODEL STEPS THREADS - the PyTorch eager side
of bench/models/run: FourCastNet-small or ViT-S written the way their
published PyTorch code is (nn.Modules, one op per line), trained with Adam on
one-step MSE at batch 8 on [8, 4, 32, 64] fields, then evaluated without
gradients. Prints "train STEPS/S" and "eval SAMPLES/S" (model evaluations,
one sample each). Needs Debian's python3-torch.
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

C, H, W, P, B = 4, 32, 64, 4, 8


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class AFNO2D(nn.Module):
    """FourCastNet's filter: the kept modes through a block-diagonal complex
    MLP, soft shrinkage, the input added back."""

    def __init__(self, dim, blocks, sparsity=0.01, fraction=1.0):
        super().__init__()
        self.blocks, self.bs = blocks, dim // blocks
        self.sparsity, self.fraction = sparsity, fraction
        s = 0.02
        self.w1 = nn.Parameter(s * torch.randn(2, blocks, self.bs, self.bs))
        self.b1 = nn.Parameter(s * torch.randn(2, blocks, self.bs))
        self.w2 = nn.Parameter(s * torch.randn(2, blocks, self.bs, self.bs))
        self.b2 = nn.Parameter(s * torch.randn(2, blocks, self.bs))

    def forward(self, x):
        bias = x
        b, h, w, c = x.shape
        x = torch.fft.rfft2(x, dim=(1, 2), norm="ortho")
        x = x.reshape(b, h, w // 2 + 1, self.blocks, self.bs)
        total = h // 2 + 1
        kept = int(total * self.fraction)
        rows = slice(max(0, total - kept), total + kept)
        z = x[:, rows, :kept]
        w1 = torch.complex(self.w1[0], self.w1[1])
        w2 = torch.complex(self.w2[0], self.w2[1])
        b1 = torch.complex(self.b1[0], self.b1[1])
        b2 = torch.complex(self.b2[0], self.b2[1])
        o = torch.einsum("...bi,bio->...bo", z, w1) + b1
        o = torch.complex(F.relu(o.real), F.relu(o.imag))
        o = torch.einsum("...bi,bio->...bo", o, w2) + b2
        o = torch.view_as_complex(
            F.softshrink(torch.view_as_real(o), self.sparsity).contiguous())
        out = torch.zeros_like(x)
        out[:, rows, :kept] = o
        out = out.reshape(b, h, w // 2 + 1, c)
        return torch.fft.irfft2(out, s=(h, w), dim=(1, 2), norm="ortho") + bias


class AFNOBlock(nn.Module):
    def __init__(self, dim, blocks):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.filter = AFNO2D(dim, blocks)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x):
        x = self.filter(self.norm1(x)) + x
        return x + self.mlp(self.norm2(x))


class AFNONet(nn.Module):
    def __init__(self, embed=64, depth=2, blocks=4):
        super().__init__()
        self.h, self.w, self.embed = H // P, W // P, embed
        self.proj = nn.Conv2d(C, embed, P, stride=P)
        self.pos = nn.Parameter(torch.zeros(1, self.h * self.w, embed))
        self.blocks = nn.ModuleList(AFNOBlock(embed, blocks)
                                    for _ in range(depth))
        self.head = nn.Linear(embed, C * P * P, bias=False)

    def forward(self, x):
        b = x.shape[0]
        t = self.proj(x).flatten(2).transpose(1, 2) + self.pos
        t = t.reshape(b, self.h, self.w, self.embed)
        for blk in self.blocks:
            t = blk(t)
        y = self.head(t)
        return y.reshape(b, self.h, self.w, P, P, C).permute(
            0, 5, 1, 3, 2, 4).reshape(b, C, H, W)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
        o = a.softmax(-1) @ v
        return self.proj(o.transpose(1, 2).reshape(b, n, c))


class TransformerBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, embed=384, depth=12, heads=6):
        super().__init__()
        self.proj = nn.Conv2d(C, embed, P, stride=P)
        self.pos = nn.Parameter(torch.zeros(1, (H // P) * (W // P), embed))
        self.blocks = nn.ModuleList(TransformerBlock(embed, heads)
                                    for _ in range(depth))
        self.norm = nn.LayerNorm(embed, eps=1e-6)
        self.head = nn.Linear(embed, C * P * P)

    def forward(self, x):
        b = x.shape[0]
        t = self.proj(x).flatten(2).transpose(1, 2) + self.pos
        for blk in self.blocks:
            t = blk(t)
        y = self.head(self.norm(t))
        return y.reshape(b, H // P, W // P, P, P, C).permute(
            0, 5, 1, 3, 2, 4).reshape(b, C, H, W)


def main():
    name, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = AFNONet() if name == "fcn" else ViT()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    data = torch.randn(steps + 3, 2, B, C, H, W)

    def train_step(i):
        x, y = data[i, 0], data[i, 1]
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()

    for i in range(3):  # warm-up: allocations, thread pools
        train_step(i)
    t0 = time.perf_counter()
    for i in range(3, steps + 3):
        train_step(i)
    train = steps / (time.perf_counter() - t0)
    with torch.no_grad():
        model.eval()
        model(data[0, 0])
        calls = 5 * steps
        t0 = time.perf_counter()
        for i in range(calls):
            model(data[i % steps, 0])
        evals = calls * B / (time.perf_counter() - t0)
    print(f"train {train:.4f}")
    print(f"eval {evals:.4f}")


if __name__ == "__main__":
    main()
