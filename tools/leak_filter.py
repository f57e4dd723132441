"""Reads LeakSanitizer reports on stdin and prints the leak records whose stacks pass through the
project's own code (native shims or Swift modules), one summary line each."""
import re
import sys

OURS = re.compile(r"\b(ct_\w+|csys_\w+|rc_\w+|spm_\w+|cmj_\w+)\b|Sources/")
records, current = [], []
for line in sys.stdin:
    if line.startswith(("Direct leak", "Indirect leak")):
        if current:
            records.append(current)
        current = [line.rstrip()]
    elif current and line.strip().startswith("#"):
        current.append(line.rstrip())
    elif current and not line.strip():
        records.append(current)
        current = []
if current:
    records.append(current)
for record in records:
    frames = [f for f in record[1:] if OURS.search(f)]
    if frames:
        print(f"{record[0]}\n    first own frame: {frames[0].strip()}")
