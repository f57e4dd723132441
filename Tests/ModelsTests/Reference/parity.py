"""Reference implementations for the Models tests: transformers' LlamaForCausalLM and timm's
VisionTransformer with random weights, exchanged through safetensors.

usage:
  parity.py llama DIR      DIR/config.json (our LlamaConfig keys = HF's) -> DIR/weights.safetensors,
                           DIR/io.safetensors with "tokens" [2, 13] and "logits"
  parity.py vit DIR        DIR/config.json (our ViTConfig) -> DIR/weights.safetensors,
                           DIR/io.safetensors with "images", "features" (forward_features) and
                           "intermediate" (get_intermediate_layers(n={depth - 2}), prefix removed)
  parity.py actions FILE   FILE holds "values"; prints numpy.digitize bins over linspace(-1, 1, 256)
                           and OpenVLA's decoding of every action token (bin centres)
  parity.py sentencepiece MODEL TEXT   the sentencepiece package's ids and decoding of TEXT
  parity.py pool FILE F    FILE holds "features" [B, g * g, D] (a row-major patch grid); adds
                           "pooled": torch.nn.functional.avg_pool2d over the grid, kernel F
"""
import json
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file


def llama(directory):
    from transformers import LlamaConfig, LlamaForCausalLM
    with open(f"{directory}/config.json") as f:
        c = json.load(f)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**c, tie_word_embeddings=False, attention_bias=False)).eval()
    with torch.no_grad():
        for p in model.parameters():  # larger than the default init, so differences show
            p.normal_(0, 0.2)
        tokens = torch.randint(0, c["vocab_size"], (2, 13))
        logits = model(tokens).logits
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f"{directory}/weights.safetensors")
    save_file({"tokens": tokens, "logits": logits.contiguous()}, f"{directory}/io.safetensors")


def vit(directory):
    from timm.models.vision_transformer import VisionTransformer
    with open(f"{directory}/config.json") as f:
        c = json.load(f)
    torch.manual_seed(0)
    model = VisionTransformer(
        img_size=c["image_size"], patch_size=c["patch_size"], embed_dim=c["embed_dim"], depth=c["depth"],
        num_heads=c["num_heads"], mlp_ratio=c["mlp_ratio"], class_token=c["class_token"],
        reg_tokens=c["reg_tokens"], no_embed_class=c["no_embed_class"],
        init_values=1e-1 if c["layer_scale"] else None, num_classes=0, global_pool="",
        act_layer="gelu_tanh" if c["gelu_tanh"] else "gelu").eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" not in name and "gamma" not in name:
                p.normal_(0, 0.1)
        images = torch.randn(2, 3, c["image_size"], c["image_size"])
        features = model.forward_features(images)
        intermediate = model.get_intermediate_layers(images, n={c["depth"] - 2})[0]
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f"{directory}/weights.safetensors")
    save_file({"images": images, "features": features.contiguous(), "intermediate": intermediate.contiguous()},
              f"{directory}/io.safetensors")


def actions(path):
    values = load_file(path)["values"].double().numpy()
    bins = np.linspace(-1.0, 1.0, 256)
    # OpenVLA's ActionTokenizer: token = vocab - digitize(value); decoding maps a token to the
    # centre of its bin, clipped to the 255 centres.
    centres = (bins[:-1] + bins[1:]) / 2.0
    vocab = 32064
    tokens = np.arange(vocab - 256, vocab)
    decoded = centres[np.clip(vocab - tokens - 1, 0, centres.shape[0] - 1)]
    print(json.dumps({"bins": np.digitize(np.clip(values, -1, 1), bins).tolist(),
                      "tokens": tokens.tolist(), "decoded": decoded.tolist()}))


def sentencepiece(model, text):
    import sentencepiece as spm
    processor = spm.SentencePieceProcessor(model_file=model)
    ids = processor.encode(text)
    print(json.dumps({"ids": ids, "decoded": processor.decode(ids), "bos": processor.bos_id(), "pad": processor.pad_id(),
                      "vocabulary": processor.get_piece_size()}))


def pool(path, factor):
    features = load_file(path)["features"]
    b, p, d = features.shape
    g = int(round(p ** 0.5))
    grid = features.transpose(1, 2).reshape(b, d, g, g)
    pooled = torch.nn.functional.avg_pool2d(grid, int(factor)).flatten(2).transpose(1, 2)
    save_file({"features": features, "pooled": pooled.contiguous()}, path)


if __name__ == "__main__":
    {"llama": llama, "vit": vit, "actions": actions, "pool": pool, "sentencepiece": sentencepiece}[sys.argv[1]](*sys.argv[2:])
