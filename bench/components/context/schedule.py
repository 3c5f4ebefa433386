"""Dynamic adjustment: the training length grows during training (e.g. 32 -> 64 -> 128 by epoch
or by fraction of training), the batch size grows as the length shrinks so that tokens per batch
stay roughly constant, and inference runs at the final length (``max_length``, head truncation)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from bench.components.context.base import CONTEXT
from bench.components.context.policies import Head
from bench.errors import ConfigError


@CONTEXT.register("length_schedule")
class LengthSchedule(Head):
    summary = ("dynamic length: train at `lengths` (default max_length/4, /2) then max_length, switching by "
               "epoch or equal fractions of training; batch size x max_length/length; inference head at max_length")
    needs = frozenset({"token_windows", "train_stream"})
    lengths: list[Annotated[int, Field(ge=1)]] | None = None  # stages before the final max_length stage
    by: Literal["epoch", "fraction"] = "epoch"
    adapt_batch: bool = True  # batch size * max_length / length: roughly constant tokens per batch

    @field_validator("lengths", mode="before")
    @classmethod
    def _one_length(cls, value):  # `lengths=64` on the command line: one early stage
        return [value] if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _increasing(self):
        if self.lengths is not None and any(b <= a for a, b in zip(self.lengths, self.lengths[1:], strict=False)):
            raise ValueError(f"lengths must increase strictly (got {self.lengths})")
        return self

    def stage_lengths(self, max_length: int) -> list[int]:
        early = self.lengths if self.lengths is not None else [max_length // 4, max_length // 2]
        return [*early, max_length]

    def _check(self, n, max_length, tokenizer):
        for length in self.stage_lengths(max_length)[:-1]:
            if length >= max_length:
                raise ConfigError(f"context policy 'length_schedule': length {length} must be below max_length "
                                  f"{max_length} (the final stage, used for inference)")
            try:  # room for one content token at every stage
                self.content_length(length, tokenizer)
            except ConfigError:
                raise ConfigError(f"context policy 'length_schedule': stage length {length} leaves no room for "
                                  f"content after the special tokens (stages {self.stage_lengths(max_length)})") from None

    def train_stream(self, docs, max_length, tokenizer, seed):
        from bench.components.context.stream import TrainStream

        self.check(max_length, tokenizer)
        return TrainStream(Head(), docs, tokenizer, seed, lengths=self.stage_lengths(max_length),
                           by_epoch=self.by == "epoch", adapt_batch=self.adapt_batch)
