"""Training MiniVD: a tiny Versatile Diffusion in the exact diffusers folder layout, trained on synthetic scenes.

Stages run in order, each saving a checkpoint the next one reads: tokenizer -> vae -> clip -> unet -> assemble.
"""
