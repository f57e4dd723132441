"""Reads LeakSanitizer reports on stdin. Prints the leak records whose allocation stacks pass
through the project's native shims (ct_*, csys_*, rc_*, cmj_*, spm_*) and exits 1 if there is
any; lists the records whose first own frame is in the project's Swift code (Sources/) as
notes, grouped by that frame (they include Foundation's own leaks around Process)."""
import collections
import re
import sys

NATIVE = re.compile(r"\b(ct_\w+|csys_\w+|rc_\w+|spm_\w+|cmj_\w+)\b")
SWIFT = re.compile(r"/Sources/")
records, current = [], None
for line in sys.stdin:
    if line.startswith(("Direct leak", "Indirect leak")):
        current = [line.rstrip()]
        records.append(current)
    elif current is not None and line.strip().startswith("#"):
        current.append(line.strip())
    else:
        current = None
native = [r for r in records if any(NATIVE.search(f) for f in r[1:])]
for record in native:
    frame = next(f for f in record[1:] if NATIVE.search(f))
    print(f"{record[0]}\n    native frame: {re.sub(r' 0x[0-9a-f]+', '', frame)}")
swift = collections.Counter(
    re.sub(r".* in ", "", next(f for f in r[1:] if SWIFT.search(f))) for r in records if r not in native and any(SWIFT.search(f) for f in r[1:]))
print(f"native shims: {len(native)} leak record(s)")
for frame, count in swift.most_common():
    print(f"note: {count} record(s) first reaching Swift code at {frame}")
sys.exit(1 if native else 0)
