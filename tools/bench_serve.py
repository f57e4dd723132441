"""The openpi-client half of tools/bench-serve: round trips against rlinf-serve on loopback.

bench_serve.py PORT REQUESTS CLIENTS
Prints `key value` lines: round-trip and in-server forward quantiles (ms) at one client, then
with CLIENTS clients at once, the replies per second and the mean batch a forward answered.
"""
import sys
import threading
import time

import numpy as np
from openpi_client import msgpack_numpy
from openpi_client.websocket_client_policy import WebsocketClientPolicy

port, requests, clients = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])


def observation(client, seed):
    meta = client.get_server_metadata()
    rng = np.random.default_rng(seed)
    size = meta["image_size"]
    obs = {"observation/image": rng.integers(0, 256, (size, size, 3), dtype=np.uint8), "prompt": "pick up the red cube"}
    if meta["state_dim"] > 0:
        obs["observation/state"] = rng.normal(size=meta["state_dim"])
    return obs


def run(count, seed, out):
    client = WebsocketClientPolicy("127.0.0.1", port)
    obs = observation(client, seed)
    for _ in range(5):  # warm-up
        client.infer(obs)
    for _ in range(count):
        start = time.perf_counter()
        reply = client.infer(obs)
        timing = reply["server_timing"]
        out.append((time.perf_counter() - start, timing["infer_ms"] / 1000, timing["batch"]))


def quantiles(samples, prefix):
    rtt = np.array([s[0] for s in samples]) * 1000
    infer = np.array([s[1] for s in samples]) * 1000
    overhead = rtt - infer
    for name, values in (("rtt", rtt), ("infer", infer), ("overhead", overhead)):
        print(f"{prefix}_{name}_p50 {np.percentile(values, 50):.4f}")
        print(f"{prefix}_{name}_p99 {np.percentile(values, 99):.4f}")


def echo_floor(count):
    """The same messages through a Python websockets echo server: the transport's own floor
    (both ends in Python, msgpack packing and unpacking included)."""
    from websockets.sync.client import connect
    from websockets.sync.server import serve

    def handler(ws):
        for message in ws:
            ws.send(message)

    server = serve(handler, "127.0.0.1", 0, compression=None)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = WebsocketClientPolicy("127.0.0.1", port)
    obs = observation(client, 0)
    packer = msgpack_numpy.Packer()
    samples = []
    with connect(f"ws://127.0.0.1:{server.socket.getsockname()[1]}", compression=None, max_size=None) as ws:
        for i in range(count + 5):
            start = time.perf_counter()
            ws.send(packer.pack(obs))
            msgpack_numpy.unpackb(ws.recv())
            if i >= 5:
                samples.append(time.perf_counter() - start)
    server.shutdown()
    print(f"echo_rtt_p50 {np.percentile(samples, 50) * 1000:.4f}")
    print(f"echo_rtt_p99 {np.percentile(samples, 99) * 1000:.4f}")


echo_floor(requests)
single = []
run(requests, 0, single)
quantiles(single, "single")

many, threads = [], []
start = time.perf_counter()
for c in range(clients):
    threads.append(threading.Thread(target=run, args=(requests // clients, c, many)))
    threads[-1].start()
for t in threads:
    t.join()
elapsed = time.perf_counter() - start
quantiles(many, "concurrent")
print(f"concurrent_replies_per_s {len(many) / elapsed:.2f}")
print(f"concurrent_batch_mean {np.mean([s[2] for s in many]):.2f}")
