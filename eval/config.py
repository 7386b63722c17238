"""The frozen configuration of one `python -m eval.run` invocation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eval.data.layout import SUBJECTS_WITH_ALL_SESSIONS
from eval.data.subject import PrepareOptions


@dataclass(frozen=True)
class RunConfig:
    decoders: tuple[str, ...]
    ablation: str | None = None
    subjects: tuple[int, ...] = (1,)
    nsd_root: Path | None = None
    out_dir: Path = Path("runs")
    device: str = "cpu"
    seed: int = 0
    protocol: str = "auto"  # auto: mindeye on real NSD, mindeye-synth on SynthNSD
    weights_source: str = "auto"  # auto: pretrained on real NSD, seeded on SynthNSD
    weights_dir: Path | None = None  # searched first for weight files
    prepare: PrepareOptions = field(default_factory=PrepareOptions)
    cache_dir: Path | None = None
    synth_preset: str = "default"
    refit: bool = False
    braindiffuser_dir: Path | None = None  # read averaged fMRI from brain-diffuser's .npy files instead
    vd_model: str | None = None  # generation backbone of diffusion decoders; None: the shipped MiniVD
    decoder_options: tuple[tuple[str, str], ...] = ()  # --decoder-option KEY=VALUE, in order
    transfer_from: int | None = None  # pretrain on this subject, fine-tune on each evaluated one
    finetune_sessions: int | None = None  # sessions of each evaluated subject to fine-tune on (default 1)
    tag: str | None = None  # the user's name for this variant (leaderboard row, file name)
    recon: str | None = None  # --recon: a file or folder of reconstructions made elsewhere (decoder precomputed)
    recon_ids: str | None = None  # --recon-ids: the NSD ids of its rows
    recon_order: str | None = None  # --recon-order: a published codebase's row order
    jobs: int = 1  # worker processes the decoders are split over (eval.parallel)

    @property
    def results_dir(self) -> Path:
        return self.out_dir / "results"


def parse_decoder_options(pairs: list[str] | None) -> tuple[tuple[str, str], ...]:
    """['strength=0.75', ...] -> (('strength', '0.75'), ...); the decoder checks names and values."""
    from eval.errors import ConfigError

    out = []
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--decoder-option: expected KEY=VALUE, found {pair!r}")
        out.append((key.strip(), value.strip()))
    return tuple(out)


def parse_subjects(text: str) -> tuple[int, ...]:
    """'1', '1,2' or 'all' (the four subjects who completed every session)."""
    from eval.errors import ConfigError

    if text == "all":
        return SUBJECTS_WITH_ALL_SESSIONS
    try:
        subjects = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"--subject: expected 1, 2, 5, 7, a comma list of them or 'all', found {text!r}") from None
    bad = [s for s in subjects if not 1 <= s <= 8]
    if bad:
        raise ConfigError(f"--subject: expected NSD subjects 1..8, found {bad}")
    return subjects
