#!/usr/bin/env python3
"""Golden values for the torchvision segmentation models (Tests/ModelsTests/Golden/tv/).

The networks are torchvision's own (`torchvision.models.segmentation.fcn_resnet50(weights=None,
weights_backbone=None, aux_loss=True)` and the others; `lraspp_mobilenet_v3_large` has no aux
head, so its files have no aux logits and its loss is CE(out) alone): nothing is redefined here. Their
weights are far too large to commit (fcn_resnet50 is 141 MB), so every parameter and batch-norm
buffer is filled by the name-seeded formula of scripts/golden/models_golden.py, which the Swift
tests compute identically (`ParityFill`); only offsets / scales, checksums, logits and gradient
summaries are committed. The inputs are formula values too (`u("eval.input")` · 1.7, …).

For each model, `Golden/tv/<model>.json` holds the state_dict specs (names, shapes, dtypes, fill
offset / scale, checksums), the input sizes, the loss and per-parameter gradient summaries of
one training step; `Golden/tv/<model>.safetensors` the eval-mode main and aux logits and, for
the ResNet-50 models, the train-mode logits, the labels and the BN running statistics after the
train-mode forward. Train mode is batch-statistics batch norm with the heads' dropout layers
switched to eval (dropout draws cannot be shared between frameworks); the loss is torchvision's
reference recipe, cross-entropy(out) + 0.5 · cross-entropy(aux), ignore_index 255. The train
step is computed in float64 (the exact values) and PyTorch's own float32 error against it is
stored beside each value (`torch_f32_err`): see `golden` for why.

`Golden/tv/keys.json` lists name / shape / dtype of the state_dict each torchvision builder
gives at its defaults (21 classes with aux head: the layout of the COCO-with-VOC-labels
checkpoints) and of the ImageNet classifiers resnet50 / resnet101 (their `.pth` files load as
backbones), so the Swift tests check that those files load with nothing missing or unexpected
without committing them.

`Golden/tv/*-layout.pth` are real torch.save files of full state dicts whose tensors are
stride-0 views of one value (see `layout_checkpoints`): tiny, yet loaded end to end.

`--predict` writes `Golden/tv/predict/` for `segscope predict --model fcn-resnet50 --weights …`
(see `predict_fixture`): torchvision's preprocessing of a real VOC photo, its fcn_resnet50 on
formula weights, and its masks at the photo's size as VOC-palette PNGs.

Usage (by hand; CI only reads the committed files):
    python3 scripts/golden/torchvision_golden.py [--model fcn-resnet50] [--layouts] [--predict]
"""
import argparse, copy, json, math, os, sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models import segmentation as S
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import models_golden as G  # noqa: E402  (the fill formula, fill specs and gradient summaries)

OUT = os.path.join(G.REPO, "Tests", "ModelsTests", "Golden", "tv")

BUILDERS = {
    "fcn-resnet50": S.fcn_resnet50,
    "fcn-resnet101": S.fcn_resnet101,
    "deeplabv3-resnet50": S.deeplabv3_resnet50,
    "deeplabv3-resnet101": S.deeplabv3_resnet101,
    "lraspp-mobilenet-v3-large": S.lraspp_mobilenet_v3_large,
}
HAS_AUX = {name: not name.startswith("lraspp") for name in BUILDERS}

# eval: (batch, height, width); train: same, or None (eval parity only: the ResNet-101 variants
# are the same code with more blocks). DeepLabV3's eval input gives layer4 14×14 features, so
# the rate-12 ASPP branch reaches real pixels (at rate 24 / 36 only its centre tap does).
CASES = {
    "fcn-resnet50": dict(classes=3, eval=(1, 64, 80), train=(2, 48, 48)),
    "deeplabv3-resnet50": dict(classes=3, eval=(1, 112, 112), train=(2, 48, 48)),
    "fcn-resnet101": dict(classes=3, eval=(1, 48, 64), train=None),
    "deeplabv3-resnet101": dict(classes=3, eval=(1, 48, 64), train=None),
    # LR-ASPP: high features at H/16 (6×8 here), low at H/8; no aux head.
    "lraspp-mobilenet-v3-large": dict(classes=3, eval=(1, 96, 128), train=(2, 64, 64)),
}


def build(name, classes):
    torch.manual_seed(0)
    aux = {"aux_loss": True} if HAS_AUX[name] else {}
    return BUILDERS[name](weights=None, weights_backbone=None, num_classes=classes, **aux)


