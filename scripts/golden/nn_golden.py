#!/usr/bin/env python3
"""PyTorch golden values for the NN engine's tests (Tests/NNTests/GoldenTests.swift).

Run by hand (CI only reads the committed files):
    ~/torch-venv/bin/python scripts/golden/nn_golden.py [--mobilenet]
(--mobilenet: only MobileNetV3 / LR-ASPP's ops, `mobilenet_cases`, with their own seed.)

Writes Tests/NNTests/Golden/nn/<case>.safetensors, one file per case, every tensor float32
(labels too). Naming inside a file:
    x, weight, bias, ...   inputs (a missing `weight` means: built in Swift, see the case)
    y                      forward output
    dx, dweight, dbias     gradients of L = sum(y * gy) where gy[i] = cos(0.01 * i) over the
                           flattened output (computed, not stored, to keep the files small);
                           for losses L = y itself (gy = 1)
Optimizer file: p0 and g1..g3 (gradients fed at steps 1..3), <name>.p1..p3 the parameter
after each step. Schedule file: <name> = learning rate at iterations 0..N-1.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "NNTests", "Golden", "nn")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)


def upstream(shape):
    n = math.prod(shape)
    return torch.cos(0.01 * torch.arange(n, dtype=torch.float64)).float().reshape(shape)


def same_pads(size, k, s, d=1):
    """TensorFlow 'same' padding of one axis: (before, after), extra pixel after."""
    out = (size + s - 1) // s
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def save(name, tensors):
    tensors = {k: v.detach().contiguous().float() for k, v in tensors.items() if v is not None}
    save_file(tensors, os.path.join(OUT, name + ".safetensors"))
    size = os.path.getsize(os.path.join(OUT, name + ".safetensors"))
    print(f"{name}: {', '.join(f'{k}{list(v.shape)}' for k, v in tensors.items())}  ({size} bytes)")


def grads(y, inputs):
    gy = upstream(y.shape)
    (y * gy).sum().backward()
    return [t.grad if t is not None else None for t in inputs]


def conv_case(name, x_shape, w_shape, stride=1, padding=0, groups=1, same=False, bias=True, dilation=1):
    x = torch.randn(x_shape, requires_grad=True)
    w = (torch.randn(w_shape) * 0.3).requires_grad_()
    b = torch.randn(w_shape[0], requires_grad=True) if bias else None
    xin = x
    if same:
        kh, kw = w_shape[2], w_shape[3]
        t, bo = same_pads(x_shape[2], kh, stride)
        l, r = same_pads(x_shape[3], kw, stride)
        xin = F.pad(x, (l, r, t, bo))
        padding = 0
    y = F.conv2d(xin, w, b, stride=stride, padding=padding, groups=groups, dilation=dilation)
    dx, dw, db = grads(y, [x, w, b])
    save(name, dict(x=x, weight=w, bias=b, y=y, dx=dx, dweight=dw, dbias=db))


def deconv_same_case(name, x_shape, w_shape, stride):
    x = torch.randn(x_shape, requires_grad=True)
    w = (torch.randn(w_shape) * 0.3).requires_grad_()
    b = torch.randn(w_shape[1], requires_grad=True)
    full = F.conv_transpose2d(x, w, b, stride=stride)
    k = w_shape[2]
    before = max(k - stride, 0) // 2
    H, W = x_shape[2] * stride, x_shape[3] * stride
    y = full[:, :, before:before + H, before:before + W]
    dx, dw, db = grads(y, [x, w, b])
    save(name, dict(x=x, weight=w, bias=b, y=y, dx=dx, dweight=dw, dbias=db))


def bilinear_kernel(in_channels, out_channels, kernel_size):
    """d2l's bilinear_kernel."""
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = (torch.arange(kernel_size).reshape(-1, 1), torch.arange(kernel_size).reshape(1, -1))
    filt = (1 - torch.abs(og[0] - center) / factor) * (1 - torch.abs(og[1] - center) / factor)
    weight = torch.zeros((in_channels, out_channels, kernel_size, kernel_size))
    weight[range(in_channels), range(out_channels), :, :] = filt
    return weight


