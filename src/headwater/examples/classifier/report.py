"""Report on the model a flow's condition kept: reads it from the Train task's artifacts.

In a flow, ``input/train/`` holds the chosen Train instance's output folder and
``HW_TRAIN_ACCURACY`` its ``accuracy`` tag (seed 002: artifacts and tags flow on).
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def main() -> None:
    folder = Path(os.environ.get("INPUT_TRAIN", "input/train"))
    model = json.loads((folder / "model.json").read_text())
    accuracy = float(os.environ.get("HW_TRAIN_ACCURACY", model["test_accuracy"]))
    print(f"best learning rate: {model['lr']} ({model['epochs']} epochs)")
    print(f"held-out accuracy: {accuracy:.4f}")
    print(f"hw_tag_best_lr: {model['lr']}")
    print(f"hw_tag_best_accuracy: {accuracy:.4f}")
    output = Path(os.environ.get("HW_OUTPUT_DIR", "output"))
    output.mkdir(parents=True, exist_ok=True)
    (output / "report.md").write_text(
        f"# Iris report\n\nBest learning rate: {model['lr']}\n\nAccuracy: {accuracy:.4f}\n"
    )


if __name__ == "__main__":
    main()
