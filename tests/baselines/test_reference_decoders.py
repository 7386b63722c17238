"""Reference decoders: what each returns, and the nearest-neighbour checkpoint round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.nearest_neighbour import NearestNeighbourDecoder
from baselines.reference import ColourHistogramDecoder, GroundTruthDecoder, MeanImageDecoder, RandomDecoder
from eval.data.prepare import build_subject
from eval.data.stimuli import Stimuli
from eval.data.subject import PrepareOptions
from eval.decoders import BuildContext, TestInputs
from eval.errors import DataError, HarnessError


@pytest.fixture(scope="module")
def setting(synth_root: Path):
    data = build_subject(synth_root, 1, PrepareOptions())
    return data, Stimuli(synth_root), TestInputs(fmri=np.asarray(data.test_fmri), nsd_ids=data.test_ids)


def _context(seed: int = 0) -> BuildContext:
    return BuildContext(device="cpu", seed=seed, subject=1)


def test_ground_truth_returns_the_test_images(setting) -> None:
    data, stimuli, inputs = setting
    decoder = GroundTruthDecoder(_context())
    decoder.fit(data, stimuli)
    assert torch.equal(decoder.reconstruct(inputs), stimuli.images_tensor(data.test_ids))


def test_mean_image_is_the_training_mean(setting) -> None:
    data, stimuli, inputs = setting
    decoder = MeanImageDecoder(_context())
    decoder.fit(data, stimuli)
    out = decoder.reconstruct(inputs)
    assert out.shape == (len(data.test_ids), 3, *stimuli.image_size)
    torch.testing.assert_close(out[0], stimuli.images_tensor(data.train_ids).mean(dim=0), atol=1e-5, rtol=0)


def test_random_is_seeded_and_draws_training_images(setting) -> None:
    data, stimuli, inputs = setting
    outputs = []
    for seed in (0, 0, 1):
        decoder = RandomDecoder(_context(seed))
        decoder.fit(data, stimuli)
        outputs.append(decoder.reconstruct(inputs))
    assert torch.equal(outputs[0], outputs[1]) and not torch.equal(outputs[0], outputs[2])


def test_colour_histogram_keeps_each_images_colours_and_nothing_of_its_layout(setting) -> None:
    data, stimuli, inputs = setting
    decoder = ColourHistogramDecoder(_context())
    decoder.fit(data, stimuli)
    recon, truth = decoder.reconstruct(inputs), stimuli.images_tensor(data.test_ids)
    assert recon.shape == truth.shape
    # The same multiset of pixels per image...
    for got, want in zip(recon[:20], truth[:20]):
        assert torch.equal(_sorted_pixels(got), _sorted_pixels(want))
    # ... in another place: the pixel correlation with the image itself is near zero.
    r = [np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1] for a, b in zip(recon[:20], truth[:20])]
    assert abs(float(np.mean(r))) < 0.35
    # Seeded by image: the same trial gets the same image whatever its batch.
    one = TestInputs(fmri=inputs.fmri[3:4], nsd_ids=inputs.nsd_ids[3:4])
    assert torch.equal(decoder.reconstruct(one)[0], recon[3])


def _sorted_pixels(image: torch.Tensor) -> torch.Tensor:
    pixels = image.reshape(3, -1).T.contiguous()
    keys = (pixels * 255).round().long() @ torch.tensor([65536, 256, 1])
    return pixels[keys.argsort(stable=True)]


def test_reconstruct_before_fit_is_an_error(setting) -> None:
    with pytest.raises(HarnessError, match="before fit"):
        NearestNeighbourDecoder(_context()).reconstruct(setting[2])


def test_nearest_neighbour_checkpoint_round_trip(setting, tmp_path: Path) -> None:
    data, stimuli, inputs = setting
    fitted = NearestNeighbourDecoder(_context())
    fitted.fit(data, stimuli)
    fitted.save(tmp_path)
    restored = NearestNeighbourDecoder(_context())
    restored.load(tmp_path, data, stimuli)
    assert torch.equal(restored.reconstruct(inputs), fitted.reconstruct(inputs))


def test_checkpoint_of_other_data_is_refused(setting, synth_root: Path, tmp_path: Path) -> None:
    data, stimuli, _ = setting
    fitted = NearestNeighbourDecoder(_context())
    fitted.fit(data, stimuli)
    fitted.save(tmp_path)
    other = build_subject(synth_root, 1, PrepareOptions(normalisation="none"))
    with pytest.raises(DataError, match=r"ridge\.safetensors: trained on data fingerprint \w+, expected \w+"):
        NearestNeighbourDecoder(_context()).load(tmp_path, other, stimuli)
    seven = build_subject(synth_root, 7, PrepareOptions())
    with pytest.raises(DataError, match=r"trained on data fingerprint"):
        NearestNeighbourDecoder(_context()).load(tmp_path, seven, stimuli)
