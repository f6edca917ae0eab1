"""A lunar run configuration in Python: TOML with `include`, the [model] keys with their defaults
and checks, registry.cpp's resolve(), and the [task] facts that decide how inputs are batched."""

import json
import tomllib
from pathlib import Path

# The [model] keys and their defaults (include/lunar/models/config.h).
MODEL_DEFAULTS = {
    "architecture": "convluna",
    "dim": 128,
    "num_heads": 4,
    "attention_dim": 0,
    "ffn_dim": 512,
    "num_blocks": 2,
    "dropout": 0.1,
    "attention_dropout": 0.1,
    "attention_chunk": 0,  # lunar's memory/time trade in training; the same function
    "norm": "",
    "masks": "auto",
    "representation": "cls",
    "pair_features": "uv",
    "pair_activation": "gelu",
    "num_classes": 2,
    "pair": False,
    "input": {"embedding": "token", "vocab_size": 0, "max_length": 0, "pixel_mean": 0.48,
              "pixel_std": 0.24},
    "luna": {"memory_len": 16, "sharing": "full"},
    "convluna": {
        "variant": "simplified",
        "filter": "conv",
        "kernel": 4,
        "stride": 1,
        "pack_temperature": "learn",
        "unpack_temperature": "unit",
    },
    "ffkernel": {"feature_map": "gated3", "orthogonality": 0.0},
    "simpletron": {"length_norm": "padded", "output_projection": False},
}

# registry.cpp: name -> (default norm, default masks, has memory)
ARCHITECTURES = {
    "transformer": ("pre", True, False),
    "luna": ("post", False, True),
    "preluna": ("pre", False, True),
    "convluna": ("post", False, True),
    "ffkernel": ("pre", False, False),
    "simpletron": ("pre", False, False),
}

# task_registry.cpp's task names; task.padding's values (src/train/config_keys.cpp).
TASK_NAMES = ("listops", "text", "matching", "cifar10", "fmnist", "pathfinder")
PADDINGS = ("longest", "max_length")


class ConfigError(ValueError):
    """A configuration lunar would refuse, or one this package cannot read."""


def read_toml(path, chain=()):
    """A TOML file with lunar's `include` applied: included files first, then the file's keys."""
    path = Path(path)
    if path in chain:
        raise ConfigError(
            f"[config] {path}: include cycle through {' -> '.join(map(str, chain))}")
    try:
        table = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"[config] expected a TOML run configuration in {path}, got: {error}"
                          ) from error
    return apply_includes(table, path.parent, (*chain, path))


def apply_includes(table, base_dir, chain=()):
    includes = table.pop("include", [])
    merged = {}
    for target in [includes] if isinstance(includes, str) else includes:
        deep_update(merged, read_toml(Path(base_dir) / target, chain))
    deep_update(merged, table)
    return merged


def deep_update(target, source):
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_update(target[key], value)
        else:
            target[key] = value
    return target


def model_config(run_config, source):
    """The [model] table of a run configuration on top of the defaults, keys checked."""
    config = json.loads(json.dumps(MODEL_DEFAULTS))
    given = run_config.get("model", {})

    def merge(into, values, prefix):
        for key, value in values.items():
            if key not in into:
                raise ConfigError(f"[config] {source}: unknown key model.{prefix}{key}")
            if isinstance(into[key], dict):
                if not isinstance(value, dict):
                    raise ConfigError(f"[config] {source}: model.{prefix}{key} expected a table, "
                                      f"got {value!r}")
                merge(into[key], value, f"{prefix}{key}.")
            elif type(value) is not type(into[key]) and not (
                isinstance(into[key], float) and isinstance(value, int)
            ):
                raise ConfigError(
                    f"[config] {source}: model.{prefix}{key} expected "
                    f"{type(into[key]).__name__}, "
                    f"got {value!r}"
                )
            else:
                into[key] = value

    merge(config, given, "")
    return resolve(config, source)


def resolve(c, source):
    """registry.cpp's resolve(): architecture defaults for norm, masks and attention_dim."""
    if c["architecture"] not in ARCHITECTURES:
        raise ConfigError(
            f"[config] {source}: model.architecture expected one of {'|'.join(ARCHITECTURES)}, "
            f"got '{c['architecture']}'"
        )
    norm, masks, _ = ARCHITECTURES[c["architecture"]]
    if c["norm"] == "":
        c["norm"] = norm
    if c["masks"] == "auto":
        c["masks"] = "on" if masks else "off"
    if c["attention_dim"] == 0:
        c["attention_dim"] = c["dim"]
    if c["attention_dim"] % c["num_heads"]:
        raise ConfigError(f"[config] {source}: expected model.num_heads to divide the attention "
                          f"width {c['attention_dim']}, got {c['num_heads']}")
    return c


def task_config(run_config, source):
    """The [task] keys that decide tokens and padding: {"name", "padding"}, lunar's defaults."""
    task = run_config.get("task", {})
    name, padding = task.get("name", "listops"), task.get("padding", "longest")
    if name not in TASK_NAMES:
        raise ConfigError(f"[config] {source}: task.name expected one of "
                          f"{'|'.join(TASK_NAMES)}, got {name!r}")
    if padding not in PADDINGS:
        raise ConfigError(f"[config] {source}: task.padding expected one of "
                          f"{'|'.join(PADDINGS)}, got {padding!r}")
    return {"name": name, "padding": padding}


def load_run_config(path):
    return read_toml(path)
