#!/usr/bin/python3
"""The eager-PyTorch peer of lunar (issue 6): lunar's models in torch.nn (peer_model.py).

Subcommands (run with Debian's /usr/bin/python3, which has python3-torch):
  predict  classes and probabilities (or logits) for examples, one per line, batched and
           padded like `lunar predict`, from a run's config.toml and `lunar export` weights
  time     median wall time of a training (or inference) step on random tokens, as `lunar bench`

Families: transformer, luna (luna.sharing full|none), preluna, convluna (simplified|full,
conv|maxpool, temperatures learn|unit|sqrt), ffkernel, simpletron. `predict` reads token texts
(ListOps or bytes), not pixels or pairs; `time` takes any configuration.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import torch
import torch.nn.functional as F

from peer_config import ConfigError, load_run_config, model_config
from peer_model import build_model

OPTIM_DEFAULTS = {
    "name": "adamw",
    "lr": 1e-3,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "weight_decay": 0.0,
}


# ---------------------------------------------------------------------------------------------
# predict: the same examples, batches and padding as `lunar predict`

LISTOPS_SYMBOLS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "[MIN", "[MAX", "[MED",
                   "[SM", "X"]


def listops_tokens(line, max_length):
    """src/data/tokenizer.cpp: drop ( and ), ] -> X, split on whitespace; ids 2..16, unknown 1."""
    symbols = line.replace("(", "").replace(")", "").replace("]", "X").split()[:max_length]
    return [LISTOPS_SYMBOLS.index(s) + 2 if s in LISTOPS_SYMBOLS else 1 for s in symbols]


def byte_tokens(line, max_length):
    return [b + 1 for b in line.encode("utf-8")[:max_length]]


def collate(rows, pad_to=0):
    """src/data/batch_loader.cpp: zero padding to the longest row (pad_to 0) or to pad_to,
    mask true on real tokens."""
    longest = pad_to or max(len(row) for row in rows)
    tokens = torch.zeros(len(rows), longest, dtype=torch.long)
    mask = torch.zeros(len(rows), longest, dtype=torch.bool)
    for b, row in enumerate(rows):
        tokens[b, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[b, : len(row)] = True
    return tokens, mask


def predict_lines(config_path, weights, lines, batch_size, logits):
    """`lunar predict`'s output lines (class TAB values) at full float precision."""
    run_config = load_run_config(config_path)
    config = model_config(run_config, config_path)
    if config["pair"] or config["input"]["embedding"] != "token":
        raise ConfigError(f"{config_path}: predict reads single token texts (ListOps or bytes)")
    task = run_config.get("task", {}).get("name", "listops")
    tokenize = listops_tokens if task == "listops" else byte_tokens
    model = build_model(config)
    try:
        model.load_state_dict(torch.load(weights), strict=True)
    except RuntimeError as error:
        raise ConfigError(f"{weights} does not fit the model of {config_path}: {error}") from error
    model.eval()
    examples = [tokenize(line, config["input"]["max_length"]) for line in lines]
    padding = run_config.get("task", {}).get("padding", "longest")
    pad_to = config["input"]["max_length"] if padding == "max_length" else 0
    out = []
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            tokens, mask = collate(examples[start:start + batch_size], pad_to)
            raw = model(tokens, mask)
            values = raw if logits else torch.softmax(raw, -1)
            for row, label in zip(values.tolist(), raw.argmax(-1).tolist()):
                out.append(f"{label}\t" + " ".join(f"{v:.9g}" for v in row) + "\n")
    return "".join(out)


def run_predict(args):
    configs = args.config or [str(Path(d) / "config.toml") for d in args.run_dir]
    if len(args.weights) != len(configs) or (args.out and len(args.out) != len(configs)):
        raise ConfigError("expected as many --weights (and --out) as runs")
    if len(configs) > 1 and not args.out:
        raise ConfigError("several runs need one --out file each")
    lines = [line.rstrip("\r") for line in Path(args.input).read_text().split("\n") if line]
    for index, config_path in enumerate(configs):
        text = predict_lines(config_path, args.weights[index], lines, args.batch_size, args.logits)
        if args.out:
            Path(args.out[index]).write_text(text)
        else:
            sys.stdout.write(text)


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

    predict = commands.add_parser("predict", help="probabilities like `lunar predict`")
    where = predict.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", nargs="+", help="run configuration TOML(s) (config.toml)")
    where.add_argument("--run-dir", nargs="+", help="lunar train run dir(s) (their config.toml)")
    predict.add_argument("--weights", nargs="+", required=True,
                         help="state dict(s) from `lunar export`, one per run")
    predict.add_argument("--out", nargs="+", help="output file(s), one per run; default stdout")
    predict.add_argument("--input", required=True, help="one example per line")
    predict.add_argument("--batch-size", type=int, default=32)
    predict.add_argument("--logits", action="store_true", help="raw logits, not probabilities")

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
        if args.command == "predict":
            run_predict(args)
        else:
            run_time(args)
    except (ConfigError, OSError, ValueError, RuntimeError) as error:
        print(f"lunar_peer: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
