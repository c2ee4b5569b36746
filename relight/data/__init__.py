"""VIDIT-format data: layouts, pairing, datasets, and the synthetic scene generator."""

from relight.data.pairs import InferencePair, find_inference_pairs, shard

__all__ = ["InferencePair", "find_inference_pairs", "shard"]
