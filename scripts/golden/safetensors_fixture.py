#!/usr/bin/env python3
"""Safetensors fixtures for Tests/NNTests/SafetensorsTests.swift, written by the reference library.

Write the fixture (run from the repository root):
    ~/torch-venv/bin/python scripts/golden/safetensors_fixture.py
Check that a file written by Segscope loads in PyTorch and holds the expected values:
    ~/torch-venv/bin/python scripts/golden/safetensors_fixture.py --check FILE

The values are simple formulas so the Swift test can recompute them; see `expected()`.
"""
import argparse
import os
import sys

import torch
from safetensors.torch import load_file, save_file

OUT = os.path.join("Tests", "NNTests", "Golden", "safetensors", "mixed_dtypes.safetensors")


def expected():
    """name -> float32 tensor before the cast to the stored dtype."""
    a = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) * 0.25 - 2.0   # exact in f16 / bf16
    return {
        "conv.weight": (a, torch.float32),
        "conv.bias": (torch.tensor([1.5, -0.125, 3.0e-5]), torch.float32),
        "half.weight": (a, torch.float16),
        "bfloat.weight": (a, torch.bfloat16),
        "double.weight": (torch.tensor([[0.1, -0.2], [1e-3, 12345.678]], dtype=torch.float32), torch.float64),
        "bn.num_batches_tracked": (torch.tensor(7.0), torch.int64),
        "empty": (torch.zeros(0, 3), torch.float32),
        "half.special": (torch.tensor([65504.0, -0.0, 5.960464477539063e-08, float("inf")]), torch.float16),
    }


def write():
    tensors = {name: value.to(dtype).contiguous() for name, (value, dtype) in expected().items()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(tensors, OUT, metadata={"format": "pt", "written_by": "scripts/golden/safetensors_fixture.py"})
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


def check(path):
    tensors = load_file(path)
    for name, t in tensors.items():
        print(f"{name}: {t.dtype} {tuple(t.shape)} sum={t.double().sum().item():.6f} first={t.flatten()[:4].tolist()}")
    from safetensors import safe_open
    with safe_open(path, framework="pt") as f:
        print("metadata:", f.metadata())
    # A module's state_dict loads from it when the names and shapes match.
    if "conv.weight" in tensors and tensors["conv.weight"].dim() == 4:
        w = tensors["conv.weight"]
        conv = torch.nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]))
        conv.load_state_dict({"weight": w, "bias": tensors["conv.bias"]})
        print("loaded into torch.nn.Conv2d:", conv)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", metavar="FILE")
    args = parser.parse_args()
    if args.check:
        check(args.check)
    else:
        write()
    sys.exit(0)
