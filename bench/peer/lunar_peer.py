#!/usr/bin/python3
"""Times lunar's models in eager PyTorch (the lunar_torch package in python/) as `lunar bench`
times lunar: the median wall time of a training (or inference) step on random tokens.

Run with Debian's /usr/bin/python3, which has python3-torch. Any configuration: every family,
token or pixel input, single or matching.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

import torch  # noqa: E402  (after the path to the package)
import torch.nn.functional as F  # noqa: E402

from lunar_torch.config import ConfigError, load_run_config, model_config  # noqa: E402
from lunar_torch.model import build_model  # noqa: E402

OPTIM_DEFAULTS = {
    "name": "adamw",
    "lr": 1e-3,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "weight_decay": 0.0,
}


# ---------------------------------------------------------------------------------------------
# time: one training (or inference) step on random tokens


def make_optimizer(model, optim):
    """train::make_optimizer: AdamW (decoupled decay) or Adam (L2), on all parameters."""
    o = {**OPTIM_DEFAULTS, **optim}
    kind = torch.optim.AdamW if o["name"] == "adamw" else torch.optim.Adam
    return kind(model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                weight_decay=o["weight_decay"])


def time_steps(run_config, source, batch, length, threads, mode="train", precision="fp32",
               warmup=2, repeats=5, seed=0):
    """Wall times (s) of `repeats` steps after `warmup` untimed ones, the work of one step as in
    lunar bench (src/perf/benchmark.cpp): a fixed random batch with every position real;
    train = zero_grad, forward, cross-entropy (+ the model's penalty), backward, optimizer step;
    infer = forward without autograd in eval mode. bf16 = CPU autocast around the forward."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    config = model_config(run_config, source)
    config["input"]["max_length"] = max(config["input"]["max_length"], length)
    model = build_model(config)
    pixels = config["input"]["embedding"] == "pixel"
    low, high = (0, 256) if pixels else (2, config["input"]["vocab_size"])
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(low, high, (batch, length), generator=generator)
    mask = torch.ones(batch, length, dtype=torch.bool)
    tokens2 = torch.randint(low, high, (batch, length), generator=generator)
    second = (tokens2, mask) if config["pair"] else (None, None)
    labels = torch.randint(0, config["num_classes"], (batch,), generator=generator)
    bf16 = precision == "bf16"
    training = mode == "train"
    model.train(training)
    optimizer = make_optimizer(model, run_config.get("optim", {})) if training else None

    def step():
        if not training:
            with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                model(tokens, mask, *second)
            return
        optimizer.zero_grad()
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(tokens, mask, *second).float(), labels)
        penalty = model.regularization()
        (loss if penalty is None else loss + penalty).backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return times


def summary(times, tokens_per_step):
    ms = [t * 1e3 for t in times]
    rates = [tokens_per_step / t for t in times]
    return {
        "step_ms": {"median": statistics.median(ms), "min": min(ms), "max": max(ms)},
        "tokens_per_s": {"median": statistics.median(rates), "min": min(rates),
                         "max": max(rates)},
    }


def run_time(args):
    run_config = load_run_config(args.config)
    results = []
    for length in args.lengths:
        times = time_steps(run_config, args.config, args.batch, length, args.threads, args.mode,
                           args.precision, args.warmup, args.repeats)
        results.append({"length": length, **summary(times, args.batch * length)})
    settings = {"batch": args.batch, "mode": args.mode, "precision": args.precision,
                "threads": args.threads, "warmup": args.warmup, "repeats": args.repeats,
                "torch_version": torch.__version__}
    print(json.dumps({"settings": settings, "results": results}, indent=2))


# ---------------------------------------------------------------------------------------------


def lengths(text):
    return [int(part) for part in text.split(",") if part]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    timing = commands.add_parser("time", help="median step time on random tokens (JSON)")
    timing.add_argument("--config", required=True, help="run configuration TOML")
    timing.add_argument("--lengths", type=lengths, default=[1024])
    timing.add_argument("--batch", type=int, default=1)
    timing.add_argument("--threads", type=int, default=2)
    timing.add_argument("--mode", choices=["train", "infer"], default="train")
    timing.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    timing.add_argument("--warmup", type=int, default=2)
    timing.add_argument("--repeats", type=int, default=5)

    args = parser.parse_args(argv)
    try:
        run_time(args)
    except (ConfigError, OSError, ValueError, RuntimeError) as error:
        print(f"lunar_peer: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
