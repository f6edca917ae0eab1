#!/usr/bin/python3
"""Times lunar and its eager-PyTorch peer on the same configs, threads and machine, in one run.

Runs `lunar bench` first (its JSON holds every model's effective run configuration), then builds
the peer (lunar_peer.py) from each of those configurations and times the same step (batch,
length, mode, precision, warm-up and repetitions as lunar's settings) with the same thread
count. Prints a Markdown table with the medians and the speed-up lunar/peer (tokens/s).

  /usr/bin/python3 bench/peer/compare.py --lunar build/apps/lunar/lunar \\
      --models convluna --lengths 1024,4096 --batch 1 --threads 2 --mode train
"""

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lunar_peer  # noqa: E402  (the peer lives beside this script)


def run_lunar_bench(args, out):
    command = [args.lunar, "bench", "--models", args.models, "--lengths", args.lengths,
               "--batch", str(args.batch), "--mode", args.mode, "--precision", args.precision,
               "--threads", str(args.threads), "--warmup", str(args.warmup),
               "--repeats", str(args.repeats), "--out", str(out)]
    if args.memory:
        command += ["--memory", str(args.memory)]
    if args.config:
        command += ["--config", args.config]
    if args.set:
        command += ["--set", *args.set]
    print("$ " + " ".join(command), file=sys.stderr)
    # lunar's own table goes to stderr so that stdout holds only the comparison
    completed = subprocess.run(command, stdout=sys.stderr, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"compare: lunar bench failed with exit code {completed.returncode}")
    return json.loads(Path(out).read_text())


def time_peer(report, point):
    settings = report["settings"]
    model = point["model"]
    run_config = tomllib.loads(report["configs"][model])
    times = lunar_peer.time_steps(run_config, f"lunar bench config of {model}",
                                  settings["batch"], point["length"], settings["threads"],
                                  settings["mode"], settings["precision"], settings["warmup"],
                                  settings["repeats"])
    return lunar_peer.summary(times, settings["batch"] * point["length"])


def compare(report):
    rows = []
    for point in report["results"]:
        row = {"model": point["model"], "length": point["length"], "lunar": point, "peer": None}
        if point["status"] == "ok":
            print(f"peer: {point['model']} L={point['length']}...", file=sys.stderr)
            try:
                row["peer"] = time_peer(report, point)
            except RuntimeError as error:  # e.g. out of memory at a length lunar affords
                row["peer"] = {"status": "failed", "reason": str(error).splitlines()[0]}
        rows.append(row)
    return rows


def markdown(report, rows):
    s = report["settings"]
    lines = [
        f"batch {s['batch']}, mode {s['mode']}, precision {s['precision']}, threads "
        f"{s['threads']}, warm-up {s['warmup']}, median of {s['repeats']} steps; lunar "
        f"(LibTorch {s.get('torch_version', '?')}) vs eager PyTorch "
        f"{lunar_peer.torch.__version__}",
        "",
        "| model | length | lunar tokens/s | peer tokens/s | lunar ms/step | peer ms/step "
        "| speed-up lunar/peer |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lunar, peer = row["lunar"], row["peer"]
        if lunar["status"] != "ok":
            cells = [f"lunar {lunar['status']}"] + [""] * 4
        elif "status" in (peer or {}):
            cells = [f"{lunar['tokens_per_s']['median']:.0f}", f"peer {peer['status']}",
                     f"{lunar['step_ms']['median']:.1f}", "", ""]
        else:
            ratio = lunar["tokens_per_s"]["median"] / peer["tokens_per_s"]["median"]
            cells = [f"{lunar['tokens_per_s']['median']:.0f}",
                     f"{peer['tokens_per_s']['median']:.0f}",
                     f"{lunar['step_ms']['median']:.1f}", f"{peer['step_ms']['median']:.1f}",
                     f"{ratio:.2f}×"]
        lines.append(f"| {row['model']} | {row['length']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lunar", default="build/apps/lunar/lunar", help="the lunar binary")
    parser.add_argument("--models", default="convluna", help="comma-separated registry names")
    parser.add_argument("--lengths", default="1024,4096", help="comma-separated lengths")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--mode", choices=["train", "infer"], default="train")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory", type=int, help="memory size M of the Luna family")
    parser.add_argument("--config", help="run configuration for lunar bench (model sizes)")
    parser.add_argument("--set", nargs="+", help="key=value overrides for lunar bench")
    parser.add_argument("--out", help="also write lunar's and the peer's figures as JSON")
    args = parser.parse_args()
    if args.threads < 1:
        parser.error("--threads must be >= 1 (the peer needs an explicit count)")

    with tempfile.TemporaryDirectory() as scratch:
        report = run_lunar_bench(args, Path(scratch) / "lunar.json")
    rows = compare(report)
    table = markdown(report, rows)
    print(table, end="")
    if args.out:
        Path(args.out).write_text(json.dumps({"lunar": report, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
