"""A trained lunar model as a torch.nn.Module: the run's configuration builds the model, the
state dict that `lunar export` wrote fills it (strict: every name and shape must match)."""

import zipfile
from pathlib import Path

import torch

from .config import load_run_config, model_config, task_config
from .model import build_model


class WeightsError(ValueError):
    """A weights file that is not `lunar export`'s state dict for the configured model."""


def export_hint(checkpoint, out="weights.pt"):
    return f"run `lunar export --checkpoint {checkpoint} --out {out}` first"


def read_weights(path):
    """The {name: tensor} dict in a file `lunar export` (or torch.save of a dict) wrote."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"[weights] cannot open {path}: no such file")
    # A lunar checkpoint is a TorchScript archive (it has constants.pkl); torch.load would
    # return a ScriptModule without lunar's parameter names.
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if any(name.endswith("/constants.pkl") for name in archive.namelist()):
                raise WeightsError(
                    f"[weights] expected the state dict that `lunar export` writes, got a "
                    f"TorchScript archive such as a lunar checkpoint in {path}: "
                    f"{export_hint(path)} and load weights.pt")
    # weights_only: tensors and plain containers, nothing else unpickled.
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for files it cannot read
        older = ("; a `lunar export` from before its dicts were untagged (TorchScript's "
                 "restore_type_tag): export it again" if "restore_type_tag" in str(error) else "")
        raise WeightsError(f"[weights] expected a state dict written by `lunar export` or "
                           f"torch.save in {path}{older}, got: {error}") from error
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise WeightsError(f"[weights] expected a dict of name -> tensor in {path}, got "
                           f"{type(state).__name__}")
    return state


def load_weights(model, path, config_path):
    """load_state_dict(strict=True), after a check whose message names every missing,
    unexpected and misshapen tensor and both files."""
    state = read_weights(path)
    expected = model.state_dict()
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    problems = []
    if missing:
        problems.append("missing " + ", ".join(repr(name) for name in missing))
    if unexpected:
        problems.append("unexpected " + ", ".join(repr(name) for name in unexpected))
    problems += [f"'{name}' expected shape {list(tensor.shape)}, got {list(state[name].shape)}"
                 for name, tensor in expected.items()
                 if name in state and state[name].shape != tensor.shape]
    if problems:
        raise WeightsError(f"[weights] {path} does not fit the model that {config_path} "
                           f"configures: {'; '.join(problems)}")
    model.load_state_dict(state, strict=True)


def load(config, weights):
    """The model of a run configuration (a run's config.toml: it holds the task facts that
    `lunar train` copied into [model]) with the weights `lunar export` wrote, in eval mode.
    Raises ConfigError for a configuration this package does not know, WeightsError for
    weights that do not fit."""
    run_config = load_run_config(config)
    model = build_model(model_config(run_config, config), task_config(run_config, config))
    load_weights(model, weights, config)
    return model.eval()


def load_run(run_dir, weights=None):
    """load(run_dir/config.toml, weights), weights by default run_dir/weights.pt."""
    run_dir = Path(run_dir)
    weights = run_dir / "weights.pt" if weights is None else Path(weights)
    if not weights.is_file():
        raise WeightsError(f"[weights] cannot open {weights}: no such file; "
                           f"{export_hint(run_dir / 'checkpoints' / 'best.pt', weights)}")
    return load(run_dir / "config.toml", weights)
