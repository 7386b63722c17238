"""The generation backbone: Versatile Diffusion (VD) loaded offline, its dual-guided img2img loop, and MiniVD.

- `locate`: find a VD-layout folder (explicit path, the shipped MiniVD, or the local Hugging Face cache).
- `model`: load its components and expose AutoKL encode/decode, VD-style CLIP tokens, unconditional inputs.
- `sampling`: the dual-guided denoising loop (start from a latent at a structural strength, or from noise).
- `targets`: the backbone's inputs of training images (latents, image and text tokens), computed once and cached.
- `compat`: dual attention conversion and the upstream keyword incompatibility it works around.
- `train`: the command that trains MiniVD, a tiny model in VD's exact format, on synthetic scenes.
"""
