"""Independent reference for the worker bridge: runs gymnasium CartPole directly with the seeds,
actions and chunk rules the bridge promises, and prints every step's results as JSON.
Usage: gym_chunks.py NUM_ENVS CHUNK STEPS BASE_SEED MAX_EPISODE_STEPS"""
import json
import sys

import gymnasium as gym
import numpy as np

n, chunk, steps, base_seed, limit = (int(x) for x in sys.argv[1:6])
envs = [gym.make("CartPole-v1", max_episode_steps=limit) for _ in range(n)]
state_ids = list(range(n))  # reset state ids; an ended episode's row moves on by n
obs = [envs[i].reset(seed=(base_seed * 1_000_003 + state_ids[i]) % 2**31)[0] for i in range(n)]
out = {"reset_state": [o.tolist() for o in obs], "steps": []}
for t in range(steps):
    record = {"rewards": [], "terminated": [], "truncated": [], "final_valid": [], "final_state": [], "state": []}
    for i in range(n):
        done = False
        last = (0.0, False, False)
        for k in range(chunk):
            if done:
                record["rewards"].append(0.0)
                record["terminated"].append(last[1])
                record["truncated"].append(last[2])
                continue
            push = 1 if ((t * 7 + i * 3 + k) % 5) < 2 else 0  # the test's action pattern
            obs[i], reward, terminated, truncated, _ = envs[i].step(push)
            last = (float(reward), bool(terminated), bool(truncated))
            record["rewards"].append(last[0])
            record["terminated"].append(last[1])
            record["truncated"].append(last[2])
            done = terminated or truncated
        record["final_valid"].append(done)
        record["final_state"].append(np.asarray(obs[i]).tolist() if done else None)  # where the episode ended
        if done:
            state_ids[i] += n
            obs[i] = envs[i].reset(seed=(base_seed * 1_000_003 + state_ids[i]) % 2**31)[0]
        record["state"].append(np.asarray(obs[i]).tolist())
    out["steps"].append(record)
print(json.dumps(out))