def fill_buffers(model, overrides):
    with torch.no_grad():
        state = model.state_dict()
        for name, (offset, scale) in overrides.items():
            t = state[name]
            t.copy_(torch.from_numpy(G.filled(name, t.numel(), offset, scale)).reshape(t.shape))


def calibrate_batch_norm(model, x):
    """models_golden.calibrate_batch_norm, refilling only the calibrated buffers: in forward
    order, each BN's running_mean / running_var offsets become the channel-averaged mean /
    variance of what it sees in eval mode. A BN that sees one value per channel (ASPP's image
    pooling branch at batch 1) gets the second moment about zero instead of a variance of 0."""
    bns = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    order = []
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
        var = float(t.var(dim=(0, 2, 3), unbiased=False).mean())
        if t.shape[0] * t.shape[2] * t.shape[3] == 1:
            var = float((t * t).mean())
        var = float(np.float32(max(var, 1e-3)))
        overrides[n + ".running_mean"] = (mean, float(np.float32(0.1 * abs(mean) + 0.01)))
        overrides[n + ".running_var"] = (var, float(np.float32(0.2 * var)))
        fill_buffers(model, {n + ".running_mean": overrides[n + ".running_mean"],
                             n + ".running_var": overrides[n + ".running_var"]})
    return overrides


def formula_input(name, shape):
    return torch.from_numpy(G.filled(name, int(np.prod(shape)), 0.0, 1.7).reshape(shape).copy())


def formula_labels(name, b, h, w, classes):
    u = (G.unit_values(name, b * h * w) + 1) / 2
    labels = np.minimum((u * classes).astype(np.int64), classes - 1)
    labels[(G.unit_values(name + ".void", b * h * w) + 1) / 2 < 0.05] = 255
    return torch.from_numpy(labels.reshape(b, h, w))


def golden(name):
    case = CASES[name]
    classes = case["classes"]
    model = build(name, classes)
    b, h, w = case["eval"]
    x_eval = formula_input("eval.input", (b, 3, h, w))
    G.fill_model(model)
    specs = G.fill_model(model, calibrate_batch_norm(model, x_eval))

    model.eval()
    with torch.no_grad():
        out = model(x_eval)
    tensors = {k: v.contiguous() for k, v in {"eval.out": out["out"], "eval.aux": out.get("aux")}.items() if v is not None}
    doc = {"model": name, "classes": classes, "torch": torch.__version__, "torchvision": torchvision.__version__,
           "generator": "scripts/golden/torchvision_golden.py",
           "eval": {"batch": b, "size": [h, w], "input_first": [float(v) for v in x_eval.flatten()[:4]],
                    "logit_abs_max": float(out["out"].abs().max())},
           "state_dict": specs}

    if case["train"]:
        b, h, w = case["train"]
        x = formula_input("train.input", (b, 3, h, w))
        labels = formula_labels("train.labels", b, h, w, classes)
        # Train mode at this size is ill-conditioned in float32 (batch statistics of a few dozen
        # values, ReLU kinks): PyTorch's own float32 gradients differ from the exact ones by up to
        # ~10% in single elements. The reference is therefore the same step in float64, and
        # each tolerance the Swift test uses is max(1e-3, 3 × PyTorch float32's own error).
        m64 = copy.deepcopy(model).double()
        out32, loss32, grads32, buffers32 = train_step(model, x, labels)
        out64, loss64, grads64, buffers64 = train_step(m64, x.double(), labels)
        tensors["train.out"] = out64["out"].float().contiguous()
        if "aux" in out64:
            tensors["train.aux"] = out64["aux"].float().contiguous()
        tensors["train.labels"] = labels.to(torch.uint8).contiguous()
        for n, buf in buffers64.items():
            tensors["after_train." + n] = buf.float().contiguous()
        summaries = [G.grad_summary(n, g) for n, g in grads64.items()]
        for summary in summaries:
            summary["torch_f32_err"] = grad_error(grads32[summary["name"]], summary)
        doc["train"] = {"batch": b, "size": [h, w], "loss": loss64, "torch_f32_loss": loss32,
                        "torch_f32_logit_err": float((out32["out"].double() - out64["out"]).abs().max()),
                        "grads": summaries}
        if "aux" in out64:
            doc["train"]["torch_f32_aux_err"] = float((out32["aux"].double() - out64["aux"]).abs().max())

    os.makedirs(OUT, exist_ok=True)
    stem = os.path.join(OUT, name)
    save_file(tensors, stem + ".safetensors", metadata={"generator": "scripts/golden/torchvision_golden.py"})
    with open(stem + ".json", "w") as f:
        json.dump(doc, f, indent=0)
        f.write("\n")
    print(f"{name}: |logits| eval ≤ {doc['eval']['logit_abs_max']:.3f}"
          + (f", loss {doc['train']['loss']:.6f}" if "train" in doc else "")
          + f", {os.path.getsize(stem + '.safetensors') / 1e6:.2f} MB")


