"""SynthNSD: a deterministic synthetic twin of the Natural Scenes Dataset, in NSD's exact on-disk layout.

The twin lets the project's real NSD reader run end to end on any machine: same paths, keys, dtypes, axis
orders, 1-based indices and int16 x 300 betas as the real data (see eval.data.layout), with procedural
scenes, template captions and simulated brains whose ground truth is written under `synthnsd_truth/`.

    from eval.data.synth import SynthConfig, generate
    generate(Path("/data/synthnsd"), SynthConfig.preset("ci"))
"""

from __future__ import annotations

from eval.data.synth.config import FORMAT_VERSION, SynthConfig
from eval.data.synth.generate import generate
from eval.data.synth.writer import truth_dir, truth_subject

__all__ = ["FORMAT_VERSION", "SynthConfig", "generate", "truth_dir", "truth_subject"]
