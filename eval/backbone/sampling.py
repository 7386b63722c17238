"""The dual-guided denoising loop: img2img from a latent at a structural strength, or generation from noise.

With N steps and strength s in (0, 1], denoising starts at step tau = N - floor(N * s) of the scheduler's
timesteps, from z_tau = scheduler.add_noise(z0, eps, t_tau) (HAVIR eq. 7); s = 1 starts from pure noise, so it
keeps no trace of z0 (the first timestep's alpha_bar is small but not zero). The UNet
reads [text tokens, image tokens] through dual attention, the text residual weighted by the mix ratio; a left-out
condition gets weight 0, so the output does not depend on it. Classifier-free guidance uses VD's unconditional
inputs (an empty prompt, a mid-grey image) in both slots.

Noise is drawn per image from (seed, image index), so an image does not depend on the batch it was made in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    UniPCMultistepScheduler,
)
from tqdm.auto import tqdm

from eval.backbone.compat import set_conditions
from eval.errors import ConfigError, InputError

SCHEDULERS = {
    "ddim": DDIMScheduler,
    "dpm": DPMSolverMultistepScheduler,
    "unipc": UniPCMultistepScheduler,
    "euler": EulerDiscreteScheduler,
}


@dataclass(frozen=True)
class GenerationOptions:
    """How to denoise. Defaults follow Brain-Diffuser (DDIM, eta 0, strength 0.75) at 20 steps.

    Attributes:
        steps: Scheduler steps N.
        strength: Structural strength s in (0, 1]; used when a start latent is given.
        guidance_scale: Classifier-free guidance weight (1 = no guidance, one UNet pass per step).
        mix_ratio: Weight of the text condition when both token types are given (Brain-Diffuser: 0.4).
        scheduler: One of SCHEDULERS.
        eta: DDIM stochasticity.
        seed: Root of the per-image noise.
        batch_size: Images per UNet batch.
        progress: Show a progress bar.
    """

    steps: int = 20
    strength: float = 0.75
    guidance_scale: float = 3.5
    mix_ratio: float = 0.4
    scheduler: str = "ddim"
    eta: float = 0.0
    seed: int = 0
    batch_size: int = 64
    progress: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.strength <= 1.0:
            raise ConfigError(f"strength: expected a value in (0, 1], found {self.strength}")
        if self.steps < 1:
            raise ConfigError(f"steps: expected a positive number of scheduler steps, found {self.steps}")
        if not 0.0 <= self.mix_ratio <= 1.0:
            raise ConfigError(f"mix_ratio: expected a value in [0, 1], found {self.mix_ratio}")
        if self.scheduler not in SCHEDULERS:
            raise ConfigError(f"scheduler: expected one of {', '.join(SCHEDULERS)}, found {self.scheduler!r}")
        if self.guidance_scale < 1.0:
            raise ConfigError(f"guidance_scale: expected at least 1, found {self.guidance_scale}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size: expected a positive integer, found {self.batch_size}")

    @property
    def start_step(self) -> int:
        """tau = N - floor(N * s), the index of the first timestep run when starting from a latent."""
        return self.steps - math.floor(self.steps * self.strength)


def make_scheduler(name: str, config: dict):
    """A fresh scheduler of kind `name` with the model's noise schedule (betas, training steps)."""
    if name not in SCHEDULERS:
        raise ConfigError(f"scheduler: expected one of {', '.join(SCHEDULERS)}, found {name!r}")
    return SCHEDULERS[name].from_config(config)


def per_image_noise(shape: tuple[int, ...], seed: int, first_index: int, count: int) -> torch.Tensor:
    """Standard normal noise for images first_index..first_index+count-1, each from its own generator."""
    out = torch.empty((count, *shape))
    for k in range(count):
        generator = torch.Generator().manual_seed(seed * 1_000_003 + first_index + k)
        out[k] = torch.randn(shape, generator=generator)
    return out


@dataclass(frozen=True)
class Conditions:
    """Per-image conditions of one generation; None leaves a condition out.

    image_tokens: [n, n_image_tokens, dim]; text_tokens: [n, n_text_tokens, dim]; start_latents: [n, C, h, w]
    (scaled latents); uncond_image / uncond_text: [1, length, dim].
    """

    uncond_image: torch.Tensor
    uncond_text: torch.Tensor
    image_tokens: torch.Tensor | None = None
    text_tokens: torch.Tensor | None = None
    start_latents: torch.Tensor | None = None

    def count(self) -> int:
        sizes = {x.shape[0] for x in (self.image_tokens, self.text_tokens, self.start_latents) if x is not None}
        if len(sizes) != 1:
            raise InputError(f"conditions: expected the same number of images in every input, found {sorted(sizes)}")
        return sizes.pop()


