"""The openpi-client half of tools/bench-serve: round trips against rlinf-serve on loopback.

bench_serve.py PORT REQUESTS CLIENTS
Prints `key value` lines: the transport's floor (a Python echo server), round-trip and
in-server forward quantiles (ms) at one client, the floor again with each reply held for the
forward's time, then with CLIENTS clients at once the replies per second and the mean batch a
forward answered.
"""
import sys
import threading
import time

import numpy as np
from openpi_client import msgpack_numpy
from openpi_client.websocket_client_policy import WebsocketClientPolicy

# Set by main(); the floor server's process (spawned) imports this file without running it.
port = 0


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
        report(f"{prefix}_{name}", values)


def floor_server(port_out, hold_s, reply):
    """A Python websockets server in a process of its own: each message is answered with
    `reply` (the echo itself when None) after `hold_s` seconds of busy waiting."""
    from websockets.sync.server import serve

    def handler(ws):
        for message in ws:
            start = time.perf_counter()
            while time.perf_counter() - start < hold_s:  # a forward keeps its core busy
                pass
            ws.send(message if reply is None else reply)

    server = serve(handler, "127.0.0.1", 0, compression=None)
    port_out.put(server.socket.getsockname()[1])
    server.serve_forever()


def floor(count, obs, hold_s=0.0, reply=None):
    """Round trips of `obs` (the benchmark's observation) to `floor_server`, less the hold: with no hold the
    transport's own floor (both ends in Python, msgpack packing and unpacking included); with
    the forward's time as the hold, what any server pays on this machine for answering after
    that long (the client and the server's socket thread sleep meanwhile and must wake)."""
    import multiprocessing

    from websockets.sync.client import connect

    context = multiprocessing.get_context("spawn")
    port_out = context.Queue()
    process = context.Process(target=floor_server, args=(port_out, hold_s, reply), daemon=True)
    process.start()
    floor_port = port_out.get(timeout=60)
    packer = msgpack_numpy.Packer()
    samples = []
    with connect(f"ws://127.0.0.1:{floor_port}", compression=None, max_size=None) as ws:
        for i in range(count + 5):
            start = time.perf_counter()
            ws.send(packer.pack(obs))
            msgpack_numpy.unpackb(ws.recv())
            if i >= 5:
                samples.append(time.perf_counter() - start - hold_s)
    process.terminate()
    return np.array(samples) * 1000


def report(prefix, values):
    print(f"{prefix}_p50 {np.percentile(values, 50):.4f}")
    print(f"{prefix}_p99 {np.percentile(values, 99):.4f}")


def main():
    global port
    port = int(sys.argv[1])
    requests, clients = int(sys.argv[2]), int(sys.argv[3])
    client = WebsocketClientPolicy("127.0.0.1", port)
    obs, chunk = observation(client, 0), client.get_server_metadata()["action_chunk"]
    report("echo_rtt", floor(requests, obs))
    single = []
    run(requests, 0, single)
    quantiles(single, "single")
    # The same wait as the forward, answered with a reply of the same form (a [K, 7] chunk).
    forward_s = float(np.median([s[1] for s in single]))
    reply = msgpack_numpy.Packer().pack({"actions": np.zeros((chunk, 7), np.float32), "server_timing": {"infer_ms": 0.0}})
    report("held_floor_overhead", floor(requests, obs, forward_s, reply))

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


if __name__ == "__main__":
    main()
