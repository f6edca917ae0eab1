"""Text lines to model inputs exactly as `lunar predict` makes them: the same tokens
(src/data/tokenizer.cpp, src/data/input_line.cpp), the same batches in file order and the same
zero padding (src/data/batch_loader.cpp)."""

import re
from pathlib import Path
from typing import NamedTuple, Optional

import torch

# Ids 2..16 in this order; 0 is padding and 1 unknown.
LISTOPS_SYMBOLS = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "[MIN", "[MAX", "[MED",
                   "[SM", "X")
UNKNOWN_ID = 1
SPACE = re.compile(r"[ \t\n\r\f\v]+")  # C's isspace in the "C" locale, as tokenizer.cpp
PIXEL_SEPARATORS = re.compile(r"[ ,\t]+")
PIXEL_VALUE = re.compile(r"-?[0-9]+")  # what std::from_chars reads as an int


class InputError(ValueError):
    """An example `lunar predict` would refuse; the message names source:line and the field."""

    def __init__(self, source, line, field, message):
        super().__init__(f"{source}:{line}: {field}: {message}")


class Batch(NamedTuple):
    """One batch in the model's argument order, so `model(*batch)` gives its logits [B, C].
    tokens [B, L] int64, mask [B, L] bool (true = real); tokens2, mask2 [B, L2] for matching."""
    tokens: torch.Tensor
    mask: torch.Tensor
    tokens2: Optional[torch.Tensor] = None
    mask2: Optional[torch.Tensor] = None


def listops_tokens(text, max_length):
    """Delete ( and ), map ] to X, split on whitespace; at most max_length ids (0 = no limit)."""
    symbols = SPACE.split(text.replace("(", "").replace(")", "").replace("]", "X"))
    ids = [LISTOPS_SYMBOLS.index(s) + 2 if s in LISTOPS_SYMBOLS else UNKNOWN_ID
           for s in symbols if s]
    return ids[:max_length] if max_length > 0 else ids


def byte_tokens(text, max_length):
    """UTF-8 byte + 1; a line read by read_lines gives back its bytes, invalid UTF-8 included."""
    data = text.encode("utf-8", "surrogateescape")
    return [b + 1 for b in (data[:max_length] if max_length > 0 else data)]


def pixel_values(text, expected, source, line):
    """Intensities 0..255 separated by spaces, commas or TABs; exactly `expected` of them."""
    values = []
    for part in PIXEL_SEPARATORS.split(text):
        if not part:
            continue
        value = int(part) if PIXEL_VALUE.fullmatch(part) else -1
        if not 0 <= value <= 255:
            raise InputError(source, line, f"pixel {len(values) + 1}",
                             f"expected an integer 0..255, got '{part}'")
        values.append(value)
    if len(values) != expected:
        raise InputError(source, line, "pixels",
                         f"expected {expected} pixel values, got {len(values)}")
    return values


def parse_line(model, text, source="<lines>", line=1):
    """One example's token ids ([first] or [first, second] for matching) from one line."""
    task, spec = model.task, model.config["input"]
    text = text[:-1] if text.endswith("\r") else text
    max_length = spec["max_length"]
    second = None
    if spec["embedding"] == "pixel":
        first = pixel_values(text, max_length, source, line)
    elif task["name"] == "listops":
        first = listops_tokens(text, max_length)
    elif model.config["pair"]:
        if "\t" not in text:
            raise InputError(source, line, "text2", "expected two documents separated by a TAB")
        left, right = text.split("\t", 1)
        first, second = byte_tokens(left, max_length), byte_tokens(right, max_length)
    else:
        first = byte_tokens(text, max_length)
    if not first:
        raise InputError(source, line, "text", "expected a non-empty example")
    if second is not None and not second:
        raise InputError(source, line, "text2", "expected a non-empty second document")
    return [first] if second is None else [first, second]


def collate(rows, pad_to=0):
    """Zero padding to the longest row (pad_to 0) or to pad_to: tokens [B, L], mask [B, L]."""
    length = pad_to or max(len(row) for row in rows)
    tokens = torch.zeros(len(rows), length, dtype=torch.long)
    mask = torch.zeros(len(rows), length, dtype=torch.bool)
    for b, row in enumerate(rows):
        tokens[b, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[b, : len(row)] = True
    return tokens, mask


def batches(model, lines, batch_size=32, source="<lines>"):
    """Yields the Batch of each `batch_size` consecutive lines, as `lunar predict --batch-size`
    (default 32) forms them: one example per line, tokens as the run's task reads them, padded
    to the batch's longest example (each document of a matching pair separately) or, with
    task.padding = "max_length", to model.input.max_length. Every line is checked before the
    first batch; a bad one raises InputError naming `source`:line."""
    if model.task is None:
        raise ValueError("[batches] expected a model from lunar_torch.load or load_run (its run's "
                         "[task] decides tokens and padding), got one built without a run")
    if batch_size < 1:
        raise ValueError(f"[batches] expected a batch size > 0, got {batch_size}")
    examples = [parse_line(model, text, source, i + 1) for i, text in enumerate(lines)]
    if not examples:
        raise ValueError(f"[batches] expected at least one example in {source}")
    pad_to = model.config["input"]["max_length"] if model.task["padding"] == "max_length" else 0
    for start in range(0, len(examples), batch_size):
        chunk = examples[start:start + batch_size]
        parts = collate([example[0] for example in chunk], pad_to)
        if model.config["pair"]:
            parts += collate([example[1] for example in chunk], pad_to)
        yield Batch(*parts)


def read_lines(path):
    """The lines of a file as `lunar predict --input` reads them: split at newline characters
    only, an empty line kept (batches refuses it), bytes that are not UTF-8 kept for byte_tokens."""
    data = Path(path).read_bytes().decode("utf-8", "surrogateescape")
    lines = data.split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def predict(model, lines, batch_size=32, source="<lines>"):
    """Logits [N, C] of all lines, batched as batches() does, without autograd."""
    with torch.no_grad():
        return torch.cat([model(*batch) for batch in batches(model, lines, batch_size, source)])
