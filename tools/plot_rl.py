"""Success rate vs environment steps for one or more rlinf-train runs (their metrics.jsonl).

usage: plot_rl.py OUT.png LABEL=RUN_DIR [LABEL=RUN_DIR ...] [LABEL=NUMBER]
Plots eval/success_once (markers, greedy evaluation) and env/success_once (thin line, the
sampled training rollouts) of each run against runner/environment_steps; LABEL=NUMBER draws a
dashed reference level (e.g. the SFT base's success rate), which also starts every eval curve.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def read(run):
    rows = [json.loads(line) for line in open(run + "/metrics.jsonl") if line.strip()]
    return [r["metrics"] for r in rows]


def main():
    out, pairs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    levels = [(label, float(v)) for label, v in pairs if v.replace(".", "", 1).isdigit()]
    runs = [(label, v) for label, v in pairs if not v.replace(".", "", 1).isdigit()]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for label, level in levels:
        ax.axhline(level, color="gray", linestyle="--", linewidth=1, label=f"{label} ({level:.0%})")
    for i, (label, run) in enumerate(runs):
        m = read(run)
        color = f"C{i}"
        steps = [r["runner/environment_steps"] for r in m]
        ax.plot(steps, [r.get("env/success_once", float("nan")) for r in m], color=color, alpha=0.35, linewidth=1)
        evals = [(0, levels[0][1])] if levels else []
        evals += [(r["runner/environment_steps"], r["eval/success_once"]) for r in m if "eval/success_once" in r]
        if evals:
            ax.plot(*zip(*evals), color=color, marker="o", label=f"{label} (eval, greedy)")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("success rate")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    ax.set_title("RL from the SFT base, embedded pick tasks (thin: training rollouts)")
    fig.tight_layout()
    fig.savefig(out)
    print("wrote", out)


main()
