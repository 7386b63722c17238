"""HAVIR training: several processes train the model one process trains; transfer; the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from eval.run import main
from tests.havir.conftest import TINY_OPTIONS

REPO = Path(__file__).resolve().parents[2]


def tiny_option_flags(vd_dir: Path) -> list[str]:
    return [f"--decoder-option={k}={v}" for k, v in TINY_OPTIONS.items()] + ["--vd-model", str(vd_dir)]


def _fit_command(vd_dir: Path, out: Path) -> list[str]:
    return ["-m", "havir.fit", "--synth-preset", "ci", "--subject", "1", "--out", str(out), *tiny_option_flags(vd_dir)]


@pytest.mark.slow  # two processes, 25-35 s: run with -m slow
def test_two_processes_train_the_model_one_process_trains(havir_vd_dir, synth_root, private_cache, tmp_path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "HAVIR_BENCH_CACHE": str(private_cache)}
    one, two = tmp_path / "one", tmp_path / "two"
    subprocess.run([sys.executable, *_fit_command(havir_vd_dir, one)], env=env, check=True, capture_output=True)
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533"]
    result = subprocess.run([*launch, *_fit_command(havir_vd_dir, two)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(2 process(es))" in result.stdout
    a, b = load_file(str(one / "havir.safetensors")), load_file(str(two / "havir.safetensors"))
    assert a.keys() == b.keys()
    moved = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert moved < 1e-4, f"two processes drifted from one process by {moved}"
    # ... and training did change the weights (the comparison is not between two untouched initialisations).
    first = json.loads((one / "havir.json").read_text())["history"]
    assert first[-1]["loss"] < first[0]["loss"] or len(first) == 1


def test_transfer_pretrains_on_the_source_and_fine_tunes_on_one_session(havir_vd_dir, synth_root, subject1) -> None:
    from eval.cache import Cache
    from eval.data.prepare import build_subject
    from eval.data.subject import PrepareOptions
    from eval.decoders import BuildContext, Transfer
    from havir.decoder import HavirDecoder
    from tests.havir.conftest import tiny_variant

    _, stimuli = subject1
    target = build_subject(synth_root, 2, PrepareOptions())
    context = BuildContext(device="cpu", seed=0, subject=2)
    decoder = HavirDecoder(context, tiny_variant(havir_vd_dir, transfer=Transfer(1, 1)))
    decoder.fit(target, stimuli)
    source = decoder.source_decoder()
    source_data = build_subject(synth_root, 1, PrepareOptions())
    folder = Cache.at().checkpoint("havir", source.checkpoint_variant(source_data), 1, 0, source_data.fingerprint)
    source.load(folder, source_data, stimuli)
    # The voxel-specific input layers are the target's; everything after them started from the source model.
    assert decoder.model.input_layers()["semantic"].in_features == len(target.group("semantic"))
    assert source.model.input_layers()["semantic"].in_features == len(source_data.group("semantic"))
    limited = build_subject(synth_root, 2, PrepareOptions(sessions=1))
    assert 0 < len(limited.train_ids) < len(target.train_ids)
    assert len(decoder.history) == int(TINY_OPTIONS["finetune_epochs"])
    assert decoder.meta.flags["transfer_from"] == 1 and decoder.meta.flags["finetune_sessions"] == 1
    assert decoder.checkpoint_variant(target) != source.checkpoint_variant(target)


def test_transplant_copies_all_but_the_input_layers_and_the_frozen_phase_keeps_them(
    havir_vd_dir, synth_root, subject1, monkeypatch
) -> None:
    import havir.train
    from eval.data.prepare import build_subject
    from eval.data.subject import PrepareOptions
    from eval.decoders import BuildContext, Transfer
    from havir.decoder import HavirDecoder
    from havir.transfer import fine_tune, finetune_data, pretrained_source, transplant
    from tests.havir.conftest import tiny_variant

    _, stimuli = subject1
    target = build_subject(synth_root, 2, PrepareOptions())
    context = BuildContext(device="cpu", seed=0, subject=2)
    decoder = HavirDecoder(context, tiny_variant(havir_vd_dir, transfer=Transfer(1, 1)))
    decoder._attach(target)
    pretrained = pretrained_source(decoder, decoder.transfer, target, stimuli).model
    source = pretrained.state_dict()
    model = decoder._new_model()
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    transplant(pretrained, model)
    transplanted = {k: v.clone() for k, v in model.state_dict().items()}
    inputs = {k for k in transplanted if ".encoder.input." in k}
    assert inputs == {f"{m}.encoder.input.{p}" for m in ("structural", "semantic") for p in ("weight", "bias")}
    for key, value in transplanted.items():
        if key in inputs:  # the target's own, as initialised: not the source's (other voxels)
            assert torch.equal(value, fresh[key]), key
        else:
            assert torch.equal(value, source[key]) and not torch.equal(value, fresh[key]), key

    after_each_phase, real_train = [], havir.train.train

    def train_and_record(model, *args, **kwargs):
        history = real_train(model, *args, **kwargs)
        after_each_phase.append({k: v.clone() for k, v in model.state_dict().items()})
        return history

    monkeypatch.setattr(havir.train, "train", train_and_record)
    limited, _ = finetune_data(decoder.transfer, target, stimuli)
    fine_tune(model, decoder.training_set(limited, stimuli), decoder.config, seed=0)
    frozen, free = after_each_phase
    for key, value in frozen.items():  # first phase: only the input layers learn
        assert torch.equal(value, transplanted[key]) != (key in inputs), key
    assert any(not torch.equal(free[k], frozen[k]) for k in transplanted if k not in inputs)  # then everything
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ablation", "no_text"], "Unknown ablation for decoder 'havir' 'no_text'"),
        (["--decoder-option", "strenght=0.5"], "--decoder-option strenght: unknown option"),
        (["--decoder-option", "backbone=minivd"], "--decoder-option backbone: unknown option"),
        (["--decoder-option", "strength"], "--decoder-option: expected KEY=VALUE, found 'strength'"),
        (["--transfer-from", "1", "--subject", "1"], "--transfer-from 1: expected another subject"),
    ],
)
def test_bad_command_lines_are_one_line_errors(argv, message, havir_vd_dir, tmp_path, capsys) -> None:
    base = ["--decoder", "havir", "--synth-preset", "ci", "--out", str(tmp_path)]
    code = main([*base, "--vd-model", str(havir_vd_dir), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and message in err and "\n" not in err


def test_command_line_run_writes_results_with_brain_maps(havir_vd_dir, tmp_path, capsys) -> None:
    options = tiny_option_flags(havir_vd_dir)
    argv = ["--decoder", "havir", "--ablation", "no_cap", "--synth-preset", "ci", "--out", str(tmp_path), *options]
    assert main(argv) == 0
    result_path = next((tmp_path / "results").glob("havir*.json"))
    result = json.loads(result_path.read_text())
    assert result["decoder"]["ablation"] == "no_cap"
    assert result["decoder"]["flags"]["inputs"] == "z+img" and result["decoder"]["flags"]["strength"] == 0.75
    for name in ("brainmap_structural", "brainmap_semantic", "brainmap_semantic_nifti"):
        assert (tmp_path / "results" / result["artifacts"][name]).resolve().is_file(), name
    # The run's decoder page (under decoders/) shows the brain map beside its results.
    page = (tmp_path / "decoders" / f"{result_path.stem}.html").read_text()
    assert f'src="../artifacts/{result_path.stem}/brainmap_semantic.png"' in page
