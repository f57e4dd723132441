"""Drives our policy server with the real openpi-client (WebsocketClientPolicy) and raw
websockets, and writes what it saw as JSON.

openpi_probe.py MODE PORT OUT [API_KEY]
  infer       seeded observations at the policy's size and at twice it, with the numpy
              box-average of the larger one, and the replies
  concurrent  six clients at once, each sending the same observation three times
  bad         every kind of bad request, then good ones, on the same server
  auth        no key, a wrong key and the right key against a server that wants one
  once        one observation shaped from the server's metadata, and the reply
  hold        three requests, then OUT.ready naming the client's port; stays connected until
              OUT.release exists
"""
import json
import sys
import threading
import urllib.error
import urllib.request

import numpy as np
import websockets.sync.client
from openpi_client import msgpack_numpy
from openpi_client.websocket_client_policy import WebsocketClientPolicy

mode, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
api_key = sys.argv[4] if len(sys.argv) > 4 else None
S = 64


def observation(seed, size=S):
    rng = np.random.default_rng(seed)
    return {
        "observation/image": rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        "observation/wrist_image": np.zeros((size, size, 3), dtype=np.uint8),
        "observation/state": rng.normal(size=8),
        "prompt": ["pick up the red cube", "push the green cube to the left"][seed % 2],
    }


def reply(r):
    a = r["actions"]
    return {"actions": a.tolist(), "dtype": a.dtype.str, "shape": list(a.shape),
            "version": int(r["policy_version"]), "step": int(r["training_step"]), "infer_ms": float(r["server_timing"]["infer_ms"])}


def record(obs, image=None):
    img = obs["observation/image"] if image is None else image
    return {"image": img.reshape(-1).tolist(), "state": obs["observation/state"].tolist(), "prompt": obs["prompt"]}


def error_of(client, obs):
    try:
        client.infer(obs)
        return "served"
    except RuntimeError as e:
        return str(e)


def raw(extra_headers=None):
    ws = websockets.sync.client.connect(f"ws://127.0.0.1:{port}", compression=None, max_size=None, additional_headers=extra_headers)
    ws.recv()  # metadata
    return ws


result = {}
if mode == "infer":
    client = WebsocketClientPolicy("127.0.0.1", port)
    meta = client.get_server_metadata()
    result["metadata"] = {k: v for k, v in meta.items() if k != "keys"}
    result["keys"] = meta["keys"]
    result["cases"] = []
    for seed in range(3):
        obs = observation(seed)
        result["cases"].append(dict(record(obs), **reply(client.infer(obs))))
    big = observation(5, size=2 * S)
    pooled = ((big["observation/image"].reshape(S, 2, S, 2, 3).astype(np.int64).sum(axis=(1, 3)) + 2) // 4).astype(np.uint8)
    result["cases"].append(dict(record(big, pooled), **reply(client.infer(big))))
elif mode == "concurrent":
    obs, replies, errors = observation(0), [], []

    def worker():
        try:
            client = WebsocketClientPolicy("127.0.0.1", port)
            for _ in range(3):
                replies.append(client.infer(obs)["actions"].tolist())
        except Exception as e:  # recorded, so the test names it
            errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = {"case": record(obs), "replies": replies, "errors": errors}
elif mode == "bad":
    client = WebsocketClientPolicy("127.0.0.1", port)
    good = observation(0)
    cases = {
        "missing image": {k: v for k, v in good.items() if k != "observation/image"},
        "float image": dict(good, **{"observation/image": good["observation/image"].astype(np.float32)}),
        "2-D image": dict(good, **{"observation/image": good["observation/image"][:, :, 0]}),
        "odd size": dict(good, **{"observation/image": np.zeros((100, 100, 3), dtype=np.uint8)}),
        "prompt not a string": dict(good, prompt=7),
        "missing state": {k: v for k, v in good.items() if k != "observation/state"},
        "short state": dict(good, **{"observation/state": np.zeros(3)}),
    }
    result = {name: error_of(client, obs) for name, obs in cases.items()}
    client._ws.send(b"\xc1 not msgpack")
    result["not msgpack"] = client._ws.recv()
    client._ws.send("a text frame")
    result["text frame"] = client._ws.recv()
    client._ws.send(msgpack_numpy.packb([1, 2, 3]))
    result["not a map"] = client._ws.recv()
    result["good after errors"] = reply(client.infer(good))["shape"]
    # A message over the server's limit ends that connection only.
    ws = raw()
    try:
        ws.send(b"\x00" * (2 << 20))
        ws.recv(timeout=60)
        result["oversized"] = "answered"
    except websockets.exceptions.ConnectionClosed as e:
        result["oversized"] = f"closed {e.rcvd.code if e.rcvd else None}"
    # A client that sends a request and vanishes before the reply.
    ws = raw()
    ws.send(msgpack_numpy.packb(good))
    ws.socket.close()
    result["after a vanished client"] = reply(WebsocketClientPolicy("127.0.0.1", port).infer(good))["shape"]
    result["healthz"] = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30).status
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30)
        result["plain GET"] = 200
    except urllib.error.HTTPError as e:
        result["plain GET"] = e.code
elif mode == "auth":
    def attempt(key):
        try:
            return reply(WebsocketClientPolicy("127.0.0.1", port, api_key=key).infer(observation(0)))["shape"]
        except websockets.exceptions.InvalidStatus as e:
            return e.response.status_code
    result = {"no key": attempt(None), "wrong key": attempt("guess"), "right key": attempt(api_key)}

elif mode == "once":
    client = WebsocketClientPolicy("127.0.0.1", port)
    meta = client.get_server_metadata()
    rng = np.random.default_rng(0)
    size = meta["image_size"]
    obs = {"observation/image": rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
           "observation/state": rng.normal(size=meta["state_dim"]), "prompt": "pick up the red cube"}
    result = dict(reply(client.infer(obs)), metadata={k: v for k, v in meta.items() if k != "keys"})

elif mode == "hold":
    import os
    import time
    client = WebsocketClientPolicy("127.0.0.1", port)
    for _ in range(3):
        client.infer(observation(0))
    json.dump({"port": client._ws.socket.getsockname()[1]}, open(out + ".ready.tmp", "w"))
    os.rename(out + ".ready.tmp", out + ".ready")
    deadline = time.time() + 120
    while not os.path.exists(out + ".release") and time.time() < deadline:
        time.sleep(0.02)
    result = {"released": os.path.exists(out + ".release")}

json.dump(result, open(out, "w"))
