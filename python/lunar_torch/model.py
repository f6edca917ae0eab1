"""lunar's models in eager PyTorch (torch.nn), op for op as src/nn and src/models.

Parameter and buffer names and shapes are lunar's state-dict names, so the weights that
`lunar export` writes load with strict=True (lunar_torch.load does that).
"""

from torch import nn

from .blocks import LunaEncoder, TransformerEncoder
from .config import ARCHITECTURES
from .heads import ClassifierHead, InputEmbedding, MatchingHead, Pooler


class LunarModel(nn.Module):
    """src/models/model.cpp: embedding → encoder → pooler → head."""

    def __init__(self, c, task=None):
        super().__init__()
        self.config = c
        # The run's {"name", "padding"} (config.task_config): how lunar_torch.batches tokenises
        # and pads; None for a model built without a run, which batches refuses.
        self.task = task
        self.use_masks = c["masks"] == "on"
        self.embedding = InputEmbedding(c)
        arch = c["architecture"]
        if ARCHITECTURES[arch][2]:
            self.encoder = LunaEncoder(c)
        else:
            self.encoder = TransformerEncoder(c, "softmax" if arch == "transformer" else arch)
        self.pooler = Pooler(c["dim"], c["representation"], not c["pair"])
        if c["pair"]:
            self.matcher = MatchingHead(c["dim"], c["ffn_dim"], c["num_classes"],
                                        c["pair_features"], c["pair_activation"])
        else:
            self.classifier = ClassifierHead(c["dim"], c["ffn_dim"], c["num_classes"],
                                             c["input"]["embedding"] == "pixel")

    def encode(self, tokens, mask):
        x, full_mask = self.embedding(tokens, mask)
        encoder_mask = full_mask if self.use_masks else None
        sequence, memory = self.encoder(x, encoder_mask)
        return self.pooler(sequence, memory, encoder_mask)

    def forward(self, tokens, mask=None, tokens2=None, mask2=None):
        """Logits [B, C] for tokens [B, L] int64 (token ids, 0 = padding; pixel intensities
        0..255 for image tasks) and mask [B, L] bool (true = real; None = all real). Matching
        models take the second documents as tokens2, mask2 [B, L2]. lunar_torch.batches makes
        these tensors from text lines."""
        u = self.encode(tokens, mask)
        if not self.config["pair"]:
            return self.classifier(u)
        return self.matcher(u, self.encode(tokens2, mask2))

    def regularization(self):
        return self.encoder.regularization()


def build_model(config, task=None):
    """A model for a resolved [model] config (config.model_config) and optionally its run's
    [task] (config.task_config), with fresh weights."""
    return LunarModel(config, task)
