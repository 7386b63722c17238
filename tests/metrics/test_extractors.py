"""Each protocol's extractors: the documented node shapes, and image-dependent seeded features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eval.cache import Cache
from eval.metrics.extractors import ARCHITECTURES
from eval.metrics.feature_score import FeatureScorer
from eval.metrics.pixel import single_threaded_ops
from eval.metrics.preprocess import network_input
from eval.metrics.protocol import PROTOCOLS
from eval.metrics.seeded import random_net

# Flattened node sizes: AlexNet's depend on the input size; pooled nodes do not. CLIP's seeded fallback is a
# small ViT (128-d projection), not ViT-L/14 (768-d).
NODE_SIZES = {
    ("alexnet", "features.4", 256): 192 * 31 * 31,  # 184,512, as the spec states
    ("alexnet", "features.11", 256): 256 * 15 * 15,
    ("alexnet", "features.4", 224): 192 * 27 * 27,
    ("alexnet", "features.11", 224): 256 * 13 * 13,
    ("alexnet", "features.4", 128): 192 * 15 * 15,
    ("alexnet", "features.11", 128): 256 * 7 * 7,
    ("inception", "avgpool", None): 2048,
    ("effnet", "avgpool", None): 1280,
    ("swav", "avgpool", None): 2048,
    ("clip", "embeds", None): 128,
}


@pytest.fixture(scope="module")
def nets() -> dict[str, torch.nn.Module]:
    """One seeded network per extractor name (the same architecture and nodes in every protocol)."""
    return {name: random_net(spec, seed=0) for name, spec in PROTOCOLS["mindeye"].extractors.items()}


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_every_extractor_gives_its_documented_node_shape(protocol: str, nets) -> None:
    spec = PROTOCOLS[protocol]
    assert {x.architecture for x in spec.extractors.values()} == set(ARCHITECTURES)
    images = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    for name, extractor in spec.extractors.items():
        x = network_input(images, extractor, spec)
        assert x.shape == (1, 3, extractor.size, extractor.size)
        # The seeded CLIP is built for its input size; the torchvision nets take any size.
        net = random_net(extractor, seed=0) if extractor.architecture == "clip_vit_l14" else nets[name]
        assert net.nodes == extractor.nodes
        with torch.inference_mode(), single_threaded_ops():  # one image: threads only add contention
            out = net(x)
        assert set(out) == set(extractor.nodes)
        for node, feats in out.items():
            size = NODE_SIZES.get((name, node, extractor.size), NODE_SIZES.get((name, node, None)))
            assert feats.shape == (1, size), (protocol, name, node)


def test_seeded_extractors_separate_images_and_identify_noisy_copies(synth_root) -> None:
    """Unrelated images are far apart on both distances; noisy copies are identified well above chance."""
    from eval.data.design import load_design
    from eval.data.stimuli import Stimuli
    from eval.metrics.seeded import calibration_set

    ids = np.sort(load_design(synth_root).sharedix)[:48]
    images = Stimuli(synth_root).images_tensor(ids)
    noisy = (images + 0.05 * torch.randn(images.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    scorer = FeatureScorer("mindeye-synth", "seeded", calibration=lambda: calibration_set(synth_root))
    unrelated = scorer.score(images, "test-images", images.roll(1, dims=0))
    copies = scorer.score(images, "test-images", noisy)
    for metric in ("effnet", "swav"):
        assert unrelated[metric].mean() > 0.3, metric
        assert copies[metric].mean() < unrelated[metric].mean(), metric
    for metric in ("alexnet2", "alexnet5", "inception", "clip"):
        assert copies[metric].mean() > 0.75, metric
    assert "NOT comparable" in scorer.note() and scorer.weights_info().source == "seeded"


def test_feature_cache_key_changes_with_everything_that_changes_the_inputs() -> None:
    import dataclasses

    from eval.metrics.features import feature_key
    from eval.metrics.weights import LoadedExtractor

    protocol = PROTOCOLS["mindeye"]
    spec = protocol.extractors["alexnet"]
    loaded = LoadedExtractor(net=None, spec=spec, provenance={"source": "seeded", "seed": 0})
    key = feature_key(loaded, protocol, "images")
    variants = [
        feature_key(loaded, dataclasses.replace(protocol, networks_from_common=False), "images"),
        feature_key(loaded, dataclasses.replace(protocol, common_size=224), "images"),
        feature_key(dataclasses.replace(loaded, spec=dataclasses.replace(spec, size=224)), protocol, "images"),
        feature_key(dataclasses.replace(loaded, provenance={"source": "seeded", "seed": 1}), protocol, "images"),
        feature_key(loaded, protocol, "other images"),
    ]
    assert len({key, *variants}) == 1 + len(variants)


class _TinyNet(torch.nn.Module):
    """Two nodes of an untrained convolution: enough to check the extraction pipeline's bookkeeping."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 5, stride=4)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.conv(x)
        return {"conv": h, "pooled": h.mean(dim=(2, 3))}


@pytest.mark.parametrize("threads", [1, 2])
def test_pipelined_extraction_equals_one_forward_pass_per_image_and_the_cache_returns_it(tmp_path, threads) -> None:
    from eval.metrics.features import cached_features, extract
    from eval.metrics.identification import standardise_rows
    from eval.metrics.preprocess import network_input
    from eval.metrics.weights import LoadedExtractor

    torch.manual_seed(0)
    protocol = PROTOCOLS["mindeye-synth"]
    loaded = LoadedExtractor(net=_TinyNet(), spec=protocol.extractors["effnet"], provenance={"source": "test"})
    images = torch.rand(11, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        direct = loaded.net(network_input(images, loaded.spec, protocol))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        pipelined = extract(loaded, images, protocol, batch_size=4)  # batches of 4, 4 and 3
        pending: list = []
        first = cached_features(
            loaded, images, "eleven", protocol, cache=Cache(tmp_path), batch_size=3, pending_writes=pending
        )
    finally:
        torch.set_num_threads(before)
    assert len(pending) == 1
    pending[0].result()
    again = cached_features(loaded, images, "eleven", protocol, cache=Cache(tmp_path))
    for node in ("conv", "pooled"):
        expected = standardise_rows(direct[node]).numpy()
        np.testing.assert_allclose(pipelined[node], expected, atol=1e-6)
        np.testing.assert_array_equal(first[node], pipelined[node])
        assert isinstance(again[node], np.memmap)  # read back from the cache entry written in the background
        np.testing.assert_array_equal(again[node], first[node])
