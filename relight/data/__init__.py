"""VIDIT-format data: layouts, pairing, datasets, and the synthetic scene generator.

``relight.data.dataset`` (torch) and ``relight.data.synth`` (the renderer) are imported on their own.
"""

from relight.data.pairs import InferencePair, find_inference_pairs
from relight.data.vidit import PairSet, Setting, TrainPair, detect_layout, load_pairs, split_scenes

__all__ = [
    "InferencePair",
    "PairSet",
    "Setting",
    "TrainPair",
    "detect_layout",
    "find_inference_pairs",
    "load_pairs",
    "split_scenes",
]
