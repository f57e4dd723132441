"""The robot side of `env.train.simulator_type: remote`: serves one batch of environments (a
real robot, or any gymnasium-style environment) to rlinfd over TCP, so RL trains online on it.

    python tools/robot_env.py --port 7000 --backend my_robot:FrankaBackend
    python tools/robot_env.py --port 7000 --backend gym            # gymnasium CartPole, for tests

Protocol (version 1). Each frame is a 4-byte big-endian length and a msgpack map; rlinfd
connects and sends requests, the robot answers each:
  {"cmd": "init", "protocol": 1, "task", "num_envs", "image_size", "wrist", "max_chunk", "seed", "options"}
      -> {"ok": true, "protocol": 1, "state_size", "instructions": [...], "control_hz", "versions"}
  {"cmd": "reset", "state_ids": [...]}                 -> {"ok": true, "obs": OBS}
  {"cmd": "step", "chunk": K, "actions": f32 [N, K, 7]}
      -> {"heartbeat": true, "paused": bool} every --heartbeat seconds while the chunk runs, then
         {"ok": true, "obs": OBS, "rewards": f32 [N, K], "terminated", "truncated", "success": u8 [N, K],
          "final_valid": u8 [N], "final": OBS, "episodes": [{"env", "task", "success_once", "success_at_end",
          "return", "length", "operator"?}]}
  {"cmd": "close"}
OBS is {"rgb": u8 [N, S, S, 3], "wrist_rgb": (with a wrist camera), "state": f32 [N, D]}, all raw
little-endian bytes. A failed request answers {"ok": false, "error": "..."}.

The operator: while --pause-file exists, steps wait (the heartbeats say paused); a line
"ENV SIGNAL" appended to --operator-file ends that environment's episode at its next step:
"success" (terminated, a success), "failure" (terminated, no success) or "end" (truncated).
The robot's own safety (joint, workspace and velocity limits, an emergency stop) belongs in the
backend and the robot's controller: actions arrive normalised to [-1, 1].

A backend is a class like env_worker.py's: __init__(task, num_envs, image_size, wrist, options),
state_size, instructions, versions, control_hz (optional), reset(i, state_id, seed),
step(i, action) -> (reward, terminated, truncated, success), observe(i, rgb, wrist, state).
GymnasiumBackend adapts any gymnasium Env whose observations are dicts with "rgb" and "state".
"""
import argparse
import importlib
import os
import socket
import struct
import sys
import threading
import time

import msgpack
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import env_worker  # noqa: E402  (the worker bridge's backends and episode bookkeeping)

PROTOCOL = 1


class GymnasiumBackend:
    """Any gymnasium Env with dict observations {"rgb": [H, W, 3] uint8, "state": [D]} and a
    7-D action in [-1, 1], made by options["env_factory"] ("module:function") per environment."""

    def __init__(self, task, num_envs, image_size, wrist, options):
        module, name = options["env_factory"].split(":")
        factory = getattr(importlib.import_module(module), name)
        self.envs = [factory(task) for _ in range(num_envs)]
        self.size, self.obs = image_size, [None] * num_envs
        first, _ = self.envs[0].reset(seed=0)
        self.state_size = int(np.prod(first["state"].shape))
        self.instructions = [task] * num_envs
        self.versions = {}

    def reset(self, i, state_id, seed):
        self.obs[i], _ = self.envs[i].reset(seed=seed)

    def step(self, i, action):
        self.obs[i], reward, terminated, truncated, info = self.envs[i].step(np.asarray(action, dtype=np.float32))
        return float(reward), bool(terminated), bool(truncated), bool(info.get("success", False))

    def observe(self, i, rgb, wrist, state):
        rgb[i] = env_worker.nearest_resize(self.obs[i]["rgb"], self.size)
        state[i] = self.obs[i]["state"]


