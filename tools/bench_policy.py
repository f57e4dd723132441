"""The PyTorch-from-Python half of tools/bench-policy: the same tiny VLA networks, built from
timm's VisionTransformer and transformers' LlamaForCausalLM with the weights the Swift side
saved (OpenVLA's parameter names map onto them directly), timed on the same inputs.

usage: bench_policy.py DIR THREADS ITERATIONS    (DIR as written by bench-policy-swift speed)
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file
from timm.models.vision_transformer import VisionTransformer
from transformers import LlamaConfig, LlamaForCausalLM

BINS = 256


class VLA(nn.Module):
    def __init__(self, directory):
        super().__init__()
        with open(f"{directory}/config.json") as f:
            c = json.load(f)
        v, t = c["vision"][0], c["text_config"]
        self.config = c
        self.vit = VisionTransformer(
            img_size=v["image_size"], patch_size=v["patch_size"], embed_dim=v["embed_dim"], depth=v["depth"],
            num_heads=v["num_heads"], mlp_ratio=v["mlp_ratio"], class_token=v["class_token"],
            reg_tokens=v["reg_tokens"], no_embed_class=v["no_embed_class"], num_classes=0, global_pool="")
        self.mean = torch.tensor(v["image_mean"]).view(1, 3, 1, 1)
        self.std = torch.tensor(v["image_std"]).view(1, 3, 1, 1)
        self.depth = v["depth"]
        self.fc1 = nn.Linear(v["embed_dim"], t["hidden_size"])
        self.fc2 = nn.Linear(t["hidden_size"], t["hidden_size"])
        self.llm = LlamaForCausalLM(LlamaConfig(**t, tie_word_embeddings=False))
        weights = load_file(f"{directory}/model.safetensors")
        self.vit.load_state_dict({k[len("vision_backbone.featurizer."):]: w for k, w in weights.items()
                                  if k.startswith("vision_backbone.featurizer.")})
        self.fc1.load_state_dict({k[len("projector.fc1."):]: w for k, w in weights.items() if k.startswith("projector.fc1.")})
        self.fc2.load_state_dict({k[len("projector.fc2."):]: w for k, w in weights.items() if k.startswith("projector.fc2.")})
        self.llm.load_state_dict({k[len("language_model."):]: w for k, w in weights.items() if k.startswith("language_model.")})
        self.eval()

    def prefix(self, images, ids):
        x = (images.permute(0, 3, 1, 2).float() / 255.0 - self.mean) / self.std
        patches = self.fc2(F.gelu(self.fc1(self.vit.get_intermediate_layers(x, n={self.depth - 2})[0])))
        text = self.llm.model.embed_tokens(ids)
        return torch.cat([text[:, :1], patches, text[:, 1:]], dim=1)

    def distribution(self, logits):
        return torch.log_softmax(logits[..., -BINS:].float(), dim=-1)

    def openvla(self, images, ids):
        out = self.llm(inputs_embeds=self.prefix(images, ids), use_cache=True)
        logits, past = out.logits[:, -1], out.past_key_values
        tokens, logps = [], []
        first = self.llm.config.vocab_size - BINS
        for step in range(7):
            logp = self.distribution(logits)
            index = torch.multinomial(logp.exp(), 1)
            tokens.append(index)
            logps.append(logp.gather(-1, index))
            if step < 6:
                out = self.llm(input_ids=index + first, past_key_values=past, use_cache=True)
                logits, past = out.logits[:, -1], out.past_key_values
        return torch.cat(tokens, 1), torch.cat(logps, 1)

    def oft_logprobs(self, images, ids, k):
        prefix = self.prefix(images, ids)
        b, p, d = prefix.shape
        n = k * 7
        embeds = torch.cat([prefix, prefix.new_zeros(b, n, d)], dim=1)
        t = p + n
        allowed = torch.ones(t, t, dtype=torch.bool).tril()
        allowed[p:, p:] = True
        mask = torch.zeros(b, 1, t, t).masked_fill(~allowed, torch.finfo(torch.float32).min)
        logits = self.llm(inputs_embeds=embeds, attention_mask=mask).logits[:, p:]
        return self.distribution(logits)

    def oft(self, images, ids, k):
        logp = self.oft_logprobs(images, ids, k)
        index = torch.multinomial(logp.reshape(-1, BINS).exp(), 1).reshape(logp.shape[:-1])
        return index, logp.gather(-1, index.unsqueeze(-1))


def median_time(fn, iterations):
    fn()
    fn()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main():
    directory, threads, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    inputs = load_file(f"{directory}/inputs.safetensors")
    images, ids = inputs["images"], inputs["prompt_ids"]
    batch = images.shape[0]
    for name in ("openvla", "oft"):
        model = VLA(f"{directory}/{name}")
        k = model.config["num_action_chunks"]
        with torch.no_grad():
            act = (lambda: model.openvla(images, ids)) if name == "openvla" else (lambda: model.oft(images, ids, k))
            seconds = median_time(act, iterations)
        print(f"{name}_actions_per_s {batch * k / seconds}")
        print(f"{name}_forward_ms {seconds * 1000}")
        half = batch // 2
        with torch.no_grad():
            tokens, _ = model.openvla(images[:half], ids[:half]) if name == "openvla" else model.oft(images[:half], ids[:half], k)

        def train():
            model.zero_grad(set_to_none=True)
            if name == "oft":
                logp = model.oft_logprobs(images[:half], ids[:half], k).gather(-1, tokens.unsqueeze(-1))
            else:
                first = model.llm.config.vocab_size - BINS
                embeds = torch.cat([model.prefix(images[:half], ids[:half]), model.llm.model.embed_tokens(tokens[:, :6] + first)], 1)
                logits = model.llm(inputs_embeds=embeds).logits[:, -7:]
                logp = model.distribution(logits).gather(-1, tokens.unsqueeze(-1))
            logp.mean().backward()

        print(f"{name}_train_samples_per_s {half / median_time(train, iterations)}")


if __name__ == "__main__":
    main()
