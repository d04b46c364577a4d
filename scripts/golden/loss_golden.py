#!/usr/bin/env python3
"""PyTorch golden values for the losses of issue #15 (Tests/NNTests/LossGoldenTests.swift).

Run by hand (CI only reads the committed files):
    /root/torch-venv/bin/python scripts/golden/loss_golden.py

Writes Tests/NNTests/Golden/nn/<case>.safetensors (float32; labels as floats):
logits, target, y (the scalar loss), dx (d y / d logits).

Cross-entropy with class weights and label smoothing: PyTorch's F.cross_entropy itself.
MMSegmentation's avg_non_ignore / all-pixel normalisations, segmentation_models_pytorch's
multiclass Focal and Lovász losses, and MMSegmentation's OHEMPixelSampler: PyTorch has none of
them, so each is written out below from the library's source (no extra package needed).

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


# ---------------------------------------------------------------------------------------------
# Cross-entropy options, Focal, Lovász-softmax, OHEM (issue #15, second session). Appended after
# dice_cases() so the Dice fixtures above keep their random draws.
#
# Every case uses the Dice fixture's shape: logits [2, 5, 4, 6], 5 classes, class 4 absent from
# the targets, ignored (255) pixels in both images. Files also hold `weight` [5] where used.

EPS32 = torch.finfo(torch.float32).eps


def fixture(seed):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(2, 5, 4, 6, generator=g) * 2).requires_grad_()
    target = torch.randint(0, 4, (2, 4, 6), generator=g)
    target[0, 0, :3] = 255
    target[1, 3, :] = 255
    return logits, target


CLASS_WEIGHT = torch.tensor([0.5, 1.0, 2.0, 1.5, 3.0])


def run(name, logits, target, loss_fn, **extra):
    logits.grad = None
    loss = loss_fn(logits, target)
    loss.backward()
    save(name, dict(logits=logits, target=target.float(), y=loss.reshape(()), dx=logits.grad, **extra))


def mmseg_cross_entropy(logits, target, weight=None, avg_non_ignore=False, pixel_weight=None):
    """mmseg.models.losses.cross_entropy_loss.cross_entropy (reduction='mean', avg_factor=None)
    with weight_reduce_loss written out: per-pixel loss (class weight applied, ignored pixels 0),
    times the per-pixel weight (OHEM's 0/1), then the mean over all pixels, or with
    avg_non_ignore the sum over the count of non-ignored pixels (+ float32 eps, as mmseg does)."""
    loss = F.cross_entropy(logits, target, weight=weight, reduction="none", ignore_index=255)
    if pixel_weight is not None:
        loss = loss * pixel_weight
    if avg_non_ignore:
        avg_factor = target.numel() - (target == 255).sum().item()
        return loss.sum() / (avg_factor + EPS32)
    return loss.mean()


def ce_cases():
    logits, target = fixture(151501)
    # PyTorch itself: class weights and label smoothing (mean over the weights of counted pixels).
    run("ce_weight_smooth", logits, target,
        lambda x, t: F.cross_entropy(x, t, weight=CLASS_WEIGHT, ignore_index=255, label_smoothing=0.1),
        weight=CLASS_WEIGHT)
    run("ce_smooth", logits, target, lambda x, t: F.cross_entropy(x, t, ignore_index=255, label_smoothing=0.2))
    # MMSegmentation's normalisations: avg_non_ignore=True, and its default (all pixels).
    run("ce_avg_non_ignore", logits, target,
        lambda x, t: mmseg_cross_entropy(x, t, weight=CLASS_WEIGHT, avg_non_ignore=True), weight=CLASS_WEIGHT)
    run("ce_all_pixels", logits, target,
        lambda x, t: mmseg_cross_entropy(x, t, weight=CLASS_WEIGHT, avg_non_ignore=False), weight=CLASS_WEIGHT)


def smp_focal_multiclass(logits, target, gamma=2.0, alpha=None, ignore_index=255):
    """segmentation_models_pytorch.losses.FocalLoss(mode="multiclass", alpha, gamma,
    ignore_index, reduction="mean", normalized=False, reduced_threshold=None) written out: for
    each class a one-vs-rest sigmoid focal loss (focal_loss_with_logits) over the non-ignored
    pixels, mean over those pixels, summed over the classes."""
    not_ignored = target != ignore_index
    loss = 0
    for cls in range(logits.size(1)):
        y = (target == cls).long()[not_ignored].type_as(logits)
        x = logits[:, cls, ...][not_ignored]
        logpt = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        pt = torch.exp(-logpt)
        term = (1.0 - pt).pow(gamma) * logpt
        if alpha is not None:
            term = term * (alpha * y + (1 - alpha) * (1 - y))
        loss = loss + term.mean()
    return loss


def focal_cases():
    logits, target = fixture(151502)
    run("focal", logits, target, lambda x, t: smp_focal_multiclass(x, t, gamma=2.0))
    run("focal_alpha", logits, target, lambda x, t: smp_focal_multiclass(x, t, gamma=1.5, alpha=0.25))


def lovasz_grad(gt_sorted):
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.float().cumsum(0)
    union = gts + (1 - gt_sorted).float().cumsum(0)
    jaccard = 1.0 - intersection / union
    if len(gt_sorted) > 1:
        jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def smp_lovasz_softmax(logits, target, ignore_index=255):
    """segmentation_models_pytorch.losses.LovaszLoss(mode="multiclass", per_image=False,
    ignore_index) written out (Berman et al. 2018, _lovasz_softmax with classes="present"):
    softmax, ignored pixels removed, for each class present in the targets the dot product of the
    sorted errors |fg − p_c| with the Lovász extension's gradient of the Jaccard loss; the mean
    over present classes (0 when none)."""
    probas = logits.softmax(dim=1)
    C = probas.size(1)
    probas = probas.permute(0, 2, 3, 1).reshape(-1, C)
    labels = target.reshape(-1)
    valid = labels != ignore_index
    probas, labels = probas[valid], labels[valid]
    losses = []
    for c in range(C):
        fg = (labels == c).type_as(probas)
        if fg.sum() == 0:
            continue
        errors = (fg - probas[:, c]).abs()
        errors_sorted, perm = torch.sort(errors, 0, descending=True)
        losses.append(torch.dot(errors_sorted, lovasz_grad(fg[perm])))
    return sum(losses) / len(losses) if losses else probas.sum() * 0.0


def lovasz_cases():
    logits, target = fixture(151503)
    run("lovasz", logits, target, smp_lovasz_softmax)


def mmseg_ohem_weight(logits, target, thresh, min_kept, ignore_index=255):
    """mmseg.models.segmentors / OHEMPixelSampler.sample with `thresh` written out (no gradient):
    1 for the non-ignored pixels whose softmax probability of their true class is below
    max(thresh, the (min_kept · N)-th smallest such probability), 0 elsewhere."""
    with torch.no_grad():
        batch_kept = min_kept * target.size(0)
        valid = target != ignore_index
        weight = torch.zeros(target.shape)
        valid_weight = weight[valid]
        prob = F.softmax(logits, dim=1)
        tmp = target.clone().unsqueeze(1)
        tmp[tmp == ignore_index] = 0
        prob = prob.gather(1, tmp).squeeze(1)
        sort_prob, _ = prob[valid].sort()
        min_threshold = sort_prob[min(batch_kept, sort_prob.numel() - 1)] if sort_prob.numel() > 0 else 0.0
        threshold = max(float(min_threshold), thresh)
        valid_weight[prob[valid] < threshold] = 1.0
        weight[valid] = valid_weight
        return weight


def ohem_cases():
    logits, target = fixture(151504)
    # The threshold decides (few pixels guaranteed); mmseg's default mean over all pixels, class weights.
    keep = mmseg_ohem_weight(logits, target, thresh=0.7, min_kept=3)
    run("ohem_thresh", logits, target,
        lambda x, t: mmseg_cross_entropy(x, t, weight=CLASS_WEIGHT, pixel_weight=keep),
        weight=CLASS_WEIGHT, kept=keep)
    # min_kept decides (the threshold rises to the min_kept·N-th probability): mean over the kept
    # pixels (HRNet's OhemCrossEntropy reduction, i.e. PyTorch's mean over counted pixels).
    keep = mmseg_ohem_weight(logits, target, thresh=0.05, min_kept=12)
    kept_target = torch.where(keep > 0, target, torch.full_like(target, 255))
    run("ohem_min_kept", logits, target,
        lambda x, t: F.cross_entropy(x, kept_target, ignore_index=255), kept=keep)


ce_cases()
focal_cases()
lovasz_cases()
ohem_cases()
