"""DomainBench: a reproducible benchmark suite for fine-tuning language models for domain adaptation."""

__version__ = "0.1.0"