def train_step(model, x, labels):
    """One step of torchvision's loss, CE(out) + 0.5 · CE(aux) (no aux: CE(out)), batch-statistics BN, dropout off."""
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.eval()
    out = model(x)
    loss = F.cross_entropy(out["out"], labels, ignore_index=255)
    if "aux" in out:
        loss = loss + 0.5 * F.cross_entropy(out["aux"], labels, ignore_index=255)
    model.zero_grad()
    loss.backward()
    grads = {n: p.grad.detach().double() for n, p in model.named_parameters()}
    buffers = {n: b.detach().clone() for n, b in model.named_buffers() if b.dtype.is_floating_point}
    return {k: v.detach() for k, v in out.items()}, float(loss.detach()), grads, buffers


def grad_error(g, s):
    """ParityCheck.gradError of Tests/ModelsTests/ParityFixture.swift, for a gradient g."""
    g = g.double().flatten()
    probe = torch.from_numpy(G.unit_values(s["name"] + "#probe", g.numel()).astype(np.float64))
    tiny = 1e-12
    errs = [abs(float(g.abs().sum()) - s["abs_sum"]) / max(s["abs_sum"], tiny),
            abs(float((g * g).sum()) ** 0.5 - s["sq_sum"] ** 0.5) / max(s["sq_sum"] ** 0.5, tiny),
            abs(float(g.sum()) - s["sum"]) / max(s["abs_sum"], tiny),
            abs(float((g * probe).sum()) - s["probe"]) / max(s["abs_sum"], tiny)]
    errs += [abs(float(g[i]) - v) / max(s["max_abs"], tiny) for i, v in enumerate(s["first"])]
    return max(errs)


def key_list(module):
    return [[k, list(v.shape), "I64" if v.dtype == torch.int64 else "F32"] for k, v in module.state_dict().items()]


def keys():
    doc = {}
    for name, builder in BUILDERS.items():
        model = builder(weights=None, weights_backbone=None, **({"aux_loss": True} if HAS_AUX[name] else {}))
        doc[name] = {"parameters": sum(p.numel() for p in model.parameters()), "state_dict": key_list(model)}
    for name in ["resnet50", "resnet101", "mobilenet_v3_large"]:
        doc[name] = {"state_dict": key_list(getattr(torchvision.models, name)(weights=None))}
    with open(os.path.join(OUT, "keys.json"), "w") as f:
        f.write("{\n")
        entries = []
        for name, d in doc.items():
            rows = ",\n".join(json.dumps(r) for r in d["state_dict"])
            extra = f'"parameters": {d["parameters"]}, ' if "parameters" in d else ""
            entries.append(f'"{name}": {{{extra}"state_dict": [\n{rows}]}}')
        f.write(",\n".join(entries) + "\n}\n")
    print("keys:", {k: len(v["state_dict"]) for k, v in doc.items()})


def layout_checkpoints():
    """Small real checkpoints with the full layouts: every tensor of a state dict is a stride-0
    view of one value (`torch.full((1,), v).expand(shape)`), so torch.save writes one-element
    storages and the file is tens of KB while names, shapes, dtypes and the pickle are exactly
    what torch.save gives for the real model. Values: v = (i % 7 + 1) / 64 for the i-th tensor
    (exact in float32); num_batches_tracked stays an int64 scalar (i). Written:
      fcn_resnet50-layout.pth   torchvision fcn_resnet50(aux_loss=True), 21 classes
      resnet50-layout.pth       torchvision resnet50 (ImageNet classifier: fc.* included)
      xunet-layout.pth          the xunet reference of ../shared/bench/torch_reference.py"""
    import collections
    def save(model, path):
        sd = collections.OrderedDict()
        for i, (k, v) in enumerate(model.state_dict().items()):
            if v.dtype == torch.int64:
                sd[k] = torch.tensor(i, dtype=torch.int64)
            else:
                sd[k] = torch.full((1,), (i % 7 + 1) / 64.0, dtype=v.dtype).expand(v.shape)
        torch.save(sd, path)
        back = torch.load(path, weights_only=True)
        assert list(back) == list(sd) and all(torch.equal(back[k], sd[k]) for k in sd), path
        print(f"{os.path.basename(path)}: {len(sd)} tensors, {os.path.getsize(path)} bytes")
    save(S.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=True), os.path.join(OUT, "fcn_resnet50-layout.pth"))
    save(torchvision.models.resnet50(weights=None), os.path.join(OUT, "resnet50-layout.pth"))
    save(G.R.MODELS["xunet"]["build"](3), os.path.join(OUT, "xunet-layout.pth"))


