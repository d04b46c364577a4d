#!/usr/bin/env python3
"""Golden values for Segscope's model parity tests (Tests/ModelsTests/Golden/).

The three networks are the PyTorch references of ../shared/bench/torch_reference.py (imported
from there, or from $SEGSCOPE_TORCH_REFERENCE). Their weights are far too large to commit (unet
alone is 108 MB), so every parameter and batch-norm buffer is filled by a formula that the Swift
tests compute identically (`ParityFill` in Tests/ModelsTests/ParityFixture.swift):

    h      = FNV-1a-32(UTF-8 bytes of the state_dict name)
    x      = lowbias32(h + (i + 1) * 0x9E3779B1)          (uint32 arithmetic, i = flat index)
    u      = (x >> 8) / 2^24 * 2 - 1                       (exact in float32, in [-1, 1))
    value  = offset + scale * u                           (float32)

`offset` and `scale` are chosen here per tensor (≈ He-uniform for weights, so activations stay
O(1)) and written to the fixture, so Swift needs only the formula. For each model the script
commits, at a reduced input size:
  <model>.json          state_dict names / shapes / dtypes, fill specs with checksums of the
                        filled values, the loss, and per-parameter gradient summaries of one
                        training step (sum, sum |g|, sum g², a probe dot product, first 16)
  <model>.safetensors   input, labels (U8, 255 = void), logits in eval mode, logits in train
                        mode (batch statistics), BN running stats after the train-mode forward

Usage (by hand; CI only reads the committed files):
    ~/torch-venv/bin/python scripts/golden/models_golden.py            # writes the fixtures
    ~/torch-venv/bin/python scripts/golden/models_golden.py --export /tmp/segscope-weights
        # writes (instead of the fixtures) the full filled weights of each model as <model>.safetensors (PyTorch
        # state_dict names) and a torchvision resnet18 state_dict as resnet18-torchvision.safetensors
    ~/torch-venv/bin/python scripts/golden/models_golden.py --check-load FILE --model xunet
        # loads a Segscope-written checkpoint into the PyTorch model with strict=True
"""
import argparse, json, math, os, sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file, load_file

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# ../shared/bench beside the repository (for a worktree in /work/wt/NAME, /work/shared/bench).
for candidate in [os.environ.get("SEGSCOPE_TORCH_REFERENCE", ""),
                  os.path.join(os.path.dirname(REPO), "shared", "bench"),
                  os.path.join(os.path.dirname(os.path.dirname(REPO)), "shared", "bench")]:
    if candidate and os.path.exists(os.path.join(candidate, "torch_reference.py")):
        sys.path.insert(0, candidate)
        break
import torch_reference as R  # noqa: E402  (the exact PyTorch definitions of the three models)

GOLDEN = os.path.join(REPO, "Tests", "ModelsTests", "Golden")

# Parity setting per model: batch 2 so train-mode batch norm sees more than one image.
CASES = {
    "xunet": dict(classes=3, size=(64, 64), batch=2),
    "unet": dict(classes=21, size=(64, 64), batch=2),
    "fcn-resnet18": dict(classes=21, size=(64, 64), batch=2),
}

M32 = 0xFFFFFFFF


def fnv1a32(text):
    h = 2166136261
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * 16777619) & M32
    return h


def unit_values(name, n):
    """u[i] in [-1, 1), float32, for i in 0..<n (see the module docstring)."""
    h = np.uint32(fnv1a32(name))
    i = np.arange(1, n + 1, dtype=np.uint64)
    x = ((i * np.uint64(0x9E3779B1) + np.uint64(h)) & np.uint64(M32)).astype(np.uint32)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint32(16)
        x *= np.uint32(0x7FEB352D)
        x ^= x >> np.uint32(15)
        x *= np.uint32(0x846CA68B)
        x ^= x >> np.uint32(16)
    u = (x >> np.uint32(8)).astype(np.float32) / np.float32(16777216.0)
    return u * np.float32(2.0) - np.float32(1.0)


def filled(name, n, offset, scale):
    return np.float32(offset) + np.float32(scale) * unit_values(name, n)


