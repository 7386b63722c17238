"""MindEye's diffusion prior: brain tokens -> CLIP image tokens, built on diffusers' `PriorTransformer`.

MindEye1's prior (DALLE-2's prior network, 257 tokens) reads the backbone's output as its condition and denoises
the CLIP image tokens, predicting the clean tokens (x0) at each step; it is trained with an MSE loss on them. Here
the same transformer is diffusers' `PriorTransformer`, trained from scratch, with its token sequence

    [condition tokens (L), pooled condition (1), timestep (1), noisy image tokens (L)]

under full attention (no causal mask, MindEye's `causal=False`) and no extra query token (`added_emb_type=None`),
so its output is one prediction per image token. Tokens are standardised per position and channel with the
training targets' statistics (saved with the model), the condition with the same statistics. Training draws a
timestep of a cosine schedule (`prior_timesteps`, MindEye: 100); sampling runs DDIM (eta 0) over `prior_steps`
steps from per-image seeded noise, so an image's result does not depend on its batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from eval.backbone.sampling import per_image_noise

_SCHEDULE = {"beta_schedule": "squaredcos_cap_v2", "prediction_type": "sample", "clip_sample": False}


def _schedulers():
    from diffusers import DDIMScheduler, DDPMScheduler

    return DDPMScheduler, DDIMScheduler


class BrainPrior(nn.Module):
    """Denoises standardised CLIP image tokens [N, L, D] conditioned on brain tokens of the same shape."""

    def __init__(self, token_shape: tuple[int, int], config) -> None:
        from diffusers import PriorTransformer

        super().__init__()
        length, dim = token_shape
        self.token_shape = (int(length), int(dim))
        self.timesteps = int(config.prior_timesteps)
        self.net = PriorTransformer(
            num_attention_heads=config.prior_heads,
            attention_head_dim=config.prior_head_dim,
            num_layers=config.prior_layers,
            embedding_dim=dim,
            num_embeddings=length,
            additional_embeddings=length + 2,
            norm_in_type="layer",
            added_emb_type=None,
        )
        with torch.no_grad():  # diffusers leaves these at zero (they come from a checkpoint); we train from scratch
            self.net.positional_embedding.normal_(std=0.02)
        self.net.clip_mean.requires_grad_(False)  # unused: the standardisation below is per token
        self.net.clip_std.requires_grad_(False)
        self.register_buffer("mean", torch.zeros(length, dim))
        self.register_buffer("std", torch.ones(length, dim))
        ddpm, _ = _schedulers()
        alphas = ddpm(num_train_timesteps=self.timesteps, **_SCHEDULE).alphas_cumprod.float()
        self.register_buffer("alphas_cumprod", alphas, persistent=False)

    @torch.no_grad()
    def set_statistics(self, targets: torch.Tensor) -> None:
        """Per-token, per-channel mean and std of the training targets [n, L, D] (any device)."""
        targets = targets.float()
        self.mean.copy_(targets.mean(0).to(self.mean.device))
        self.std.copy_(targets.std(0).clamp_min(1e-4).to(self.std.device))

    def standardise(self, tokens: torch.Tensor) -> torch.Tensor:
        return (tokens - self.mean) / self.std

    def unstandardise(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens * self.std + self.mean

    def denoise(self, noisy: torch.Tensor, timesteps: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Predicted clean standardised tokens from noisy ones at `timesteps` [N], given standardised brain
        tokens."""
        return self.net(
            noisy, timesteps, proj_embedding=condition[:, 0], encoder_hidden_states=condition
        ).predicted_image_embedding

    def loss(self, brain: torch.Tensor, targets: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """MSE between predicted and true clean tokens at a random timestep per row (draws on the CPU)."""
        n = brain.shape[0]
        x0 = self.standardise(targets.float())
        t = torch.randint(0, self.timesteps, (n,), generator=generator).to(x0.device)
        noise = torch.randn(x0.shape, generator=generator).to(x0.device, x0.dtype)
        a = self.alphas_cumprod[t].view(n, 1, 1)
        noisy = a.sqrt() * x0 + (1 - a).sqrt() * noise
        predicted = self.denoise(noisy, t, self.standardise(brain))
        return F.mse_loss(predicted.float(), x0)

    @torch.no_grad()
    def sample(self, brain: torch.Tensor, steps: int, seed: int, first_index: int = 0) -> torch.Tensor:
        """CLIP image tokens [N, L, D] (unstandardised) for brain tokens, by DDIM over `steps` steps."""
        _, ddim = _schedulers()
        scheduler = ddim(num_train_timesteps=self.timesteps, set_alpha_to_one=True, **_SCHEDULE)
        scheduler.set_timesteps(steps)
        condition = self.standardise(brain.float())
        noise = per_image_noise(self.token_shape, seed, first_index, brain.shape[0])
        x = noise.to(condition.device, condition.dtype)
        for t in scheduler.timesteps:
            x0 = self.denoise(x, t, condition).float()
            x = scheduler.step(x0, t, x).prev_sample  # the last step (alpha 1) returns x0 itself
        return self.unstandardise(x)
