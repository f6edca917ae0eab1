"""`lunar predict --logits` in PyTorch: for each run folder, the class and the logits of every
example (one per line of EXAMPLES), written to RUN/logits.txt in lunar's format.

    predict_logits.py EXAMPLES RUN [RUN ...]    (a RUN holds config.toml and weights.pt)
"""
import sys
from pathlib import Path

import torch

import lunar_torch

examples, runs = sys.argv[1], sys.argv[2:]
lines = lunar_torch.read_lines(examples)  # read as `lunar predict --input` reads them
for run in map(Path, runs):
    model = lunar_torch.load(run / "config.toml", run / "weights.pt")  # strict, eval mode
    with torch.no_grad(), open(run / "logits.txt", "w") as out:
        for batch in lunar_torch.batches(model, lines, batch_size=32):  # as lunar predict
            logits = model(*batch)  # [B, C]
            for row in logits.tolist():
                label = row.index(max(row))  # the first maximum, as lunar predict
                out.write(f"{label}\t" + " ".join(f"{v:.9g}" for v in row) + "\n")