class Operator:
    """The human in the loop: a pause file and a file of end-of-episode signals."""

    def __init__(self, pause_file, signal_file):
        self.pause_file, self.signal_file, self.read = pause_file, signal_file, 0
        self.pending = {}

    def paused(self):
        return bool(self.pause_file) and os.path.exists(self.pause_file)

    def poll(self):
        if not self.signal_file or not os.path.exists(self.signal_file):
            return
        with open(self.signal_file) as f:
            lines = f.read().splitlines()
        for line in lines[self.read:]:
            env, signal = line.split()
            if signal not in ("success", "failure", "end"):
                raise ValueError(f"operator signal {signal}: expected success, failure or end")
            self.pending[int(env)] = signal
        self.read = len(lines)

    def take(self, i):
        return self.pending.pop(i, None)


class OperatorBackend:
    """Wraps a backend so operator signals end episodes; remembers the signal until the
    episode's summary is sent."""

    def __init__(self, backend, operator):
        self.inner, self.operator = backend, operator
        self.batched = False
        self.signals = {}
        for name in ("state_size", "instructions", "versions"):
            setattr(self, name, getattr(backend, name))
        self.control_hz = getattr(backend, "control_hz", 0.0)

    def reset(self, i, state_id, seed):
        self.inner.reset(i, state_id, seed)

    def step(self, i, action):
        reward, terminated, truncated, success = self.inner.step(i, action)
        signal = self.operator.take(i)
        if signal:
            self.signals[i] = signal
            if signal == "success":
                terminated, success = True, True
            elif signal == "failure":
                terminated, success = True, False
            else:
                truncated = True
        return reward, terminated, truncated, success

    def observe(self, i, rgb, wrist, state):
        self.inner.observe(i, rgb, wrist, state)


class Robot(env_worker.Worker):
    """env_worker's episode bookkeeping over arrays of its own instead of shared memory."""

    def __init__(self, request, backend_name, operator):
        # The fields env_worker.Worker's bookkeeping uses, set here (no shared-memory map).
        options = {k: str(v) for k, v in request.get("options", {}).items()}
        if backend_name == "gym":
            cls = env_worker.GymBackend
        elif backend_name == "gymnasium":
            cls = GymnasiumBackend
        else:
            module, name = backend_name.split(":")
            cls = getattr(importlib.import_module(module), name)
        self.n, self.task = int(request["num_envs"]), request["task"]
        self.wrist, self.base_seed = bool(request.get("wrist")), int(request.get("seed", 0))
        self.backend = cls(self.task, self.n, int(request["image_size"]), self.wrist, options)
        self.batched, self.slot = False, 0
        self.state_ids, self.returns = [0] * self.n, [0.0] * self.n
        self.lengths, self.success_once = [0] * self.n, [False] * self.n
        self.backend = OperatorBackend(self.backend, operator)
        n, s, k, d = self.n, int(request["image_size"]), int(request["max_chunk"]), self.backend.state_size
        self.arrays = {"rgb.0": np.zeros((n, s, s, 3), np.uint8), "state.0": np.zeros((n, d), np.float32),
                       "final_rgb": np.zeros((n, s, s, 3), np.uint8), "final_state": np.zeros((n, d), np.float32),
                       "final_valid": np.zeros(n, np.bool_), "actions": np.zeros((n, k, 7), np.float32),
                       "rewards": np.zeros((n, k), np.float32), "terminated": np.zeros((n, k), np.bool_),
                       "truncated": np.zeros((n, k), np.bool_), "success": np.zeros((n, k), np.bool_)}
        if self.wrist:
            self.arrays["wrist_rgb.0"] = np.zeros((n, s, s, 3), np.uint8)
            self.arrays["final_wrist_rgb"] = np.zeros((n, s, s, 3), np.uint8)

    def hello(self):
        reply = super().hello()
        reply["protocol"], reply["control_hz"] = PROTOCOL, float(self.backend.control_hz)
        return reply

    def obs(self, final=False):
        a = self.arrays
        name = (lambda x: "final_" + x) if final else (lambda x: x + ".0")
        out = {"rgb": a[name("rgb")].tobytes(), "state": a[name("state")].astype("<f4").tobytes()}
        if self.wrist:
            out["wrist_rgb"] = a[name("wrist_rgb")].tobytes()
        return out

    def reset_request(self, request):
        super().reset({"slot": 0, "state_ids": request["state_ids"]})
        return {"obs": self.obs()}

    def step_request(self, request):
        k = int(request["chunk"])
        actions = np.frombuffer(request["actions"], dtype="<f4").reshape(self.n, k, 7)
        self.arrays["actions"][:, :k] = actions
        reply = super().step({"slot": 0, "chunk": k})
        for e in reply["episodes"]:  # a signal always ends its episode in the step it arrives
            signal = self.backend.signals.pop(e["env"], None)
            if signal:
                e["operator"] = signal
        a = self.arrays
        return dict(reply, obs=self.obs(), final=self.obs(final=True), final_valid=a["final_valid"].astype(np.uint8).tobytes(),
                    rewards=a["rewards"][:, :k].astype("<f4").tobytes(), terminated=a["terminated"][:, :k].astype(np.uint8).tobytes(),
                    truncated=a["truncated"][:, :k].astype(np.uint8).tobytes(), success=a["success"][:, :k].astype(np.uint8).tobytes())