def fill_spec(model, name, tensor):
    """(offset, scale) for one state_dict entry, or None (integer buffers are set to 0)."""
    if not tensor.dtype.is_floating_point:
        return None
    leaf = name.rsplit(".", 1)[-1]
    owner = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
    if isinstance(owner, torch.nn.modules.batchnorm._BatchNorm):
        return {"weight": (1.0, 0.2), "bias": (0.0, 0.1),
                "running_mean": (0.0, 0.1), "running_var": (1.0, 0.5)}[leaf]
    if leaf == "bias":
        return (0.0, 0.1)
    shape = tuple(tensor.shape)
    if isinstance(owner, torch.nn.ConvTranspose2d):
        # Each output pixel sees in · (kh / sh) · (kw / sw) weights.
        fan_in = shape[0] * shape[2] * shape[3] / (owner.stride[0] * owner.stride[1])
    else:
        fan_in = shape[1] * int(np.prod(shape[2:]))
    # He-uniform (variance 2 / fan_in) keeps ReLU activations O(1) in the plain conv stacks;
    # xunet's residual sums (1×1 convs, depthwise → pointwise, no ReLU between) would grow
    # with it, so there LeCun-uniform (variance 1 / fan_in).
    gain = 3.0 if isinstance(model, R.UNetXception) else 6.0
    return (0.0, float(np.float32(math.sqrt(gain / fan_in))))


def build(model_name, classes):
    return R.MODELS[model_name]["build"](classes)


def fill_model(model, overrides=None):
    """Fills every state_dict entry by the formula; returns the per-entry specs for the JSON.
    `overrides` maps names to (offset, scale) chosen elsewhere (the BN calibration below)."""
    specs = []
    state = model.state_dict()
    with torch.no_grad():
        for name, tensor in state.items():
            entry = {"name": name, "shape": list(tensor.shape),
                     "dtype": "I64" if tensor.dtype == torch.int64 else "F32"}
            spec = (overrides or {}).get(name) or fill_spec(model, name, tensor)
            if spec is None:
                tensor.zero_()
            else:
                offset, scale = spec
                values = filled(name, tensor.numel(), offset, scale)
                tensor.copy_(torch.from_numpy(values).reshape(tensor.shape))
                entry.update(offset=offset, scale=scale, checksum_sum=float(values.astype(np.float64).sum()),
                             first=[float(v) for v in values[:4]])
            specs.append(entry)
    return specs


def calibrate_batch_norm(model, x):
    """Chooses each BN's running-stat fill so that eval-mode activations stay O(1): in forward
    order, its running_mean / running_var offsets become the mean over channels of the batch
    mean / variance it sees in eval mode (with the earlier BNs already calibrated), with ±10% /
    ±20% of per-channel spread from the formula. Without this, random weights with running
    variance ≈ 1 blow eval-mode logits up to ~1000, where a 1e-3 tolerance is meaningless."""
    bns = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    order, seen = [], {}
    hooks = [m.register_forward_pre_hook(lambda m, a, n=n: order.append(n) if n not in order else None)
             for n, m in bns]
    model.eval()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    overrides = {}
    modules = dict(bns)
    for n in order:
        captured = {}
        hook = modules[n].register_forward_pre_hook(lambda m, a: captured.setdefault("x", a[0]))
        with torch.no_grad():
            model(x)
        hook.remove()
        t = captured["x"].double()
        mean = float(np.float32(t.mean(dim=(0, 2, 3)).mean()))
        var = float(np.float32(t.var(dim=(0, 2, 3), unbiased=False).mean()))
        overrides[n + ".running_mean"] = (mean, float(np.float32(0.1 * abs(mean) + 0.01)))
        overrides[n + ".running_var"] = (var, float(np.float32(0.2 * var)))
        fill_model(model, overrides)
    return overrides


def make_batch(case):
    b, (h, w), c = case["batch"], case["size"], case["classes"]
    x = filled("input", b * 3 * h * w, 0.0, 1.7).reshape(b, 3, h, w)  # ≈ unit variance
    u = (unit_values("labels", b * h * w) + 1) / 2
    labels = np.minimum((u * c).astype(np.int64), c - 1)
    void = (unit_values("void", b * h * w) + 1) / 2 < 0.05
    labels[void] = 255
    return torch.from_numpy(x.copy()), torch.from_numpy(labels.reshape(b, h, w))


def grad_summary(name, g):
    g64 = g.detach().double().flatten()
    probe = torch.from_numpy(unit_values(name + "#probe", g64.numel()).astype(np.float64))
    return {"name": name, "sum": float(g64.sum()), "abs_sum": float(g64.abs().sum()),
            "sq_sum": float((g64 * g64).sum()), "max_abs": float(g64.abs().max()),
            "probe": float((g64 * probe).sum()), "first": [float(v) for v in g64[:16]]}


