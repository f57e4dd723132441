"""Independent readers for the simulator's output files (Pillow, safetensors).

usage:
  sim_reference.py decode IMAGE FRAME OUT   decodes frame FRAME of a PNG/GIF with Pillow and writes
                                            its RGB bytes to OUT; prints {"width", "height", "frames"}
  sim_reference.py dataset FILE             prints a JSON summary of a demonstration dataset
"""
import json
import sys

import numpy as np
from PIL import Image
from safetensors.numpy import load_file
from safetensors import safe_open


def decode(path, frame, out):
    image = Image.open(path)
    frames = getattr(image, "n_frames", 1)
    image.seek(int(frame))
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    rgb.tofile(out)
    print(json.dumps({"width": image.size[0], "height": image.size[1], "frames": frames}))


def dataset(path):
    tensors = load_file(path)
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata()
    summary = {name: {"dtype": str(t.dtype), "shape": list(t.shape)} for name, t in tensors.items()}
    episodes = tensors["episode_index"]
    steps = tensors["step_index"]
    summary["checks"] = {
        "action_min": float(tensors["action"].min()),
        "action_max": float(tensors["action"].max()),
        # Steps of an episode are contiguous and count up from 0.
        "episodes_contiguous": bool(np.all(np.diff(episodes) >= 0)),
        "steps_restart_with_episodes": bool(np.all((steps == 0) == np.r_[True, np.diff(episodes) != 0])),
        "distinct_episodes": int(len(np.unique(episodes))),
        "rgb_mean": float(tensors["rgb"].mean()),
    }
    summary["metadata"] = metadata
    print(json.dumps(summary))


if __name__ == "__main__":
    {"decode": decode, "dataset": dataset}[sys.argv[1]](*sys.argv[2:])
