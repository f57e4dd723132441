"""numpy reference for a rollout window's advantages, written independently of the Swift code:
one environment at a time, one step at a time, with explicit loops.

usage: rollout_reference.py DIR   reads DIR/in.safetensors and DIR/params.json, writes DIR/out.safetensors
"""
import json
import sys

import numpy as np
from safetensors.numpy import load_file, save_file


def window_gae(rewards, values, terminated, truncated, final_values, gamma, lam, bootstrap, action_level):
    """Per env: the sequence of (reward, value, done-after) entries, then backwards GAE."""
    T, B, K = rewards.shape
    per_chunk = 1 if not action_level else K
    adv = np.zeros((T, B, per_chunk), dtype=np.float64)
    ret = np.zeros_like(adv)
    for b in range(B):
        seq_r, seq_v, seq_d = [], [], []
        for t in range(T):
            ended = terminated[t, b] or truncated[t, b]
            eligible = bootstrap != "none" and (truncated[t, b] or (bootstrap == "always" and terminated[t, b]))
            bonus = gamma * final_values[t, b, 0] if eligible else 0.0
            if action_level:
                for k in range(K):
                    last = k == K - 1
                    seq_r.append(rewards[t, b, k] + (bonus if last else 0.0))
                    seq_v.append(values[t, b, k])
                    seq_d.append(ended and last)
            else:
                seq_r.append(rewards[t, b].sum() + bonus)
                seq_v.append(values[t, b, 0])
                seq_d.append(ended)
        next_value = values[T, b, 0]
        running = 0.0
        out = [0.0] * len(seq_r)
        for i in reversed(range(len(seq_r))):
            v_next = next_value if i == len(seq_r) - 1 else seq_v[i + 1]
            live = 0.0 if seq_d[i] else 1.0
            delta = seq_r[i] + gamma * v_next * live - seq_v[i]
            running = delta + gamma * lam * live * running
            out[i] = running
        for i, a in enumerate(out):
            t, k = divmod(i, per_chunk)
            adv[t, b, k] = a
            ret[t, b, k] = a + seq_v[i]
    # Sample axis step-major: n = t * B + b.
    return adv.reshape(T * B, per_chunk), ret.reshape(T * B, per_chunk)


def segment_lengths(terminated, truncated):
    T, B = terminated.shape
    out = np.zeros((T, B), dtype=np.float32)
    for b in range(B):
        start = 0
        for t in range(T):
            if terminated[t, b] or truncated[t, b] or t == T - 1:
                out[start : t + 1, b] = t - start + 1
                start = t + 1
    return out.reshape(-1)


def main():
    folder = sys.argv[1]
    x = load_file(folder + "/in.safetensors")
    p = json.load(open(folder + "/params.json"))
    rewards = x["rewards"].astype(np.float64)
    term, trunc = x["terminated"].astype(bool), x["truncated"].astype(bool)
    out = {}
    for name, values, final, action_level in [
        ("chunk", x["chunk_values"], x["chunk_final"], False),
        ("action", x["action_values"], x["action_final"], True),
    ]:
        for bootstrap in ["standard", "always", "none"]:
            a, r = window_gae(
                rewards, values.astype(np.float64), term, trunc, final.astype(np.float64), p["gamma"], p["lambda"], bootstrap, action_level
            )
            out[f"{name}_{bootstrap}_adv"] = a.astype(np.float32)
            out[f"{name}_{bootstrap}_ret"] = r.astype(np.float32)
    out["lengths"] = segment_lengths(term, trunc)
    save_file(out, folder + "/out.safetensors")


main()
