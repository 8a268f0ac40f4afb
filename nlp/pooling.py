"""The classifier network: encoder + attention-masked mean pooling + dropout + linear head.

Kept apart from `nlp.classifier` because it imports torch at module level (so the class and its
attributes are typed); `nlp.classifier.build_pooled_model` imports it only when a model is built.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class PooledClassifier(nn.Module):
    """Encoder + attention-masked mean pooling (how MiniLM was trained) + dropout + linear head."""

    encoder: nn.Module
    dropout: nn.Dropout
    head: nn.Linear

    def __init__(self, encoder: Any, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return self.head(self.dropout(pooled))
