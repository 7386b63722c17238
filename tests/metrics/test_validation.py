"""Bad image sets fail before any arithmetic, with one line that names the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eval.errors import ConfigError, InputError
from eval.metrics.protocol import PROTOCOLS, get_protocol
from eval.metrics.score import score_pixel_metrics, validate_images
from eval.metrics.spec import METRICS, get_metric


def good(n: int = 3, size: int = 16) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(n))


def with_value(value: float, image: int = 1) -> torch.Tensor:
    x = good()
    x[image, 0, 2, 3] = value
    return x


@pytest.mark.parametrize(
    ("images", "expected_count", "match"),
    [
        (
            good().permute(0, 2, 3, 1).contiguous(),
            None,
            r"expected shape \[N, 3, H, W\], found \[3, 16, 16, 3\].*channels last",
        ),
        (good()[0], None, r"expected shape \[N, 3, H, W\], found \[3, 16, 16\]"),
        (good().double(), None, "expected dtype float32.*found torch.float64"),
        ((good() * 255).to(torch.uint8), None, "expected dtype float32.*found torch.uint8"),
        (good(4), 3, "expected 3 images, found 4"),
        (with_value(float("nan")), None, r"expected finite values, found 1 NaN or infinite \(first in image 1\)"),
        (with_value(float("inf"), 2), None, r"found 1 NaN or infinite \(first in image 2\)"),
        (with_value(-0.01), None, r"expected values in \[0, 1\], found -0.01 to .*first in image 1"),
        (with_value(1.5, 0), None, r"expected values in \[0, 1\], found .* to 1.5 \(first in image 0"),
        ([[0.5]], None, "expected a float32 tensor .* found list"),
    ],
    ids=["channels-last", "3d", "float64", "uint8", "count", "nan", "inf", "negative", "above-one", "not-a-tensor"],
)
def test_validation_names_the_argument_and_the_problem(images, expected_count, match) -> None:
    with pytest.raises(InputError, match=match) as info:
        validate_images(images, "recon of decoder 'x'", expected_count=expected_count)
    assert str(info.value).startswith("recon of decoder 'x': ")
    assert "\n" not in str(info.value)


def test_valid_numpy_images_pass_as_a_tensor() -> None:
    array = good().numpy()
    out = validate_images(array, "gt", expected_count=3)
    assert isinstance(out, torch.Tensor) and np.shares_memory(out.numpy(), array)


def test_score_checks_both_sets_by_name() -> None:
    with pytest.raises(InputError, match="^gt: expected dtype float32"):
        score_pixel_metrics(good().double(), good())
    with pytest.raises(InputError, match="^recon: expected 3 images, found 2"):
        score_pixel_metrics(good(), good(2))


def test_unknown_protocol_suggests_the_close_name() -> None:
    with pytest.raises(ConfigError, match="unknown metric protocol 'mindeyes'. Did you mean: mindeye"):
        score_pixel_metrics(good(), good(), protocol="mindeyes")
    assert get_protocol("mindeye") is PROTOCOLS["mindeye"]
    assert PROTOCOLS["mindeye"].describe() == {"name": "mindeye", "version": "2"}


def test_metric_table_is_the_papers_column_order_with_directions() -> None:
    assert list(METRICS) == ["pixcorr", "ssim", "alexnet2", "alexnet5", "inception", "clip", "effnet", "swav"]
    assert [m.name for m in METRICS.values() if m.direction == "lower"] == ["effnet", "swav"]
    assert {m.chance for m in METRICS.values() if m.kind == "identification"} == {0.5}
    with pytest.raises(ConfigError, match="Did you mean: ssim"):
        get_metric("sssim")
    with pytest.raises(TypeError):
        METRICS["new"] = METRICS["ssim"]  # read-only: the table is the single source


def test_feature_scorer_refuses_bad_reconstructions_before_any_network_runs() -> None:
    from eval.metrics.feature_score import FeatureScorer

    scorer = FeatureScorer("mindeye-synth", "seeded")  # no calibration: nothing may be loaded
    nan = good()
    nan[1, 0, 2, 2] = float("nan")
    with pytest.raises(InputError, match="^recon: expected finite values, found 1 NaN or infinite .first in image 1"):
        scorer.score(good(), "fp", nan)
    with pytest.raises(InputError, match="^recon: expected 3 images, found 2"):
        scorer.score(good(), "fp", good(2))
    with pytest.raises(InputError, match=r"^recon: expected values in \[0, 1\]"):
        scorer.score(good(), "fp", good() * 255)