PREDICT_PHOTO = "voc/JPEGImages/2007_000032.jpg"  # 500×281, relative to ../shared/fixtures
# (resize, center crop or None): the tutorial flow at reduced sizes (fcn_resnet50 at the
# preset's 520 on a 500×281 photo is 520×925; the weights are formula values either way).
PREDICT_CASES = {"resize160": (160, None), "resize128-crop112": (128, 112)}
# Images whose bytes Pillow's resize gives (FNV-1a 64 of the RGB bytes), shorter side → N:
# the preset's 520 (upscaling), and reductions (antialiased: the filter widens).
PREDICT_RESIZES = [520, 256, 160, 128, 97]


def fixtures_dir():
    here = G.REPO
    for c in [os.environ.get("SEGSCOPE_FIXTURES", ""), os.path.join(os.path.dirname(here), "shared", "fixtures"),
              os.path.join(os.path.dirname(os.path.dirname(here)), "shared", "fixtures")]:
        if c and os.path.exists(os.path.join(c, "voc")):
            return c
    sys.exit("no shared/fixtures found; set SEGSCOPE_FIXTURES")


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def crop_box(photo_w, photo_h, resized_w, resized_h, crop):
    """The part of the photo the network sees, in photo pixels: the whole photo, or the centre
    crop (torchvision's CenterCrop offsets, round half to even) scaled back by the resize and
    rounded half up. Segscope's Predictor computes the same box."""
    if crop is None:
        return 0, 0, photo_w, photo_h
    top = int(round((resized_h - crop) / 2.0))
    left = int(round((resized_w - crop) / 2.0))
    sx, sy = photo_w / resized_w, photo_h / resized_h
    x0, x1 = math.floor(left * sx + 0.5), math.floor((left + crop) * sx + 0.5)
    y0, y1 = math.floor(top * sy + 0.5), math.floor((top + crop) * sy + 0.5)
    return x0, y0, x1, y1


def preprocess(img, resize, crop):
    """torchvision's transforms on a PIL image, as the tutorial writes them."""
    import torchvision.transforms as T
    steps = [T.Resize(resize)] + ([T.CenterCrop(crop)] if crop else []) \
        + [T.ToTensor(), T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])]
    return T.Compose(steps)(img).unsqueeze(0)


