"""The baseline of tools/bench-workers: the same simulator backend as tools/env_worker.py,
called directly in this process (no bridge), stepping one environment with random actions and
writing its observation into numpy arrays as the worker does. Prints steps/s."""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from env_worker import BACKENDS  # noqa: E402

backend_name, task, size, steps, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
backend = BACKENDS[backend_name](task, 1, size, False, {})
rgb = np.zeros((1, size, size, 3), np.uint8)
state = np.zeros((1, backend.state_size), np.float32)
rng = np.random.default_rng(seed)
backend.reset(0, 0, seed)


def run(count):
    episode = 0
    for _ in range(count):
        _, terminated, truncated, _ = backend.step(0, rng.uniform(-0.2, 0.2, 7).astype(np.float32))
        if terminated or truncated:
            episode += 1
            backend.reset(0, episode, seed + episode)
        backend.observe(0, rgb, None, state)


run(5)
start = time.perf_counter()
run(steps)
print(f"direct_steps_per_s {steps / (time.perf_counter() - start):.2f}")
