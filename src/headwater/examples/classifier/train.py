"""Train a softmax (multinomial logistic) regression on the Iris data, in plain Python.

    python train.py --lr 0.1 --epochs 200

Prints `hw_linechart_` points while it trains and `hw_tag_` lines at the end, so Headwater
charts the curves and tabulates the results; writes the model to the output folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
Rows = list[list[float]]


def load(path: Path) -> tuple[Rows, list[int], list[str]]:
    with path.open() as fh:
        reader = csv.reader(fh)
        header = next(reader)
        classes = header[2:]
        features, labels = [], []
        for row in reader:
            features.append([float(v) for v in row[:4]])
            labels.append(int(row[4]))
    return features, labels, classes


def split(labels: list[int], seed: int = 7, test_share: float = 0.2) -> tuple[list[int], list[int]]:
    """A stratified split: the same share of every class goes to the test set."""
    rng = random.Random(seed)
    train, test = [], []
    for cls in sorted(set(labels)):
        members = [i for i, y in enumerate(labels) if y == cls]
        rng.shuffle(members)
        cut = round(len(members) * test_share)
        test += members[:cut]
        train += members[cut:]
    return train, test


def softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def predict(w: Rows, b: list[float], x: list[float]) -> list[float]:
    return softmax(
        [
            sum(wi * xi for wi, xi in zip(row, x, strict=True)) + bi
            for row, bi in zip(w, b, strict=True)
        ]
    )


def evaluate(w: Rows, b: list[float], xs: Rows, ys: list[int]) -> tuple[float, float]:
    loss, right = 0.0, 0
    for x, y in zip(xs, ys, strict=True):
        p = predict(w, b, x)
        loss -= math.log(max(p[y], 1e-12))
        right += max(range(len(p)), key=p.__getitem__) == y
    return loss / len(xs), right / len(xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--data", type=Path, default=HERE / "data" / "iris.csv")
    args, _unknown = parser.parse_known_args()  # grid parameters it does not use are fine

    features, labels, classes = load(args.data)
    train, test = split(labels)
    # Standardise with the training rows' statistics only: the test rows stay unseen.
    seen = [features[i] for i in train]
    means = [sum(f[j] for f in seen) / len(seen) for j in range(4)]
    stds = [math.sqrt(sum((f[j] - means[j]) ** 2 for f in seen) / len(seen)) for j in range(4)]
    xs = [[(f[j] - means[j]) / stds[j] for j in range(4)] for f in features]
    train_x, train_y = [xs[i] for i in train], [labels[i] for i in train]
    test_x, test_y = [xs[i] for i in test], [labels[i] for i in test]

    k, d = len(classes), 4
    w = [[0.0] * d for _ in range(k)]
    b = [0.0] * k
    exp = None
    if os.environ.get("HW_EXPERIMENT_ID"):
        try:
            from headwater import Experiment

            exp = Experiment()
            exp.log_params({"lr": args.lr, "epochs": args.epochs})
        except (ImportError, AttributeError):
            exp = None

    for epoch in range(1, args.epochs + 1):
        gw = [[0.0] * d for _ in range(k)]
        gb = [0.0] * k
        for x, y in zip(train_x, train_y, strict=True):
            p = predict(w, b, x)
            for c in range(k):
                err = p[c] - (1.0 if c == y else 0.0)
                gb[c] += err
                for j in range(d):
                    gw[c][j] += err * x[j]
        n = len(train_x)
        for c in range(k):
            b[c] -= args.lr * gb[c] / n
            for j in range(d):
                w[c][j] -= args.lr * gw[c][j] / n
        if epoch % 20 == 0 or epoch == args.epochs:
            loss, accuracy = evaluate(w, b, train_x, train_y)
            print(f"hw_linechart_loss value: {loss:.6f}", flush=True)
            print(f"hw_linechart_accuracy value: {accuracy:.4f}", flush=True)
            if exp is not None:
                exp.log_metrics({"train_loss": loss, "train_accuracy": accuracy}, step=epoch)

    loss, _ = evaluate(w, b, train_x, train_y)
    _, test_accuracy = evaluate(w, b, test_x, test_y)
    print(f"hw_tag_accuracy: {test_accuracy:.4f}")
    print(f"hw_tag_loss: {loss:.4f}")
    output = Path(os.environ.get("HW_OUTPUT_DIR", "output"))
    output.mkdir(parents=True, exist_ok=True)
    model = {
        "classes": classes,
        "weights": w,
        "bias": b,
        "feature_means": means,
        "feature_stds": stds,
        "lr": args.lr,
        "epochs": args.epochs,
        "test_accuracy": test_accuracy,
    }
    path = output / "model.json"
    path.write_text(json.dumps(model, indent=2))
    if exp is not None:
        exp.log_artifact(path)  # already in the output folder: kept where it is
        try:
            exp.close()
        except Exception as exc:  # the stdout lines above already carry every result
            print(f"could not send the SDK's metrics: {exc}", file=sys.stderr)


if __name__ == "__main__":
    main()