def fcn_head_case():
    # The d2l FCN head: ConvTranspose2d(21, 21, kernel 64, stride 32, padding 16), bilinear
    # weight (rebuilt in Swift with Initializer.bilinear; only an 8-stride sample of its
    # gradient is stored: dweight_sample = dweight[:, :, ::8, ::8]).
    x = torch.randn(1, 21, 2, 3, requires_grad=True)
    w = bilinear_kernel(21, 21, 64).requires_grad_()
    b = torch.randn(21, requires_grad=True)
    y = F.conv_transpose2d(x, w, b, stride=32, padding=16)
    dx, dw, db = grads(y, [x, w, b])
    save("deconv_k64_s32_p16", dict(x=x, bias=b, y=y, dx=dx, dweight_sample=dw[:, :, ::8, ::8], dbias=db,
                                    bilinear_k4=bilinear_kernel(3, 3, 4), bilinear_k3=bilinear_kernel(2, 2, 3)))


def bn_cases():
    x = (torch.randn(4, 3, 5, 6) * 2 + 0.5).requires_grad_()
    gamma = (torch.rand(3) + 0.5).requires_grad_()
    beta = torch.randn(3, requires_grad=True)
    rm0, rv0 = torch.randn(3), torch.rand(3) + 0.5
    rm, rv = rm0.clone(), rv0.clone()
    y = F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=0.1, eps=1e-5)
    dx, dg, db = grads(y, [x, gamma, beta])
    save("bn_train", dict(x=x, gamma=gamma, beta=beta, running_mean=rm0, running_var=rv0, y=y, dx=dx, dgamma=dg,
                          dbeta=db, running_mean_after=rm, running_var_after=rv))
    # Keras convention: eps 1e-3, moving = 0.99 * moving + 0.01 * batch (biased variance).
    x.grad = gamma.grad = beta.grad = None
    y = F.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-3)
    dx, dg, db = grads(y, [x, gamma, beta])
    mean = x.detach().mean(dim=(0, 2, 3))
    var = x.detach().var(dim=(0, 2, 3), unbiased=False)
    save("bn_train_keras", dict(x=x, gamma=gamma, beta=beta, running_mean=rm0, running_var=rv0, y=y, dx=dx, dgamma=dg,
                                dbeta=db, running_mean_after=0.99 * rm0 + 0.01 * mean,
                                running_var_after=0.99 * rv0 + 0.01 * var))
    x.grad = gamma.grad = beta.grad = None
    y = F.batch_norm(x, rm0.clone(), rv0.clone(), gamma, beta, training=False, eps=1e-5)
    dx, dg, db = grads(y, [x, gamma, beta])
    save("bn_eval", dict(x=x, gamma=gamma, beta=beta, running_mean=rm0, running_var=rv0, y=y, dx=dx, dgamma=dg, dbeta=db))


def pool_and_resize_cases():
    x = torch.randn(2, 3, 9, 8, requires_grad=True)
    t, b = same_pads(9, 3, 2)
    l, r = same_pads(8, 3, 2)
    y = F.max_pool2d(F.pad(x, (l, r, t, b), value=float("-inf")), 3, 2)
    (dx,) = grads(y, [x])
    save("maxpool3_s2_same", dict(x=x, y=y, dx=dx))

    x = torch.randn(2, 3, 4, 5, requires_grad=True)
    y = F.interpolate(x, scale_factor=2, mode="nearest")
    (dx,) = grads(y, [x])
    save("upsample_nearest2", dict(x=x, y=y, dx=dx))

    x = torch.randn(1, 2, 5, 6, requires_grad=True)
    y = F.interpolate(x, size=(8, 9), mode="bilinear", align_corners=False)
    (dx,) = grads(y, [x])
    save("resize_bilinear", dict(x=x, y=y, dx=dx))


def cross_entropy_cases():
    logits = (torch.randn(2, 5, 4, 6) * 2).requires_grad_()
    target = torch.randint(0, 5, (2, 4, 6))
    target[0, 0, :3] = 255
    target[1, 2, 1] = 255
    target[1, 3, :] = 255
    loss = F.cross_entropy(logits, target, ignore_index=255)
    loss.backward()
    save("cross_entropy", dict(logits=logits, target=target.float(), y=loss.reshape(()), dx=logits.grad))
    logits.grad = None
    weights = torch.tensor([0.2, 1.0, 2.5, 0.7, 1.3])
    loss = F.cross_entropy(logits, target, weight=weights, ignore_index=255)
    loss.backward()
    save("cross_entropy_weighted", dict(logits=logits, target=target.float(), weights=weights, y=loss.reshape(()),
                                        dx=logits.grad))


