"""The Python `safetensors` package's side of the interop tests.

usage:
  safetensors_interop.py write DIR       writes DIR/python.safetensors (every dtype, metadata) and
                                         DIR/sharded/ (two shards + model.safetensors.index.json)
  safetensors_interop.py read FILE       prints FILE's metadata and tensors as JSON
  safetensors_interop.py read_sharded DIR  prints the tensors of a sharded folder as JSON
"""
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.float16, torch.int64, torch.int32,
          torch.int16, torch.int8, torch.uint8, torch.bool]


def sample(dtype, shape):
    """Deterministic values that every dtype represents exactly."""
    n = 1
    for s in shape:
        n *= s
    values = torch.arange(n, dtype=torch.float64).reshape(shape)
    if dtype == torch.bool:
        return (values.long() % 3 == 0)
    if dtype.is_floating_point:
        return ((values - n / 2) / 4).to(dtype)
    return (values - (0 if dtype == torch.uint8 else n // 2)).to(dtype)


def describe(tensors, metadata):
    return {
        "metadata": metadata or {},
        "tensors": {name: {"dtype": str(t.dtype), "shape": list(t.shape),
                           "values": t.to(torch.float64).flatten().tolist()}
                    for name, t in tensors.items()},
    }


def write(directory):
    tensors = {f"t.{str(d).split('.')[1]}": sample(d, (2, 3)) for d in DTYPES}
    tensors["scalar"] = torch.tensor(2.5)
    tensors["empty"] = torch.zeros(0, 4)
    save_file(tensors, f"{directory}/python.safetensors", metadata={"origin": "python", "format": "pt"})
    os.makedirs(f"{directory}/sharded", exist_ok=True)
    shards = {"model-00001-of-00002.safetensors": {"layers.0.weight": sample(torch.bfloat16, (4, 4))},
              "model-00002-of-00002.safetensors": {"layers.1.weight": sample(torch.float32, (3,)),
                                                   "lm_head.weight": sample(torch.float16, (2, 2))}}
    weight_map = {}
    for file, part in shards.items():
        save_file(part, f"{directory}/sharded/{file}", metadata={"format": "pt"})
        weight_map.update({name: file for name in part})
    with open(f"{directory}/sharded/model.safetensors.index.json", "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)
    print(json.dumps(describe(tensors, {"origin": "python", "format": "pt"})))


def read(path):
    with safe_open(path, framework="pt") as f:
        tensors = {name: f.get_tensor(name) for name in f.keys()}
        print(json.dumps(describe(tensors, f.metadata())))


def read_sharded(directory):
    with open(f"{directory}/model.safetensors.index.json") as f:
        weight_map = json.load(f)["weight_map"]
    tensors = {}
    for name, file in weight_map.items():
        with safe_open(f"{directory}/{file}", framework="pt") as f:
            tensors[name] = f.get_tensor(name)
    print(json.dumps(describe(tensors, {})))


if __name__ == "__main__":
    {"write": write, "read": read, "read_sharded": read_sharded}[sys.argv[1]](sys.argv[2])
