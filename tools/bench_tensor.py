"""The PyTorch-from-Python half of tools/bench-tensor: the same transformer block and dispatch
loops as Sources/PerfTools/TensorBench, printing the same `name value` lines.

usage: bench_tensor.py THREADS ITERATIONS
"""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.v_proj, self.out_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        hd = d // self.heads
        q = self.q_proj(x).view(b, t, self.heads, hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.heads, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.heads, hd).transpose(1, 2)
        if hasattr(F, "scaled_dot_product_attention"):
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = q @ k.transpose(-2, -1) * (1 / math.sqrt(hd))
            causal = torch.ones(t, t, dtype=torch.bool).tril()
            scores = scores.masked_fill(~causal, torch.finfo(scores.dtype).min)
            out = scores.softmax(-1) @ v
        return self.out_proj(out.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2, self.up, self.down = nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x):
        h = x + self.attn(self.norm1(x))
        return h + self.down(F.gelu(self.up(self.norm2(h))))


def main():
    threads, iterations = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    block = Block(128, 4)
    x = torch.randn(64, 80, 128)

    def step():
        block.zero_grad(set_to_none=True)
        block(x).square().mean().backward()

    for _ in range(3):
        step()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"block_fwd_bwd_ms {times[len(times) // 2] * 1000}")

    a, b = torch.randn(4), torch.randn(4)
    ops = 20_000
    for _ in range(1000):
        a + b
    best = min(timed(lambda: a + b, ops) for _ in range(5))
    print(f"dispatch_add_us {best * 1e6}")
    c = a.clone().requires_grad_(True)
    best = min(timed(lambda: c * b, ops) for _ in range(5))
    print(f"dispatch_mul_grad_us {best * 1e6}")


def timed(op, n):
    start = time.perf_counter()
    for _ in range(n):
        op()
    return (time.perf_counter() - start) / n


if __name__ == "__main__":
    main()
