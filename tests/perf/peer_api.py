"""The parts of lunar_torch that python/examples/predict_logits.py does not use, for
tests/perf/peer_python.cpp. Given a trained run folder RUN (config.toml, checkpoints/last.pt,
weights.pt), its EXAMPLES and a SCRATCH folder:
- writes SCRATCH/predict.txt: lunar_torch.predict on load_run(RUN), in `lunar predict`'s format;
- builds bad inputs in SCRATCH and prints `case TAB message` for each refusal (`case TAB
  accepted` where none came)."""
import sys
from pathlib import Path

import torch
import torch.jit._pickle

import lunar_torch

run, examples, scratch = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
config, weights = run / "config.toml", run / "weights.pt"

model = lunar_torch.load_run(run)
with open(scratch / "predict.txt", "w") as out:
    for row in lunar_torch.predict(model, lunar_torch.read_lines(examples)).tolist():
        out.write(f"{row.index(max(row))}\t" + " ".join(f"{v:.9g}" for v in row) + "\n")

renamed = torch.load(weights)
renamed["encoder.memory_renamed"] = renamed.pop("encoder.memory")
torch.save(renamed, scratch / "renamed.pt")
misshapen = torch.load(weights)
misshapen["classifier.output.bias"] = torch.zeros(3)
torch.save(misshapen, scratch / "misshapen.pt")


class Tagged:
    """Pickles as lunar export's dict did before it was untagged: TorchScript's type tag."""

    def __reduce__(self):
        return torch.jit._pickle.restore_type_tag, (torch.load(weights), "Dict[str, Tensor]")


torch.save(Tagged(), scratch / "tagged.pt")
(scratch / "unknown_key.toml").write_text(
    config.read_text().replace("[model]\n", "[model]\nfuture_key = 1\n", 1))
(scratch / "unexported").mkdir()
(scratch / "unexported" / "config.toml").write_text(config.read_text())

cases = {
    "renamed": lambda: lunar_torch.load(config, scratch / "renamed.pt"),
    "misshapen": lambda: lunar_torch.load(config, scratch / "misshapen.pt"),
    "tagged": lambda: lunar_torch.load(config, scratch / "tagged.pt"),
    "checkpoint": lambda: lunar_torch.load_run(run, run / "checkpoints" / "last.pt"),
    "unexported": lambda: lunar_torch.load_run(scratch / "unexported"),
    "unknown_key": lambda: lunar_torch.load(scratch / "unknown_key.toml", weights),
    "empty_line": lambda: lunar_torch.predict(model, ["( [MAX 2 9 ] )", ""],
                                              source="examples.txt"),
}
for name, case in cases.items():
    try:
        case()
        print(f"{name}\taccepted")
    except (lunar_torch.ConfigError, lunar_torch.WeightsError, lunar_torch.InputError) as error:
        print(f"{name}\t{error}")
