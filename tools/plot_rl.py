"""Success rate of one or more rlinf-train / rlinfd runs (their metrics.jsonl), against
environment steps (left) and against wall-clock minutes of RL (right).

usage: plot_rl.py OUT.png LABEL=RUN_DIR [LABEL=RUN_DIR ...] [LABEL=NUMBER] [--title TEXT]
Plots eval/success_once (markers, the periodic greedy evaluation) and the success of the
training rollouts (thin line: env/success_recent, the last completed episodes, where the run
logs it, else env/success_once) of each run. Wall-clock time is the sum of the iterations'
time/step, time/eval and time/checkpoint_snapshot (the RL job's own time, without a warm start).
LABEL=NUMBER draws a dashed reference level (e.g. the SFT base's success rate), which also starts
every eval curve.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def read(run):
    rows = [json.loads(line) for line in open(run + "/metrics.jsonl") if line.strip()]
    return [r["metrics"] for r in rows]


def is_number(text):
    return text.replace(".", "", 1).isdigit()


def main():
    args = sys.argv[1:]
    title = "RL from the SFT base, embedded tasks (thin: training rollouts)"
    if "--title" in args:
        i = args.index("--title")
        title = args[i + 1]
        del args[i : i + 2]
    out, pairs = args[0], [a.split("=", 1) for a in args[1:]]
    levels = [(label, float(v)) for label, v in pairs if is_number(v)]
    runs = [(label, v) for label, v in pairs if not is_number(v)]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120, sharey=True)
    for ax in axes:
        for label, level in levels:
            ax.axhline(level, color="gray", linestyle="--", linewidth=1, label=f"{label} ({level:.0%})")
    for i, (label, run) in enumerate(runs):
        m = read(run)
        color = f"C{i}"
        steps = [r["runner/environment_steps"] for r in m]
        minutes, total = [], 0.0
        for r in m:
            total += sum(r.get(k, 0.0) for k in ("time/step", "time/eval", "time/checkpoint_snapshot"))
            minutes.append(total / 60)
        training = [r.get("env/success_recent", r.get("env/success_once", float("nan"))) for r in m]
        for ax, x in ((axes[0], steps), (axes[1], minutes)):
            ax.plot(x, training, color=color, alpha=0.35, linewidth=1)
            evals = [(0, levels[0][1])] if levels else []
            evals += [(x[j], r["eval/success_once"]) for j, r in enumerate(m) if "eval/success_once" in r]
            if evals:
                ax.plot(*zip(*evals), color=color, marker="o", markersize=3, label=f"{label} (eval, greedy)")
    axes[0].set_xlabel("environment steps")
    axes[1].set_xlabel("wall-clock minutes of RL")
    axes[0].set_ylabel("success rate")
    for ax in axes:
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out)
    print("wrote", out)


main()
