"""The dual-guided loop: determinism, left-out conditions, strength, shapes."""

from __future__ import annotations

import inspect

import pytest
import torch
from diffusers.models.transformers.dual_transformer_2d import DualTransformer2DModel

from eval.backbone.compat import DualTransformer
from eval.backbone.sampling import SCHEDULERS, GenerationOptions
from eval.errors import ConfigError, InputError

FAST = GenerationOptions(steps=6, strength=0.75, guidance_scale=2.0, progress=False, batch_size=3)


@pytest.fixture(scope="module")
def inputs(tiny_vd):
    torch.manual_seed(1)
    images = torch.rand(4, 3, 32, 32)
    return {
        "latents": tiny_vd.encode(images),
        "image_tokens": tiny_vd.image_tokens(images),
        "text_tokens": tiny_vd.text_tokens(["a red ball", "two cats", "a house on grass", "a blue car"]),
    }


def test_tokens_are_normalised_as_vd_does(tiny_vd, inputs):
    assert torch.allclose(inputs["image_tokens"][:, 0].norm(dim=-1), torch.ones(4), atol=1e-5)
    ids = tiny_vd.tokenizer(["a red ball"], padding="max_length", return_tensors="pt").input_ids
    pooled = tiny_vd.text_encoder(input_ids=ids).text_embeds
    raw = tiny_vd.text_encoder.text_projection(tiny_vd.text_encoder(input_ids=ids).last_hidden_state)
    assert torch.allclose(inputs["text_tokens"][:1], raw / pooled.norm(dim=-1)[:, None, None], atol=1e-5)


def test_same_seed_same_images_and_batch_does_not_matter(tiny_vd, inputs):
    first = tiny_vd.generate(**inputs, options=FAST)
    again = tiny_vd.generate(**inputs, options=FAST.__class__(**{**FAST.__dict__, "batch_size": 4}))
    other_seed = tiny_vd.generate(**inputs, options=FAST.__class__(**{**FAST.__dict__, "seed": 5}))
    assert first.shape == (4, 3, 32, 32) and first.dtype == torch.float32
    assert torch.equal(first, tiny_vd.generate(**inputs, options=FAST))
    assert torch.allclose(first, again, atol=1e-5)  # other batches, other BLAS blocking: rounding only
    assert (first - other_seed).abs().max() > 0.01


@pytest.mark.parametrize(
    ("left_out", "slot", "kept"),
    [("text_tokens", "uncond_text_tokens", "image_tokens"), ("image_tokens", "uncond_image_tokens", "text_tokens")],
)
def test_left_out_tokens_make_output_independent_of_them(tiny_vd, inputs, left_out, slot, kept):
    # A left-out token type's slot holds its unconditional tokens at weight 0: changing what the slot holds changes
    # nothing, while the same change does move an output that uses that token type.
    kwargs = {"latents": inputs["latents"], kept: inputs[kept], "options": FAST}
    base = tiny_vd.generate(**kwargs)
    with_both = tiny_vd.generate(**kwargs, **{left_out: inputs[left_out]})
    saved = getattr(tiny_vd, slot)
    try:
        tiny_vd.__dict__[slot] = torch.randn_like(saved) * 3
        assert torch.equal(tiny_vd.generate(**kwargs), base)
        assert not torch.allclose(tiny_vd.generate(**kwargs, **{left_out: inputs[left_out]}), with_both)
    finally:
        tiny_vd.__dict__[slot] = saved


def test_strength_one_ignores_the_start_latent(tiny_vd, inputs):
    options = FAST.__class__(**{**FAST.__dict__, "strength": 1.0})
    a = tiny_vd.generate(latents=inputs["latents"], image_tokens=inputs["image_tokens"], options=options)
    b = tiny_vd.generate(latents=inputs["latents"].flip(0) * 2, image_tokens=inputs["image_tokens"], options=options)
    noise = tiny_vd.generate(image_tokens=inputs["image_tokens"], options=options)
    assert torch.equal(a, b) and torch.equal(a, noise)


