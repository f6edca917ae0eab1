"""lunar's models in eager PyTorch, loading the weights that `lunar export` writes.

    import lunar_torch
    model = lunar_torch.load("runs/x/config.toml", "runs/x/weights.pt")  # eval mode
    for batch in lunar_torch.batches(model, lines):  # as `lunar predict` batches and pads
        logits = model(*batch)                         # [B, C], lunar's logits

docs/training.md ("Using a trained model from PyTorch") describes what matches and the limits.
"""

from .config import ConfigError
from .inputs import Batch, InputError, batches, predict, read_lines
from .loading import WeightsError, load, load_run
from .model import LunarModel

__all__ = ["Batch", "ConfigError", "InputError", "LunarModel", "WeightsError", "batches", "load",
           "load_run", "predict", "read_lines"]
