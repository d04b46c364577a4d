#!/usr/bin/env python3
"""Segscope vs PyTorch, side by side in one sitting (standard library only).

Alternates `segscope bench train --json` and ../shared/bench/torch_reference.py --json with the
same model, batch, size and threads, REPEATS times per configuration, and prints the medians and
the ratios Segscope ÷ PyTorch (images/s: higher is better for us; peak RSS: lower is better).

    scripts/bench_vs_torch.py [--repeats 2] [--iters 3] [--threads 2] [--backend dnnl]
                              [--models xunet,unet,fcn-resnet18] [--batches 1,8] [--precision fp32]

--precision bf16: `segscope bench train --precision bf16` beside PyTorch's bf16 autocast
(scripts/torch_autocast_reference.py, the same models and timing with torch.autocast on the CPU).
"""
import argparse, json, os, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--backend", default="dnnl")
    p.add_argument("--models", default="xunet,unet,fcn-resnet18")
    p.add_argument("--batches", default="1,8")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--segscope", default=os.path.join(REPO, ".build/release/segscope"))
    p.add_argument("--python", default=os.environ.get("SEGSCOPE_TORCH_PYTHON", os.path.expanduser("~/torch-venv/bin/python")))
    candidates = [os.path.join(REPO, "..", "shared", "bench", "torch_reference.py"), "/work/shared/bench/torch_reference.py"]
    p.add_argument("--reference", default=next((c for c in candidates if os.path.exists(c)), candidates[0]))
    a = p.parse_args()
    for path, what in [(a.segscope, "segscope (swift build -c release)"), (a.python, "PyTorch's python"),
                       (a.reference, "torch_reference.py")]:
        if not os.path.exists(path):
            sys.exit(f"{path}: not found ({what})")
    rows = []
    for model in a.models.split(","):
        for batch in map(int, a.batches.split(",")):
            common = ["--model", model, "--batch", str(batch), "--threads", str(a.threads), "--iters", str(a.iters), "--json"]
            ours, theirs = [], []
            for _ in range(a.repeats):
                ours.append(run([a.segscope, "bench", "train", "--backend", a.backend, "--precision", a.precision] + common))
                if a.precision == "bf16":
                    theirs.append(run([a.python, os.path.join(HERE, "torch_autocast_reference.py"), "--precision", "bf16"] + common))
                else:
                    theirs.append(run([a.python, a.reference] + common))
            med = lambda runs, k: statistics.median(r[k] for r in runs)
            row = {"model": model, "batch": batch, "precision": a.precision}
            for k in ["train_img_s", "infer_img_s", "peak_rss_mib"]:
                row[k] = (med(ours, k), med(theirs, k))
            rows.append(row)
            t, i, m = row["train_img_s"], row["infer_img_s"], row["peak_rss_mib"]
            print(f"{model:>13} b{batch}: train {t[0]:6.2f} vs {t[1]:6.2f} img/s = {t[0]/t[1]:4.2f}x | "
                  f"infer {i[0]:6.2f} vs {i[1]:6.2f} = {i[0]/i[1]:4.2f}x | "
                  f"peak RSS {m[0]:6.0f} vs {m[1]:6.0f} MiB = {m[0]/m[1]:4.2f}x", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
