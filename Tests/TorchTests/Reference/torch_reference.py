"""Independent reference for the Swift Torch module: recomputes test cases with PyTorch.

usage: torch_reference.py WORKDIR

WORKDIR/cases.json lists cases: {"name", "expr", "inputs": [tensor names], "grad": [bool]}.
WORKDIR/inputs.safetensors holds the inputs and, for differentiable cases, "cot.<name>", the
cotangent to back-propagate. For every case this writes "out.<name>" and, for each input with
grad, "grad.<name>.<i>" to WORKDIR/outputs.safetensors.

`expr` is a Python expression over x (the list of input tensors), torch, F and the helpers below.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file


def bf16_autocast(f):
    """f() under CPU autocast to bfloat16, as the Swift side's Autocast.withBFloat16."""
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return f()


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def mha(x, wq, bq, wk, bk, wv, bv, wo, bo, heads, causal=False, valid=None):
    """torch's own multi-head attention on batch-first input; valid: [B, S] bool, True = token."""
    t = x.shape[1]
    attn_mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1) if causal else None
    seq_first = x.transpose(0, 1)
    out, _ = F.multi_head_attention_forward(
        seq_first, seq_first, seq_first, x.shape[2], heads,
        torch.cat([wq, wk, wv]), torch.cat([bq, bk, bv]), None, None, False, 0.0, wo, bo,
        training=False, key_padding_mask=None if valid is None else ~valid,
        need_weights=False, attn_mask=attn_mask)
    return out.transpose(0, 1)


def gqa(x, wq, wk, wv, wo, heads, kv_heads, causal):
    """Grouped-query attention written out (no biases), for kv_heads < heads."""
    b, t, d = x.shape
    hd = d // heads
    q = (x @ wq.T).view(b, t, heads, hd).transpose(1, 2)
    k = (x @ wk.T).view(b, t, kv_heads, hd).transpose(1, 2).repeat_interleave(heads // kv_heads, 1)
    v = (x @ wv.T).view(b, t, kv_heads, hd).transpose(1, 2).repeat_interleave(heads // kv_heads, 1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(hd)
    if causal:
        scores = scores.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))
    out = scores.softmax(-1) @ v
    return out.transpose(1, 2).reshape(b, t, d) @ wo.T


def adamw_run(x, steps, lrs, wds, betas, eps, max_norm):
    """x = [p0, p1, grads of step 0 for p0, p1, grads of step 1, ...]: two parameter groups.
    Returns the final parameters and moments, flattened and concatenated."""
    params = [x[0].clone().requires_grad_(True), x[1].clone().requires_grad_(True)]
    groups = [{"params": [p], "lr": lr, "weight_decay": wd} for p, lr, wd in zip(params, lrs, wds)]
    opt = torch.optim.AdamW(groups, betas=betas, eps=eps)
    for step in range(steps):
        for i, p in enumerate(params):
            p.grad = x[2 + 2 * step + i].clone()
        torch.nn.utils.clip_grad_norm_(params, max_norm)
        opt.step()
    state = [opt.state[p][k].flatten() for p in params for k in ("exp_avg", "exp_avg_sq")]
    return torch.cat([p.detach().flatten() for p in params] + state)


def main(workdir):
    with open(f"{workdir}/cases.json") as f:
        cases = json.load(f)
    tensors = load_file(f"{workdir}/inputs.safetensors")
    outputs = {}
    namespace = {"torch": torch, "F": F, "math": math, "rms_norm": rms_norm, "mha": mha,
                 "gqa": gqa, "adamw_run": adamw_run, "bf16_autocast": bf16_autocast}
    for case in cases:
        name = case["name"]
        x = [tensors[n].clone().requires_grad_(g) for n, g in zip(case["inputs"], case["grad"])]
        try:
            out = eval(case["expr"], {**namespace, "x": x})  # one scope, so lambdas in expr see x
        except Exception as error:  # report which case, then fail the run
            raise SystemExit(f"case {name}: {case['expr']}: {error}")
        outputs[f"out.{name}"] = out.detach().contiguous()
        if any(case["grad"]):
            out.backward(tensors[f"cot.{name}"])
            for i, t in enumerate(x):
                if case["grad"][i]:
                    outputs[f"grad.{name}.{i}"] = t.grad.contiguous()
    save_file(outputs, f"{workdir}/outputs.safetensors")


if __name__ == "__main__":
    main(sys.argv[1])
