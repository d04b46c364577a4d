#!/usr/bin/env python3
"""PyTorch CPU reference with bf16 autocast: ../shared/bench/torch_reference.py's three models and
timing, with the forward (and the loss's input) under torch.autocast(device_type="cpu",
dtype=torch.bfloat16) — PyTorch's own mixed precision on the CPU: convolutions in bf16 on oneDNN,
fp32 master weights and Adam state, the loss computed in fp32.

Prints the same JSON keys as torch_reference.py (plus "precision"), so scripts/bench_vs_torch.py
--precision bf16 puts it beside `segscope bench train --precision bf16`.

    python3 scripts/torch_autocast_reference.py --model xunet --batch 8 --threads 2 --json [--precision fp32]
"""
import argparse, json, os, resource, sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
for candidate in [os.environ.get("SEGSCOPE_TORCH_REFERENCE", ""),
                  os.path.join(os.path.dirname(REPO), "shared", "bench"),
                  os.path.join(os.path.dirname(os.path.dirname(REPO)), "shared", "bench")]:
    if candidate and os.path.exists(os.path.join(candidate, "torch_reference.py")):
        sys.path.insert(0, candidate)
        break
import torch_reference as R  # noqa: E402  (sets the thread variables from --threads before torch loads)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(R.MODELS), required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size")
    p.add_argument("--classes", type=int)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--mode", choices=["train", "infer", "both"], default="both")
    p.add_argument("--precision", choices=["bf16", "fp32"], default="bf16")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = R.MODELS[a.model]
    classes = a.classes or cfg["classes"]
    h, w = map(int, a.size.lower().split("x")) if a.size else cfg["size"]
    model = cfg["build"](classes)
    x = torch.randn(a.batch, 3, h, w)
    y = torch.randint(0, classes, (a.batch, h, w))
    y[torch.rand(a.batch, h, w) < 0.05] = 255
    bf16 = a.precision == "bf16"
    autocast = lambda: torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=bf16)
    out = {"model": a.model, "batch": a.batch, "size": [h, w], "classes": classes, "threads": a.threads,
           "params": sum(t.numel() for t in model.parameters()), "torch": torch.__version__,
           "precision": a.precision}
    if a.mode in ("infer", "both"):
        model.eval()
        def infer():
            with torch.no_grad(), autocast():
                model(x)
        s = R.timed(infer, a.iters)
        out["infer_ms"], out["infer_img_s"] = s * 1e3, a.batch / s
    if a.mode in ("train", "both"):
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        def step():
            opt.zero_grad(set_to_none=True)
            with autocast():
                logits = model(x)
            F.cross_entropy(logits.float(), y, ignore_index=255).backward()
            opt.step()
        s = R.timed(step, a.iters)
        out["train_ms"], out["train_img_s"] = s * 1e3, a.batch / s
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if a.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>14}: {v:.2f}" if isinstance(v, float) else f"{k:>14}: {v}")


if __name__ == "__main__":
    main()