class Connection:
    def __init__(self, sock):
        self.sock, self.lock = sock, threading.Lock()

    def send(self, message):
        body = msgpack.packb(message, use_bin_type=True)
        with self.lock:
            self.sock.sendall(struct.pack(">I", len(body)) + body)

    def receive(self):
        header = self.read(4)
        return None if header is None else msgpack.unpackb(self.read(struct.unpack(">I", header)[0]), raw=False)

    def read(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                return None
            data += chunk
        return data


def serve_client(connection, args, operator):
    robot = None
    while True:
        request = connection.receive()
        if request is None:
            return
        command = request.get("cmd")
        try:
            if command == "init":
                if request.get("protocol") != PROTOCOL:
                    raise ValueError(f"this robot speaks protocol {PROTOCOL}, the daemon {request.get('protocol')}")
                robot = Robot(request, args.backend, operator)
                reply = robot.hello()
            elif command == "close":
                return
            elif robot is None:
                raise ValueError(f"{command} before init")
            elif command == "reset":
                reply = robot.reset_request(request)
            elif command == "step":
                reply = step_with_heartbeats(connection, robot, request, args, operator)
            else:
                raise ValueError(f"unknown command {command}")
            reply["ok"] = True
        except Exception as error:  # the daemon decides what to do
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        connection.send(reply)


def step_with_heartbeats(connection, robot, request, args, operator):
    """The chunk, after any operator pause, with heartbeats the whole time."""
    done = threading.Event()

    def beat():
        while not done.wait(args.heartbeat):
            connection.send({"heartbeat": True, "paused": operator.paused()})

    beater = threading.Thread(target=beat, daemon=True)
    beater.start()
    try:
        announced = False
        while operator.paused():
            if not announced:
                print("robot_env: paused by the operator", flush=True)
                announced = True
            time.sleep(0.05)
        if announced:
            print("robot_env: resumed", flush=True)
        operator.poll()
        return robot.step_request(request)
    finally:
        done.set()
        beater.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7000, help="0: any free port (printed)")
    parser.add_argument("--backend", default="gym", help="gym (CartPole, for tests), gymnasium (options env_factory), or module:Class")
    parser.add_argument("--heartbeat", type=float, default=0.5, help="seconds between heartbeats during a step")
    parser.add_argument("--pause-file", help="while this file exists, steps wait (the operator's pause)")
    parser.add_argument("--operator-file", help="lines 'ENV success|failure|end' end episodes at their next step")
    args = parser.parse_args()
    operator = Operator(args.pause_file, args.operator_file)
    server = socket.create_server((args.host, args.port))
    print(f"robot_env: listening on {args.host}:{server.getsockname()[1]}", flush=True)
    while True:  # one daemon at a time; a new connection after the last one ends
        sock, peer = server.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        print(f"robot_env: rlinfd connected from {peer[0]}:{peer[1]}", flush=True)
        try:
            serve_client(Connection(sock), args, operator)
        except OSError as error:
            print(f"robot_env: connection lost: {error}", flush=True)
        finally:
            sock.close()


if __name__ == "__main__":
    main()
