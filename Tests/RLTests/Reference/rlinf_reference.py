"""RLinf's own functions (rlinf 0.3.0 from PyPI) on the inputs the Swift test wrote.

usage: rlinf_reference.py DIR   reads DIR/in.safetensors and DIR/params.json; writes
DIR/out.safetensors (tensors) and DIR/out.json (loss metrics per case)

Inputs (T chunk steps, B environments, K actions per chunk, N loss samples):
  rewards [T, B, K], dones [T + 1, B] (an episode ends on a chunk's last action),
  chunk_values [T + 1, B, 1], action_values [T + 1, B, K];
  logprobs, old_logprobs [N, K, 7]; adv_chunk, values_chunk, prev_values_chunk, returns_chunk [N];
  adv_action, values_action, prev_values_action, returns_action [N, K]; sample_mask [N] (0/1);
  sample_length [N] (the sample's episode length in chunk steps).
"""
import json
import sys

import torch
from rlinf.algorithms.registry import calculate_adv_and_returns, policy_loss
from rlinf.utils.metric_utils import compute_loss_mask
from rlinf.utils.utils import preprocess_embodied_batch
from safetensors.torch import load_file, save_file


def per_action_dones(dones, k):
    """[T + 1, B] -> [T + 1, B, K]: the end flag on the last action of the chunk."""
    out = torch.zeros(*dones.shape, k, dtype=torch.bool)
    out[..., -1] = dones.bool()
    return out


def advantages(x, p, out):
    k = x["rewards"].shape[-1]
    dones = per_action_dones(x["dones"], k)
    loss_mask, loss_mask_sum = compute_loss_mask(dones)  # [T, B, K] each
    out["loss_mask"] = loss_mask
    out["loss_mask_sum"] = loss_mask_sum
    for level, values in (("chunk_level", x["chunk_values"]), ("action_level", x["action_values"])):
        name = level.split("_")[0]
        common = dict(task_type="embodied", adv_type="gae", reward_type=level, rewards=x["rewards"], dones=dones,
                      values=values, gamma=p["gamma"], gae_lambda=p["lambda"])
        plain = calculate_adv_and_returns(**common, normalize_advantages=False)
        out[f"gae_{name}_adv"] = plain["advantages"]
        out[f"gae_{name}_ret"] = plain["returns"]
        normalized = calculate_adv_and_returns(**common, normalize_advantages=True, loss_mask=loss_mask)
        out[f"gae_{name}_adv_normalized"] = normalized["advantages"]

    # The success filter, after the first-episode mask (auto_reset false) and alone (auto_reset true).
    for auto_reset in (False, True):
        batch = preprocess_embodied_batch(
            {"rewards": x["rewards"], "dones": dones}, rollout_epoch=1, auto_reset=auto_reset, ignore_terminations=False,
            reward_type="chunk_level", filter_rewards=True, group_size=p["group_size"],
            rewards_lower_bound=p["lower"], rewards_upper_bound=p["upper"])
        out[f"filter_mask_autoreset_{int(auto_reset)}"] = batch["loss_mask"]  # [T, B, 1]

    chunk_mask = loss_mask.any(dim=-1, keepdim=True)  # [T, B, 1]
    filtered = out["filter_mask_autoreset_0"]
    for name, mask in (("grpo", chunk_mask), ("grpo_filtered", filtered)):
        result = calculate_adv_and_returns(
            task_type="embodied", adv_type="grpo", reward_type="chunk_level", rewards=x["rewards"], dones=dones,
            loss_mask=mask, group_size=p["group_size"])
        out[f"{name}_adv"] = result["advantages"]


def losses(x, p):
    """policy_loss for every reward / log-prob granularity pair, with and without a loss mask and
    trajectory-length normalisation."""
    k = x["logprobs"].shape[1]
    cases = {}
    for reward in ("chunk_level", "action_level"):
        kind = reward.split("_")[0]
        for logprob in ("token_level", "action_level", "chunk_level"):
            if reward == "action_level" and logprob == "chunk_level":
                continue  # refused by both
            for masking in ("none", "mask", "length"):
                kwargs = dict(
                    task_type="embodied", loss_type="actor_critic", reward_type=reward, logprob_type=logprob,
                    single_action_dim=7, logprobs=x["logprobs"].reshape(-1, k * 7).clone(),
                    old_logprobs=x["old_logprobs"].reshape(-1, k * 7).clone(), advantages=x[f"adv_{kind}"].clone(),
                    values=x[f"values_{kind}"].clone(), prev_values=x[f"prev_values_{kind}"].clone(),
                    returns=x[f"returns_{kind}"].clone(), clip_ratio_low=p["clip_low"], clip_ratio_high=p["clip_high"],
                    clip_ratio_c=p["clip_c"], value_clip=p["value_clip"], huber_delta=p["huber_delta"])
                mask = x["sample_mask"].bool()
                length = x["sample_length"] * k  # actions
                if reward == "action_level":
                    mask = mask[:, None].expand(-1, k).contiguous()
                    length = length[:, None].expand(-1, k).contiguous()
                if masking != "none":
                    kwargs["loss_mask"] = mask
                if masking == "length":
                    kwargs["loss_mask_sum"] = length
                    kwargs["max_episode_steps"] = p["window_steps"] * k
                loss, metrics = policy_loss(**kwargs)
                metrics["loss"] = loss.item()
                # What RLinf's value_clip_ratio means to count: values that moved past the clip.
                moved = (x[f"values_{kind}"] - x[f"prev_values_{kind}"]).abs() > p["value_clip"]
                if masking != "none":
                    moved = moved[mask]
                metrics["values_moved_past_clip"] = moved.float().mean().item()
                cases[f"{reward}/{logprob}/{masking}"] = {key: float(v) for key, v in metrics.items()}
    return cases


def main(directory):
    x = load_file(f"{directory}/in.safetensors")
    with open(f"{directory}/params.json") as f:
        p = json.load(f)
    out = {}
    advantages(x, p, out)
    save_file({key: v.contiguous().float() for key, v in out.items()}, f"{directory}/out.safetensors")
    with open(f"{directory}/out.json", "w") as f:
        json.dump(losses(x, p), f)


if __name__ == "__main__":
    main(sys.argv[1])
