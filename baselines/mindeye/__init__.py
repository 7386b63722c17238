"""MindEye1 (Scotti et al. 2023) behind the harness's decoder interface: `MINDEYE` is its registry entry."""

from baselines.mindeye.decoder import MINDEYE, MindEyeDecoder

__all__ = ["MINDEYE", "MindEyeDecoder"]
