"""numpy reference for the RL formulas, written independently of the Swift code.

usage: rl_reference.py DIR   reads DIR/in.safetensors and DIR/params.json, writes DIR/out.safetensors
"""
import json
import sys

import numpy as np
from safetensors.numpy import load_file, save_file


def gae(r, v, d, gamma, lam):
    t_max = r.shape[0]
    adv = np.zeros_like(r)
    last = np.zeros(r.shape[1], dtype=r.dtype)
    for t in reversed(range(t_max)):
        nonterminal = 1.0 - d[t + 1]
        delta = r[t] + gamma * v[t + 1] * nonterminal - v[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv, adv + v[:t_max]


def grpo(r, d, g, lower, upper):
    t_max, envs = r.shape
    mask = np.zeros((t_max, envs), dtype=bool)
    for b in range(envs):
        for t in range(t_max):
            if d[: t + 1, b].any():  # an episode ended at or before step t - 1
                break
            mask[t, b] = True
    scores = (r * mask).sum(0)
    adv = np.zeros(envs, dtype=np.float32)
    keep = np.ones(envs, dtype=bool)
    for start in range(0, envs, g):
        s = scores[start:start + g]
        adv[start:start + g] = (s - s.mean()) / (s.std(ddof=1) + 1e-6)
        if lower is not None and not (lower <= s.mean() <= upper):
            keep[start:start + g] = False
    mask = mask & keep[None, :]
    return adv[None, :] * mask, mask.astype(np.float32), scores


def ppo(logp, old, adv, low, high, c):
    ratio = np.exp(logp - old)
    loss = np.maximum(-ratio * adv, -np.clip(ratio, 1 - low, 1 + high) * adv)
    loss = np.where(adv < 0, np.minimum(loss, -c * adv), loss)
    return loss, ratio


def value(v, old, ret, clip, delta):
    def huber(x):
        return np.where(np.abs(x) <= delta, 0.5 * x * x, delta * (np.abs(x) - 0.5 * delta))
    vc = old + np.clip(v - old, -clip, clip)
    return np.maximum(huber(v - ret), huber(vc - ret))


def main(directory):
    x = load_file(f"{directory}/in.safetensors")
    with open(f"{directory}/params.json") as f:
        p = json.load(f)
    adv, ret = gae(x["rewards"], x["values"], x["dones"], p["gamma"], p["lambda"])
    g_adv, g_mask, g_scores = grpo(x["rewards"], x["dones"], p["group_size"], p.get("lower"), p.get("upper"))
    loss, ratio = ppo(x["logp"], x["old_logp"], x["adv"], p["clip_low"], p["clip_high"], p["clip_c"])
    vloss = value(x["v"], x["old_v"], x["ret"], p["value_clip"], p["huber_delta"])
    out = {"gae_adv": adv, "gae_ret": ret, "grpo_adv": g_adv.astype(np.float32), "grpo_mask": g_mask,
           "grpo_scores": g_scores.astype(np.float32), "ppo_loss": loss, "ppo_ratio": ratio, "value_loss": vloss}
    save_file({k: np.ascontiguousarray(v.astype(np.float32)) for k, v in out.items()}, f"{directory}/out.safetensors")


if __name__ == "__main__":
    main(sys.argv[1])
