"""A starting point for training: `hw live run train` runs it (see .headwater/live.yaml)."""

import os
from pathlib import Path

epochs = int(os.environ.get("EPOCHS", "1"))
for epoch in range(1, epochs + 1):
    loss = 1 / epoch
    print(f"epoch {epoch}: loss {loss:.3f}")
    print(f"hw_linechart_loss value: {loss}")

output = Path(os.environ.get("HW_OUTPUT_DIR", "output"))
output.mkdir(parents=True, exist_ok=True)
(output / "summary.txt").write_text(f"trained for {epochs} epochs\n")