def check_shape(name: str, tensor: torch.Tensor | None, expected: tuple[int, ...]) -> None:
    """One-line error naming `name` when `tensor` is not [n, *expected]."""
    if tensor is None:
        return
    if tensor.ndim != len(expected) + 1 or tuple(tensor.shape[1:]) != tuple(expected):
        raise InputError(f"{name}: expected shape [n, {', '.join(map(str, expected))}], found {list(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise InputError(f"{name}: expected finite values, found NaN or infinite entries")


def mix_for(conditions: Conditions, options: GenerationOptions) -> float:
    """Text weight: the option when both token types are given, else all weight on the one given."""
    has_text = conditions.text_tokens is not None
    has_image = conditions.image_tokens is not None
    if has_text and has_image:
        return options.mix_ratio
    return 1.0 if has_text else 0.0


@torch.no_grad()
def denoise(
    unet: torch.nn.Module,
    scheduler_config: dict,
    conditions: Conditions,
    latent_shape: tuple[int, int, int],
    options: GenerationOptions,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Denoised latents [n, C, h, w] (scaled, ready for the AutoKL decoder after dividing by the scale)."""
    n = conditions.count()
    text_len = conditions.uncond_text.shape[1]
    image_len = conditions.uncond_image.shape[1]
    set_conditions(unet, mix_for(conditions, options), text_len, image_len)
    dtype = next(unet.parameters()).dtype
    out = []
    with tqdm(total=n, desc="denoising", unit="img", disable=not options.progress or None, leave=False) as bar:
        for start in range(0, n, options.batch_size):
            stop = min(n, start + options.batch_size)
            out.append(
                _denoise_batch(unet, scheduler_config, conditions, latent_shape, options, start, stop, device, dtype)
            )
            bar.update(stop - start)
    return torch.cat(out)


def _tokens(conditions: Conditions, start: int, stop: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(conditional, unconditional) concatenated [text, image] tokens of images start..stop-1, on `device`.

    Each part is moved before concatenating: predicted tokens may already be on the device, the unconditional
    ones are on the CPU.
    """
    count = stop - start

    def part(tokens: torch.Tensor | None, uncond: torch.Tensor) -> torch.Tensor:
        return (uncond.expand(count, -1, -1) if tokens is None else tokens[start:stop]).to(device, dtype)

    cond = torch.cat(
        [part(conditions.text_tokens, conditions.uncond_text), part(conditions.image_tokens, conditions.uncond_image)],
        1,
    )
    uncond = torch.cat([conditions.uncond_text.to(device, dtype), conditions.uncond_image.to(device, dtype)], 1)
    return cond, uncond.expand(count, -1, -1)


def _denoise_batch(unet, scheduler_config, conditions, latent_shape, options, start, stop, device, dtype):
    scheduler = make_scheduler(options.scheduler, scheduler_config)
    scheduler.set_timesteps(options.steps, device=device)
    noise = per_image_noise(latent_shape, options.seed, start, stop - start).to(device, dtype)
    if conditions.start_latents is None or options.strength >= 1.0:
        # s = 1 starts from pure noise: add_noise at the first timestep would still keep sqrt(alpha_bar) of z0.
        timesteps = scheduler.timesteps
        latents = noise * scheduler.init_noise_sigma
    else:
        first = options.start_step * scheduler.order
        timesteps = scheduler.timesteps[first:]
        z0 = conditions.start_latents[start:stop].to(device, dtype)
        if len(timesteps) == 0:  # floor(N * s) = 0: no step to run, the start latent is the result
            return z0
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(first)
        latents = scheduler.add_noise(z0, noise, timesteps[:1].repeat(stop - start))
    cond, uncond = _tokens(conditions, start, stop, device, dtype)
    guided = options.guidance_scale > 1.0
    context = torch.cat([uncond, cond]) if guided else cond
    generator = torch.Generator(device=device).manual_seed(options.seed * 1_000_003 + start)
    extra = {"eta": options.eta, "generator": generator} if options.scheduler == "ddim" else {}
    for t in timesteps:
        model_in = scheduler.scale_model_input(torch.cat([latents, latents]) if guided else latents, t)
        eps = unet(model_in, t, encoder_hidden_states=context).sample
        if guided:
            eps_uncond, eps_cond = eps.chunk(2)
            eps = eps_uncond + options.guidance_scale * (eps_cond - eps_uncond)
        latents = scheduler.step(eps, t, latents, **extra).prev_sample
    return latents
