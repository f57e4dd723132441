"""A toy gymnasium robot for the robot-side adapter's test: a point gripper moving in 3-D toward a
target, with a camera image and a state vector as a real arm's driver would give them.

make(task) -> gymnasium Env. Observation: {"rgb": uint8 [48, 48, 3] (the gripper drawn at its
position), "state": float32 [3]}. Action: 7-D in [-1, 1]; the first three move the gripper by
0.1 x action. Reward: minus the distance to the target; success (info) and termination within
0.15 of it; truncation after 10 steps.

reference.py-style use: python toy_arm.py SEEDS STEPS prints, for each seed, the episode run with
the test's actions (JSON), for comparison with the same episodes through the robot server.
"""
import json
import sys

import gymnasium as gym
import numpy as np


class ToyArm(gym.Env):
    def __init__(self):
        self.observation_space = gym.spaces.Dict({
            "rgb": gym.spaces.Box(0, 255, (48, 48, 3), np.uint8), "state": gym.spaces.Box(-2, 2, (3,), np.float32)})
        self.action_space = gym.spaces.Box(-1, 1, (7,), np.float32)
        self.target = np.array([0.5, -0.2, 0.3], np.float32)

    def observe(self):
        rgb = np.zeros((48, 48, 3), np.uint8)
        x, y = (np.clip(self.position[:2], -1, 1) * 20 + 24).astype(int)
        rgb[max(y - 2, 0):y + 2, max(x - 2, 0):x + 2] = [255, 128, int(127 + 100 * self.position[2])]
        return {"rgb": rgb, "state": self.position.copy()}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.position = self.np_random.uniform(-0.5, 0.5, 3).astype(np.float32)
        return self.observe(), {}

    def step(self, action):
        self.position = (self.position + 0.1 * np.asarray(action[:3], np.float32)).astype(np.float32)
        distance = float(np.linalg.norm(self.position - self.target))
        success = distance < 0.15
        return self.observe(), -distance, success, False, {"success": success}


def make(task):
    return gym.wrappers.TimeLimit(ToyArm(), max_episode_steps=10)


def action(t, i):
    """The test's action for step t of environment i: toward the target, with a wobble."""
    return [0.9 if (t + i) % 3 else -0.4, -0.5, 0.6 if t % 2 else 0.2] + [0.0] * 4


if __name__ == "__main__":
    seeds, steps = [int(s) for s in sys.argv[1].split(",")], int(sys.argv[2])
    episodes = []
    for i, seed in enumerate(seeds):
        env = make("toy")
        obs, _ = env.reset(seed=seed)
        total, length, success = 0.0, 0, False
        for t in range(steps):
            obs, reward, terminated, truncated, info = env.step(np.array(action(t, i), np.float32))
            total, length, success = total + reward, length + 1, success or info["success"]
            if terminated or truncated:
                break
        episodes.append({"env": i, "return": total, "length": length, "success": success, "state": obs["state"].tolist()})
    print(json.dumps(episodes))
