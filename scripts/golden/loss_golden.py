#!/usr/bin/env python3
"""PyTorch golden values for the losses of issue #15 (Tests/NNTests/LossGoldenTests.swift).

Run by hand (CI only reads the committed files):
    /root/torch-venv/bin/python scripts/golden/loss_golden.py

Writes Tests/NNTests/Golden/nn/<case>.safetensors (float32; labels as floats):
logits, target, y (the scalar loss), dx (d y / d logits).

Dice: PyTorch has no Dice loss; this is segmentation_models_pytorch's
DiceLoss(mode="multiclass", from_logits=True, smooth=0, eps=1e-7, ignore_index=255)
written out (soft_dice_score over dims (0, 2), absent classes masked, mean over classes).
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "NNTests", "Golden", "nn")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1515)


def save(name, tensors):
    tensors = {k: v.detach().contiguous().float() for k, v in tensors.items()}
    path = os.path.join(OUT, name + ".safetensors")
    save_file(tensors, path)
    print(f"{name}: {', '.join(f'{k}{list(v.shape)}' for k, v in tensors.items())}  ({os.path.getsize(path)} bytes)")


def smp_dice_multiclass(logits, target, ignore_index=255, smooth=0.0, eps=1e-7):
    bs, num_classes = logits.shape[:2]
    p = logits.log_softmax(dim=1).exp()
    y_true = target.view(bs, -1)
    y_pred = p.view(bs, num_classes, -1)
    mask = y_true != ignore_index
    y_pred = y_pred * mask.unsqueeze(1)
    y_true = F.one_hot((y_true * mask).to(torch.long), num_classes)  # N, HW, C
    y_true = y_true.permute(0, 2, 1) * mask.unsqueeze(1)              # N, C, HW
    dims = (0, 2)
    inter = torch.sum(y_pred * y_true, dim=dims)
    card = torch.sum(y_pred + y_true, dim=dims)
    score = (2.0 * inter + smooth) / (card + smooth).clamp_min(eps)
    loss = 1.0 - score
    loss = loss * (y_true.sum(dims) > 0).to(loss.dtype)
    return loss.mean()


def dice_cases():
    # 5 classes; class 4 never appears (absent class), ignored pixels in both images.
    logits = (torch.randn(2, 5, 4, 6) * 2).requires_grad_()
    target = torch.randint(0, 4, (2, 4, 6))
    target[0, 0, :3] = 255
    target[1, 3, :] = 255
    loss = smp_dice_multiclass(logits, target)
    loss.backward()
    save("dice", dict(logits=logits, target=target.float(), y=loss.reshape(()), dx=logits.grad))
    logits.grad = None
    loss = smp_dice_multiclass(logits, target, smooth=1.0)
    loss.backward()
    save("dice_smooth1", dict(logits=logits, target=target.float(), y=loss.reshape(()), dx=logits.grad))


dice_cases()
