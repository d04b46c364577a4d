#!/usr/bin/env python3
"""Golden segmentation metrics on the real VOC fixture masks, for Tests/TrainingTests/MetricsTests.swift.

Run from the repository root (needs numpy and Pillow, e.g. ~/torch-venv):
    ~/torch-venv/bin/python scripts/golden/metrics_fixture.py

The truth is each fixture mask (../shared/fixtures/voc/SegmentationClass/*.png, palette indices,
255 = void). The "prediction" is a deterministic corruption of it that the Swift test repeats:
void pixels become 0, the mask is shifted 16 columns right (the first 16 columns become 0), and
in 2007_000042 class 19 (train) is predicted as 20 (tvmonitor).

The metric code follows MMSegmentation (mmseg/evaluation/metrics/iou_metric.py:
intersect_and_union + total_area_to_metrics), written out here with numpy so no mmseg install is
needed: pooled areas over all images, nan for 0/0, nan-means.
"""
import json
import os

import numpy as np
from PIL import Image

FIXTURES = os.environ.get("SEGSCOPE_FIXTURES", os.path.join("..", "shared", "fixtures"))
IDS = ["2007_000032", "2007_000033", "2007_000039", "2007_000042"]
NUM_CLASSES = 21
IGNORE = 255
OUT = os.path.join("Tests", "TrainingTests", "Golden", "voc_fixture_metrics.json")


def prediction_for(image_id, label):
    pred = label.copy()
    pred[pred == IGNORE] = 0
    pred = np.concatenate([np.zeros((pred.shape[0], 16), dtype=pred.dtype), pred[:, :-16]], axis=1)
    if image_id == "2007_000042":
        pred[pred == 19] = 20
    return pred


def intersect_and_union(pred, label):
    mask = label != IGNORE
    pred, label = pred[mask].astype(np.int64), label[mask].astype(np.int64)
    intersect = pred[pred == label]
    area_intersect = np.bincount(intersect, minlength=NUM_CLASSES).astype(np.float64)
    area_pred = np.bincount(pred, minlength=NUM_CLASSES).astype(np.float64)
    area_label = np.bincount(label, minlength=NUM_CLASSES).astype(np.float64)
    return area_intersect, area_pred + area_label - area_intersect, area_pred, area_label


def metrics(ai, au, ap, al):
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = ai / au
        acc = ai / al
        dice = 2 * ai / (ap + al)
        freq = al / al.sum()
    fw = float(np.nansum(freq[al > 0] * iou[al > 0]))
    as_list = lambda a: [None if np.isnan(v) else float(v) for v in a]
    return {
        "aAcc": float(ai.sum() / al.sum()),
        "mIoU": float(np.nanmean(iou)), "mAcc": float(np.nanmean(acc)), "mDice": float(np.nanmean(dice)),
        "fwIoU": fw, "class_iou": as_list(iou), "class_acc": as_list(acc), "class_dice": as_list(dice),
        "class_pixels": [int(v) for v in al], "pixels": int(al.sum()),
    }


def main():
    totals = [np.zeros(NUM_CLASSES) for _ in range(4)]
    per_image = {}
    for image_id in IDS:
        label = np.array(Image.open(os.path.join(FIXTURES, "voc", "SegmentationClass", image_id + ".png")))
        areas = intersect_and_union(prediction_for(image_id, label), label)
        for t, a in zip(totals, areas):
            t += a
        per_image[image_id] = metrics(*areas)["mIoU"]
    result = {"pooled": metrics(*totals), "image_mIoU": per_image}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    print("wrote", OUT, "mIoU", result["pooled"]["mIoU"], "aAcc", result["pooled"]["aAcc"])


if __name__ == "__main__":
    main()
