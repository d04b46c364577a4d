#!/usr/bin/env python3
"""PyTorch bf16-autocast golden values for Segscope's bf16 parity test
(Tests/NNTests/BF16GoldenTests.swift).

Run by hand (CI only reads the committed file; needs torch, nothing else):
    python3 scripts/golden/bf16_golden.py

A small seeded network — conv3x3 3→16 (no bias) → BatchNorm2d → ReLU → max pool 2 → conv3x3
16→32 (bias) → ReLU → ConvTranspose2d 32→5 k4 s2 p1 (bias) → cross-entropy (ignore 255) — one
training-mode forward and backward on a 2×3×16×16 input, twice from the same weights: in fp32,
and with the forward under torch.autocast(device_type="cpu", dtype=torch.bfloat16) (PyTorch's CPU
mixed precision: convolutions in bf16, fp32 parameters and gradients; the loss is computed on the
logits cast to fp32). Writes Tests/NNTests/Golden/bf16/small_net.safetensors, every tensor
float32 (labels too):
    x, labels, <param>                      inputs and the initial parameters (state_dict names)
    logits.fp32, loss.fp32, grad.<param>.fp32
    logits.bf16, loss.bf16, grad.<param>.bf16
The safetensors file is written by hand (8-byte header length, JSON header, raw little-endian data).
"""
import copy, json, os, struct

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "NNTests", "Golden", "bf16")


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.deconv = nn.ConvTranspose2d(32, 5, 4, stride=2, padding=1)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2, 2)
        return self.deconv(F.relu(self.conv2(h)))


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(tmp, path)


def step(net, x, labels, bf16):
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = net(x)
    loss = F.cross_entropy(logits.float(), labels, ignore_index=255)
    loss.backward()
    return logits.float(), loss


def main():
    torch.manual_seed(2026)
    torch.set_num_threads(2)
    net = SmallNet()
    x = torch.randn(2, 3, 16, 16)
    labels = torch.randint(0, 5, (2, 16, 16))
    labels[torch.rand(2, 16, 16) < 0.05] = 255
    out = {"x": x, "labels": labels.float()}
    params = {k: v.clone() for k, v in net.named_parameters()}
    out.update(params)
    for tag, bf16 in [("fp32", False), ("bf16", True)]:
        n = copy.deepcopy(net)
        logits, loss = step(n, x, labels, bf16)
        out[f"logits.{tag}"] = logits
        out[f"loss.{tag}"] = loss.reshape(1)
        for k, p in n.named_parameters():
            assert p.grad.dtype == torch.float32
            out[f"grad.{k}.{tag}"] = p.grad
    d = (out["logits.bf16"] - out["logits.fp32"]).abs().max().item()
    print(f"torch bf16 vs fp32: logits max |diff| {d:.3e} (max |logit| {out['logits.fp32'].abs().max().item():.3f}), "
          f"loss {out['loss.bf16'].item():.6f} vs {out['loss.fp32'].item():.6f}")
    for k in params:
        g16, g32 = out[f"grad.{k}.bf16"], out[f"grad.{k}.fp32"]
        print(f"  grad {k}: relative L2 {((g16 - g32).norm() / g32.norm()).item():.3e}")
    os.makedirs(OUT, exist_ok=True)
    save_safetensors(os.path.join(OUT, "small_net.safetensors"), out)


if __name__ == "__main__":
    main()