def golden(model_name):
    case = CASES[model_name]
    torch.manual_seed(0)
    model = build(model_name, case["classes"])
    x, labels = make_batch(case)
    fill_model(model)
    specs = fill_model(model, calibrate_batch_norm(model, x))

    model.eval()
    with torch.no_grad():
        logits_eval = model(x)
    model.train()
    logits_train = model(x)
    loss = F.cross_entropy(logits_train, labels, ignore_index=255)
    loss.backward()

    tensors = {
        "input": x.contiguous(),
        "labels": labels.to(torch.uint8).contiguous(),
        "logits_eval": logits_eval.contiguous(),
        "logits_train": logits_train.detach().contiguous(),
    }
    for name, buf in model.named_buffers():
        if buf.dtype.is_floating_point:
            tensors["after_train." + name] = buf.detach().clone().contiguous()
    grads = [grad_summary(n, p.grad) for n, p in model.named_parameters()]
    doc = {
        "model": model_name, "classes": case["classes"], "batch": case["batch"],
        "size": list(case["size"]), "torch": torch.__version__,
        "generator": "scripts/golden/models_golden.py",
        "fill": "value = offset + scale * u(fnv1a32(name), i); see models_golden.py",
        "loss": float(loss.detach()), "state_dict": specs, "grads": grads,
        "logit_abs_max_eval": float(logits_eval.abs().max()),
        "logit_abs_max_train": float(logits_train.detach().abs().max()),
    }
    os.makedirs(GOLDEN, exist_ok=True)
    stem = os.path.join(GOLDEN, model_name)
    save_file(tensors, stem + ".safetensors", metadata={"generator": "scripts/golden/models_golden.py"})
    with open(stem + ".json", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"{model_name}: loss {float(loss):.6f}, |logits| eval ≤ {doc['logit_abs_max_eval']:.3f}, "
          f"train ≤ {doc['logit_abs_max_train']:.3f}, {os.path.getsize(stem + '.safetensors') / 1e6:.2f} MB")


def resnet18_keys():
    """torchvision resnet18 state_dict names and shapes (for --backbone-weights tests)."""
    import torchvision
    sd = torchvision.models.resnet18(weights=None).state_dict()
    keys = [{"name": k, "shape": list(v.shape), "dtype": "I64" if v.dtype == torch.int64 else "F32"}
            for k, v in sd.items()]
    with open(os.path.join(GOLDEN, "resnet18_torchvision_keys.json"), "w") as f:
        json.dump(keys, f, indent=0)
        f.write("\n")
    return sd


def export(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for model_name, cfg in R.MODELS.items():
        model = build(model_name, cfg["classes"])
        with open(os.path.join(GOLDEN, model_name + ".json")) as f:
            specs = json.load(f)["state_dict"]
        fill_model(model, {e["name"]: (e["offset"], e["scale"]) for e in specs if "scale" in e})
        sd = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(sd, os.path.join(out_dir, model_name + ".safetensors"))
        print("wrote", os.path.join(out_dir, model_name + ".safetensors"))
    import torchvision
    net = torchvision.models.resnet18(weights=None)
    fill_model(net)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()},
              os.path.join(out_dir, "resnet18-torchvision.safetensors"))
    print("wrote", os.path.join(out_dir, "resnet18-torchvision.safetensors"))


def check_load(path, model_name, classes):
    model = build(model_name, classes or R.MODELS[model_name]["classes"])
    sd = load_file(path)
    model.load_state_dict(sd, strict=True)
    n = sum(v.numel() for v in sd.values())
    print(f"{path}: {len(sd)} tensors, {n} values, loaded into {model_name} with strict=True")
    original = os.path.join(os.path.dirname(path), model_name + ".safetensors")
    if os.path.exists(original) and os.path.abspath(original) != os.path.abspath(path):
        ref = load_file(original)
        worst = max(float((model.state_dict()[k].double() - v.double()).abs().max()) for k, v in ref.items())
        print(f"  max abs difference from {original}: {worst}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(CASES))
    p.add_argument("--classes", type=int)
    p.add_argument("--export", metavar="DIR")
    p.add_argument("--check-load", metavar="FILE")
    a = p.parse_args()
    torch.set_num_threads(2)
    if a.check_load:
        check_load(a.check_load, a.model or "xunet", a.classes)
        return
    if a.export:
        export(a.export)
        return
    for name in ([a.model] if a.model else CASES):
        golden(name)
    resnet18_keys()


if __name__ == "__main__":
    main()
