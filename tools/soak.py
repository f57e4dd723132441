"""Samples a running rlinfd's RSS and open fds at each new iteration and fits a line through the
samples after warm-up. Usage: soak.py PID SOCKET MINUTES WARMUP_ITERATIONS"""
import json
import os
import socket
import sys
import time


def status(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(b'{"v":1,"id":1,"cmd":"status"}\n')
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)["result"]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def slope(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx > 0 else 0.0


pid, path, minutes, warmup = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
start = time.time()
samples = []  # (seconds, iteration, rss kB, fds)
last_iteration = -1
while time.time() - start < minutes * 60:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("rlinfd died; see its log")
    try:
        s = status(path)
    except OSError:
        time.sleep(0.5)
        continue
    if s.get("phase") == "failed":
        sys.exit(f"the job failed: {s.get('error')}")
    iteration = int(s.get("iteration") or 0)
    if iteration != last_iteration:
        last_iteration = iteration
        samples.append((time.time() - start, iteration, rss_kb(pid), len(os.listdir(f"/proc/{pid}/fd"))))
        t, it, rss, fds = samples[-1]
        if it % 10 == 0:
            print(f"  {t:7.0f} s  iteration {it:5d}  RSS {rss / 1024:8.1f} MB  fds {fds}", flush=True)
    time.sleep(0.2)

steady = [x for x in samples if x[1] > warmup]
if len(steady) < 10:
    sys.exit(f"only {len(steady)} iterations after the {warmup}-iteration warm-up: run longer")
hours = [x[0] / 3600 for x in steady]
rss = [x[2] for x in steady]
fds = [x[3] for x in steady]
rss_slope = slope(hours, rss)  # kB per hour
percent = 100 * rss_slope / rss[0]
fd_slope = slope(hours, fds)
print()
print(f"{'measure':28} {'after warm-up':>16} {'at the end':>12} {'slope':>16}")
print(f"{'resident memory (MB)':28} {rss[0] / 1024:16.1f} {rss[-1] / 1024:12.1f} {percent:+13.2f} %/h")
print(f"{'open file descriptors':28} {fds[0]:16d} {fds[-1]:12d} {fd_slope:+13.1f} /h")
print(f"{len(steady)} iterations sampled after {warmup} warm-up iterations, {steady[-1][0] - steady[0][0]:.0f} s")
ok = percent < 1.0 and fds[-1] <= fds[0] + 2
print("verdict: " + ("flat (under 1%/h RSS growth, no fd growth)" if ok else "GROWING"))
sys.exit(0 if ok else 1)
