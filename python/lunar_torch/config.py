"""A lunar run configuration in Python: TOML with `include`, the [model] keys with their defaults
(read from lunar's key listing) and checks, registry.cpp's resolve(), and the [task] facts that
decide how inputs are batched."""

import json
import tomllib
from pathlib import Path

# Every configuration key with its default, as `lunar train --list-keys --json` lists them
# (keys.json beside this file is that listing; tests/train/config_test.cpp checks it is current).
KEYS = json.loads((Path(__file__).with_name("keys.json")).read_text())


def defaults(table):
    """The defaults of the keys under `table` ("model"), nested as in TOML: {"luna": {...}}."""
    out = {}
    for row in KEYS:
        path = row["key"].split(".")
        if path[0] != table:
            continue
        node = out
        for part in path[1:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = row["default"]
    return out


# The [model] keys and their defaults.
MODEL_DEFAULTS = defaults("model")

# The registry rows, as `lunar models --json` lists them (architectures.json beside this file;
# tests/cli/models_e2e.cpp checks it is current): name -> (default norm, default masks, has memory)
ARCHITECTURES = {
    row["name"]: (row["default_norm"], row["default_masks"], row["has_memory"])
    for row in json.loads((Path(__file__).with_name("architectures.json")).read_text())
}



def allowed(key):
    """The values an enumerated key accepts: allowed("task.padding") == ("longest", ...)."""
    return tuple(next(row["values"] for row in KEYS if row["key"] == key))


# The built-in task names; task.padding's values.
TASK_NAMES = allowed("task.name")
PADDINGS = allowed("task.padding")


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