def optimizer_cases():
    p0 = torch.randn(3, 4)
    gs = [torch.randn(3, 4) for _ in range(3)]
    out = dict(p0=p0, g1=gs[0], g2=gs[1], g3=gs[2])
    configs = {
        "sgd": lambda p: torch.optim.SGD([p], lr=0.1),
        "sgd_momentum": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
        "sgd_nesterov": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
        "adam": lambda p: torch.optim.Adam([p], lr=0.01, weight_decay=0.01),
        "adamw": lambda p: torch.optim.AdamW([p], lr=0.01, weight_decay=0.1),
        "rmsprop": lambda p: torch.optim.RMSprop([p], lr=0.01, alpha=0.9, eps=1e-7),
        "rmsprop_momentum": lambda p: torch.optim.RMSprop([p], lr=0.01, alpha=0.99, momentum=0.5, weight_decay=0.01),
    }
    for name, make in configs.items():
        p = p0.clone().requires_grad_()
        opt = make(p)
        for step, g in enumerate(gs, start=1):
            p.grad = g.clone()
            opt.step()
            out[f"{name}.p{step}"] = p.detach().clone()
    save("optimizers", out)


def schedule_cases():
    n = 12
    out = {}

    def run(make_sched):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make_sched(opt)
        lrs = []
        for _ in range(n):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return torch.tensor(lrs, dtype=torch.float64)

    S = torch.optim.lr_scheduler
    out["step"] = run(lambda o: S.StepLR(o, step_size=4, gamma=0.5))
    out["poly"] = run(lambda o: S.LambdaLR(o, lambda i: (1 - i / 10) ** 0.9 if i <= 10 else 0.0))
    out["cosine"] = run(lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001))
    out["warmup_poly"] = run(lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.01, total_iters=3),
                                                       S.LambdaLR(o, lambda i: (1 - i / 8) ** 0.9)], milestones=[3]))
    save("schedules", out)


def activation_case(name, f):
    """x: randn · 3 over [2, 3, 5, 7] with the kinks ±3 (and 0) set exactly in the first elements."""
    x = torch.randn(2, 3, 5, 7) * 3
    x.view(-1)[:5] = torch.tensor([-3.0, 3.0, 0.0, -3.5, 3.5])
    x.requires_grad_()
    y = f(x)
    (dx,) = grads(y, [x])
    save(name, dict(x=x, y=y, dx=dx))


def mobilenet_cases():
    """MobileNetV3 / LR-ASPP's ops: hardswish, hardsigmoid, sigmoid, the per-channel scale of
    squeeze-excitation (s [N, C, 1, 1] broadcast over x [N, C, H, W]), and its depthwise convs
    (5×5 stride 2; 5×5 dilated by 2, as the dilated C4 stage)."""
    torch.manual_seed(4321)
    activation_case("hardswish", F.hardswish)
    activation_case("hardsigmoid", F.hardsigmoid)
    activation_case("sigmoid", torch.sigmoid)
    x = torch.randn(2, 3, 4, 5, requires_grad=True)
    s = torch.rand(2, 3, 1, 1, requires_grad=True)
    y = x * s
    dx, ds = grads(y, [x, s])
    save("scale_channels", dict(x=x, s=s, y=y, dx=dx, ds=ds))
    conv_case("depthwise5x5_s2", (2, 6, 11, 10), (6, 1, 5, 5), stride=2, padding=2, groups=6, bias=False)
    conv_case("depthwise5x5_d2", (2, 6, 12, 11), (6, 1, 5, 5), padding=4, groups=6, dilation=2, bias=False)


if "--mobilenet" not in sys.argv:
    conv_case("conv3x3_s1_p1", (2, 3, 8, 9), (4, 3, 3, 3), padding=1)
    conv_case("conv3x3_s2_same", (2, 3, 9, 8), (4, 3, 3, 3), stride=2, same=True)
    conv_case("conv1x1", (2, 5, 4, 6), (3, 5, 1, 1))
    conv_case("depthwise3x3", (2, 4, 7, 6), (4, 1, 3, 3), padding=1, groups=4)
    deconv_same_case("deconv3x3_s2_same", (2, 4, 5, 6), (4, 3, 3, 3), stride=2)
    fcn_head_case()
    bn_cases()
    pool_and_resize_cases()
    cross_entropy_cases()
    optimizer_cases()
    schedule_cases()
mobilenet_cases()
