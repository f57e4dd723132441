"""Reads a valgrind memcheck log on stdin and prints the definitely-lost records whose
allocation stacks pass through the project's own code (native shims or Swift modules)."""
import re
import sys

OURS = re.compile(r"\b(ct_\w+|csys_\w+|rc_\w+|spm_\w+|cmj_\w+)\b|Sources/|\$s(Torch|Sim|Models|RL|Pipeline|Daemon|Checkpoints|Metrics|Config|Control)")
records, current = [], None
for raw in sys.stdin:
    line = re.sub(r"^==\d+== ?", "", raw.rstrip())
    if "are definitely lost" in line:
        current = [line]
        records.append(current)
    elif current is not None and re.match(r"\s+(at|by) 0x", line):
        current.append(line)
    else:
        current = None
for record in records:
    frames = [f for f in record[1:] if OURS.search(f)]
    if frames:
        print(f"{record[0]}\n    first own frame: {frames[0].strip()}")