def predict_fixture():
    """`Golden/tv/predict/`: what `segscope predict --model fcn-resnet50 --weights W
    [--resize N] [--center-crop N] photo.jpg` must give. fcn_resnet50's weights (141 MB) are not
    committed: every tensor is the name-seeded formula with the offset / scale in
    `fcn-resnet50.json` (BN statistics calibrated on the first case's input), which the Swift
    test writes to a safetensors file before running the command. Torchvision's mask for each
    case: the main head's logits at the network's input size, resized bilinearly
    (align_corners=False) onto the crop's box in the photo, argmax; pixels outside the box 255.
    Also the FNV-1a 64 of the photo's RGB bytes as Pillow decodes it and of Pillow's resize
    (BILINEAR, what torchvision's Resize does to a PIL image) to each of PREDICT_RESIZES, and the
    preset's 520 input (SemanticSegmentation(resize_size=520), the weights' own transforms)."""
    from PIL import Image
    from torchvision.transforms._presets import SemanticSegmentation
    out_dir = os.path.join(OUT, "predict")
    os.makedirs(out_dir, exist_ok=True)
    img = Image.open(os.path.join(fixtures_dir(), PREDICT_PHOTO)).convert("RGB")
    w, h = img.size
    model = build("fcn-resnet50", 21)
    first = next(iter(PREDICT_CASES.values()))
    G.fill_model(model)
    specs = G.fill_model(model, calibrate_batch_norm(model, preprocess(img, *first)))
    model.eval()
    palette = []
    for i in range(256):  # the VOC colour map (Datasets/Palette.swift)
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    cases = {}
    for name, (resize, crop) in PREDICT_CASES.items():
        x = preprocess(img, resize, crop)
        with torch.no_grad():
            logits = model(x)["out"]
        resized = img.resize(tuple(S_size(w, h, resize)), Image.BILINEAR).size
        x0, y0, x1, y1 = crop_box(w, h, resized[0], resized[1], crop)
        with torch.no_grad():
            up = F.interpolate(logits, size=(y1 - y0, x1 - x0), mode="bilinear", align_corners=False)[0]
        top2 = up.topk(2, dim=0).values
        gap = (top2[0] - top2[1]).flatten()
        mask = np.full((h, w), 255, dtype=np.uint8)
        mask[y0:y1, x0:x1] = up.argmax(dim=0).numpy().astype(np.uint8)
        png = Image.fromarray(mask, mode="P")
        png.putpalette(palette)
        png.save(os.path.join(out_dir, f"{name}.png"), optimize=True)
        counts = {int(k): int(v) for k, v in zip(*np.unique(mask, return_counts=True))}
        cases[name] = {"resize": resize, "center_crop": crop, "input": list(x.shape[2:]), "box": [x0, y0, x1, y1],
                       "mask": f"{name}.png", "counts": counts, "logit_abs_max": float(logits.abs().max()),
                       "gap_below_1e-3": int((gap < 1e-3).sum()), "gap_below_1e-2": int((gap < 1e-2).sum())}
        print(f"predict {name}: input {list(x.shape[2:])}, box {[x0, y0, x1, y1]}, classes {sorted(counts)}, "
              f"{cases[name]['gap_below_1e-3']} pixels with a top-2 gap < 1e-3")
    resizes = {}
    for n in PREDICT_RESIZES:
        r = img.resize(tuple(S_size(w, h, n)), Image.BILINEAR)
        resizes[str(n)] = {"size": list(r.size), "fnv1a64": fnv1a64(r.tobytes())}
    preset = SemanticSegmentation(resize_size=520)(img)
    doc = {"model": "fcn-resnet50", "classes": 21, "torch": torch.__version__, "torchvision": torchvision.__version__,
           "generator": "scripts/golden/torchvision_golden.py --predict", "photo": PREDICT_PHOTO,
           "photo_size": [w, h], "photo_fnv1a64": fnv1a64(img.tobytes()), "pillow_resizes": resizes,
           "preset_520": {"shape": list(preset.shape), "sum": float(preset.double().sum()),
                          "first": [float(v) for v in preset.flatten()[:4]]},
           "cases": cases,
           "state_dict": [[e["name"], e["shape"], e.get("offset"), e.get("scale")] for e in specs]}
    with open(os.path.join(out_dir, "fcn-resnet50.json"), "w") as f:
        f.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in doc.items() if k != "state_dict"))
        f.write(',\n"state_dict": [\n' + ",\n".join(json.dumps(r) for r in doc["state_dict"]) + "]\n}\n")
    two_state_dicts(os.path.join(out_dir, "xunet-student-teacher.pth"))
    total = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(f"predict fixture: {total / 1e3:.0f} KB in {out_dir}")


def two_state_dicts(path):
    """A checkpoint that wraps two xunet state dicts, {"epoch": 1, "student": …, "teacher": …}
    (tensors stride-0 views as in `layout_checkpoints`: student (i % 7 + 1) / 64, teacher twice
    that), so only --key picks one."""
    import collections
    model = G.R.MODELS["xunet"]["build"](3)
    def sd(factor):
        out = collections.OrderedDict()
        for i, (k, v) in enumerate(model.state_dict().items()):
            out[k] = torch.tensor(i, dtype=torch.int64) if v.dtype == torch.int64 \
                else torch.full((1,), factor * (i % 7 + 1) / 64.0, dtype=v.dtype).expand(v.shape)
        return out
    torch.save({"epoch": 1, "student": sd(1), "teacher": sd(2)}, path)
    print(f"{os.path.basename(path)}: {os.path.getsize(path)} bytes")


def S_size(w, h, n):
    """torchvision's Resize(n) output size (W, H): the shorter side n, the longer int(n · long / short)."""
    if w <= h:
        return n, int(n * h / w)
    return int(n * w / h), n


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(CASES))
    p.add_argument("--layouts", action="store_true", help="write only the *-layout.pth checkpoints")
    p.add_argument("--predict", action="store_true", help="write only Golden/tv/predict/ (segscope predict)")
    p.add_argument("--keys", action="store_true", help="write only Golden/tv/keys.json")
    a = p.parse_args()
    if a.predict:
        torch.set_num_threads(1)
        predict_fixture()
        return
    if a.layouts:
        layout_checkpoints()
        return
    if a.keys:
        keys()
        return
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for name in ([a.model] if a.model else CASES):
        golden(name)
    if not a.model:
        keys()
        layout_checkpoints()


if __name__ == "__main__":
    main()
