"""Class-imbalance strategies (registry ``IMBALANCE``): the contract in :mod:`.base`, strategies
that change the loss or the logits in :mod:`.loss`, strategies that change the rows in :mod:`.rows`."""

from bench.components.imbalance import loss, rows  # noqa: F401  (registers the strategies, in this order)
from bench.components.imbalance.base import IMBALANCE, ImbalanceStrategy, Resampling, class_weights

__all__ = ["IMBALANCE", "ImbalanceStrategy", "Resampling", "class_weights"]
