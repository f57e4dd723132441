"""The msgpack package (and openpi-client's msgpack_numpy) as the reference for our codec.

make OUT: writes a JSON list of hex-encoded messages, packed by msgpack from seeded values that
          cover every type and length class.
check IN: reads a JSON list of hex messages (ours: the same values decoded and re-encoded) and
          checks each unpacks to the original value; prints "ok N" or exits 1 naming the first
          mismatch.
"""
import json
import sys

import msgpack
import numpy as np
from openpi_client import msgpack_numpy


def values():
    rng = np.random.default_rng(7)
    ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1,
            -1, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63]
    out = [None, True, False, 0.5, -1e300, float(np.float32(1.25)), 3.0e-8]
    out += ints
    out += ["", "a" * 31, "b" * 32, "é" * 100, "c" * 256, "d" * 65536]
    out += [b"", b"\x00" * 255, b"\xff" * 256, bytes(rng.integers(0, 256, 70000, dtype=np.uint8))]
    out += [[], list(range(15)), list(range(16)), list(range(70000)), [[[[1]]]]]
    out += [{}, {str(i): i for i in range(15)}, {str(i): [i] for i in range(16)}, {b"k": {"nested": [None, 1.5]}}]
    out.append({"observation/image": rng.integers(0, 256, (8, 8, 3), dtype=np.uint8),
                "observation/state": rng.normal(size=8), "prompt": "pick up the red cube"})
    return out


def pack(v):
    return msgpack_numpy.packb(v)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    originals = values()
    if mode == "make":
        json.dump([pack(v).hex() for v in originals], open(path, "w"))
        return
    ours = [bytes.fromhex(h) for h in json.load(open(path))]
    assert len(ours) == len(originals), (len(ours), len(originals))
    for i, (message, original) in enumerate(zip(ours, originals)):
        # Our writer must produce canonical msgpack: msgpack's own unpacker reads it back to the value.
        again = msgpack_numpy.unpackb(message)
        expected = msgpack_numpy.unpackb(pack(original))
        if not same(again, expected):
            print(f"message {i}: ours unpacks to {str(again)[:200]}, expected {str(expected)[:200]}")
            sys.exit(1)
        # And as short as msgpack's own for scalars, strings, bytes and arrays (maps may differ in order).
        if not isinstance(original, dict) and len(message) != len(pack(original)):
            print(f"message {i}: ours is {len(message)} bytes, msgpack's {len(pack(original))}")
            sys.exit(1)
    print(f"ok {len(ours)}")


def same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and (a == b).all()
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) == type(b) and a == b


main()
