"""Reconstruction metrics: the metric table (`spec`), the extractor table (`extractors`), named protocols
(`protocol`), pure tensor functions (`pixel`, `identification`), weights from local files (`weights`) or the
calibrated seeded source (`seeded`), batched cached features (`features`), and the scoring entry points
(`score` for PixCorr and SSIM, `feature_score` for the six feature metrics).

Kept import-light on purpose: `eval.metrics.spec` and `eval.metrics.extractors` are read by the leaderboard,
which must not pull in torch.
"""
