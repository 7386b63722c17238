"""Reconstruction metrics: a spec table (`spec`), named protocols (`protocol`), pure tensor functions (`pixel`)
and the scoring entry point (`score`).

Kept import-light on purpose: `eval.metrics.spec` is read by the leaderboard, which must not pull in torch.
"""
