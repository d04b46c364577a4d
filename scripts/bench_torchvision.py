#!/usr/bin/env python3
"""PyTorch side of `segscope bench train` for the torchvision segmentation models.

../shared/bench/torch_reference.py (read-only here) knows the first three networks only; this
script times torchvision's own fcn_resnet50 / fcn_resnet101 / deeplabv3_resnet50 /
deeplabv3_resnet101 / lraspp_mobilenet_v3_large the same way (its `timed`: 2 warm-ups, median of --iters; same JSON keys).
Inference builds them with aux_loss=False: Segscope's inference runs the main head only, and the
aux head would add work PyTorch's tutorial output does not use. Peak RSS is the process's.

    /root/torch-venv/bin/python scripts/bench_torchvision.py --model fcn-resnet50 --size 520x520 --threads 2 --mode infer --json
next to
    .build/release/segscope bench train --model fcn-resnet50 --batch 1 --size 520x520 --threads 2 --json
"""
import argparse, json, os, resource, sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
for candidate in [os.environ.get("SEGSCOPE_TORCH_REFERENCE", ""), os.path.join(os.path.dirname(REPO), "shared", "bench")]:
    if candidate and os.path.exists(os.path.join(candidate, "torch_reference.py")):
        sys.path.insert(0, candidate)
        break


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["fcn-resnet50", "fcn-resnet101", "deeplabv3-resnet50", "deeplabv3-resnet101",
                                       "lraspp-mobilenet-v3-large"],
                   required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size", default="520x520")
    p.add_argument("--classes", type=int, default=21)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--mode", choices=["train", "infer", "both"], default="infer")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(v, str(a.threads))
    import torch
    import torch.nn.functional as F
    from torchvision.models import segmentation as S
    from torch_reference import timed

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    h, w = map(int, a.size.lower().split("x"))
    build = getattr(S, a.model.replace("-", "_"))
    has_aux = not a.model.startswith("lraspp")  # lraspp has no aux head (its builder refuses aux_loss)
    aux = (lambda on: {"aux_loss": on}) if has_aux else (lambda on: {})
    x = torch.randn(a.batch, 3, h, w)
    out = {"model": a.model, "batch": a.batch, "size": [h, w], "classes": a.classes, "threads": a.threads,
           "torch": torch.__version__}
    if a.mode in ("infer", "both"):
        model = build(weights=None, weights_backbone=None, num_classes=a.classes, **aux(False)).eval()
        out["params"] = sum(t.numel() for t in model.parameters())

        def infer():
            with torch.no_grad():
                model(x)["out"]
        s = timed(infer, a.iters)
        out["infer_ms"] = s * 1e3
        out["infer_img_s"] = a.batch / s
    if a.mode in ("train", "both"):
        model = build(weights=None, weights_backbone=None, num_classes=a.classes, **aux(True)).train()
        y = torch.randint(0, a.classes, (a.batch, h, w))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            o = model(x)
            loss = F.cross_entropy(o["out"], y, ignore_index=255)
            if has_aux:
                loss = loss + 0.5 * F.cross_entropy(o["aux"], y, ignore_index=255)
            loss.backward()
            opt.step()
        s = timed(step, a.iters)
        out["train_ms"] = s * 1e3
        out["train_img_s"] = a.batch / s
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out) if a.json else "\n".join(f"{k:>14}: {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
