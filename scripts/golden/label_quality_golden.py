"""Golden values for SampleMetrics.softmin / Inference.selfConfidence (Tests/TrainingTests/SampleMetricsTests.swift).

cleanlab.segmentation.rank._get_label_quality_per_image(method="softmin", temperature=0.1) is
np.dot(softmax(-pixel_scores / temperature), pixel_scores) over an image's per-pixel self-confidences
(the predicted probability of the given label). Written out here with torch so the numbers come from
an independent implementation: python scripts/golden/label_quality_golden.py
"""
import torch

def softmin(p, t=0.1):
    p = torch.tensor(p, dtype=torch.float64)
    return float(torch.dot(torch.softmax(-p / t, dim=0), p))

print("softmin([0.9, 0.8, 0.1])  =", repr(softmin([0.9, 0.8, 0.1])))
print("softmin([0.5, 0.5])       =", repr(softmin([0.5, 0.5])))
print("softmin([1.0, 1.0, 0.0])  =", repr(softmin([1.0, 1.0, 0.0])))

# Self-confidence: CHW logits of 3 classes over 4 pixels, labels [0, 2, 255, 1].
logits = torch.tensor([[0.0, 1.0, 2.0, -1.0],
                       [1.0, 0.0, 2.0, 3.0],
                       [2.0, -2.0, 2.0, 0.5]], dtype=torch.float64)
labels = [0, 2, 255, 1]
probs = torch.softmax(logits, dim=0)
conf = [float(probs[l, i]) for i, l in enumerate(labels) if l < 3]
print("selfConfidence           =", [repr(c) for c in conf])
print("softmin(selfConfidence)  =", repr(softmin(conf)))