def test_small_strength_stays_close_to_the_start(tiny_vd, inputs):
    z = inputs["latents"]

    def distance(strength: float) -> float:
        options = GenerationOptions(steps=20, strength=strength, guidance_scale=1.0, progress=False)
        out = tiny_vd.generate(latents=z, image_tokens=inputs["image_tokens"], options=options, decode=False)
        return float((out - z).pow(2).mean().sqrt())

    small, full = distance(0.1), distance(1.0)
    assert small < 0.35 * full, (small, full)


def test_no_step_to_run_returns_the_start_latent(tiny_vd, inputs):
    options = GenerationOptions(steps=4, strength=0.2, progress=False)  # floor(4 * 0.2) = 0 steps
    out = tiny_vd.generate(latents=inputs["latents"], options=options, decode=False)
    assert torch.equal(out, inputs["latents"])


@pytest.mark.parametrize("scheduler", sorted(SCHEDULERS))
def test_every_scheduler_runs_img2img_from_the_right_start(tiny_vd, inputs, scheduler):
    options = GenerationOptions(steps=8, strength=0.5, scheduler=scheduler, progress=False)
    out = tiny_vd.generate(
        latents=inputs["latents"], image_tokens=inputs["image_tokens"], options=options, decode=False
    )
    assert out.shape == inputs["latents"].shape and torch.isfinite(out).all()
    noise_start = tiny_vd.generate(image_tokens=inputs["image_tokens"], options=options, decode=False)
    # Half the schedule from the true latent stays nearer to it than a start from noise does.
    assert (out - inputs["latents"]).norm() < (noise_start - inputs["latents"]).norm()


@pytest.mark.parametrize("strength", [0.0, -0.5, 1.01])
def test_strength_outside_unit_interval_is_refused(strength):
    with pytest.raises(ConfigError, match=rf"strength: expected a value in \(0, 1\], found {strength}"):
        GenerationOptions(strength=strength)


@pytest.mark.parametrize(
    ("name", "shape", "expected"),
    [
        ("latents", (4, 4, 8, 8), "4, 16, 16"),
        ("image_tokens", (4, 257, 768), "17, 16"),
        ("text_tokens", (4, 77, 16), "16, 16"),
    ],
)
def test_wrong_shapes_name_expected_and_found(tiny_vd, name, shape, expected):
    with pytest.raises(
        InputError, match=rf"{name}: expected shape \[n, {expected}\], found \[{', '.join(map(str, shape))}\]"
    ):
        tiny_vd.generate(**{name: torch.zeros(shape)}, options=FAST)


def test_counts_must_agree(tiny_vd, inputs):
    with pytest.raises(InputError, match=r"same number of images in every input, found \[3, 4\]"):
        tiny_vd.generate(latents=inputs["latents"][:3], image_tokens=inputs["image_tokens"], options=FAST)


def test_nothing_to_condition_on_is_refused(tiny_vd):
    with pytest.raises(InputError, match="at least one of latents, image_tokens, text_tokens"):
        tiny_vd.generate(options=FAST)


def _upstream_forward(self, hidden_states, encoder_hidden_states, encoder_attention_mask=None, **kwargs):
    return DualTransformer2DModel.forward(self, hidden_states, encoder_hidden_states, **kwargs)


@pytest.mark.parametrize("kept", ["text_tokens", "image_tokens", "both"])
def test_skipping_a_condition_weighted_zero_changes_no_bit(tiny_vd, inputs, kept, monkeypatch):
    # Upstream runs both transformers and weights one by 0; ours skips it. The images must be identical.
    tokens = {k: inputs[k] for k in ("text_tokens", "image_tokens") if kept in (k, "both")}
    ours = tiny_vd.generate(latents=inputs["latents"], **tokens, options=FAST)
    monkeypatch.setattr(DualTransformer, "forward", _upstream_forward)
    assert torch.equal(tiny_vd.generate(latents=inputs["latents"], **tokens, options=FAST), ours)


def test_upstream_dual_transformer_still_refuses_the_mask_keyword():
    # When this fails, diffusers accepts the keyword: DualTransformer then only skips zero-weighted conditions.
    assert "encoder_attention_mask" not in inspect.signature(DualTransformer2DModel.forward).parameters
