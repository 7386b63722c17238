"""The feature extractors of the field's metrics, as data: architecture, nodes, preprocessing and weight file.

A protocol (`eval.metrics.protocol`) pins one table of these. Import-light on purpose (no torch): the
leaderboard and the command line read it.

Weight files are the ones the peers' code downloads, named as torchvision (and the SwAV and CLIP releases) name
them. torchvision embeds the first 8 hex digits of the file's sha256 in its name and checks only that prefix;
where the full sha256 is published (OpenAI's CLIP URL carries it) it is recorded and checked in full.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

ARCHITECTURES = ("alexnet", "inception_v3", "efficientnet_b1", "resnet50", "clip_vit_l14")


@dataclass(frozen=True)
class WeightFile:
    """One published weight file.

    Attributes:
        filename: The name the file has in a torch hub checkpoints folder (or the release's own name).
        url: Where it is published (documentation only: the harness never downloads).
        sha256: Full sha256 in hex, where published; checked in full.
        sha256_prefix: Leading hex digits of the sha256 embedded in a torchvision file name; checked when
            `sha256` is unknown (torchvision's own rule).
        tag: The release's name for these weights ("IMAGENET1K_V1").
    """

    filename: str
    url: str
    sha256: str | None = None
    sha256_prefix: str | None = None
    tag: str = ""

    @property
    def hash_rule(self) -> str:
        """How the file is checked: 'sha256' (full), 'sha256-prefix' (torchvision's rule) or 'none'."""
        if self.sha256:
            return "sha256"
        return "sha256-prefix" if self.sha256_prefix else "none"


@dataclass(frozen=True)
class ExtractorSpec:
    """A network, the nodes read from one forward pass, and how images are prepared for it.

    Attributes:
        name: Key in a protocol's table ("alexnet").
        architecture: One of `ARCHITECTURES`.
        nodes: Module names whose outputs are read (torchvision naming: "features.4", "avgpool"; "embeds" for
            CLIP's projected image embedding).
        size: Square input side the images are resized to (no crop).
        interpolation: "bilinear" or "bicubic".
        antialias: Whether the resize antialiases (torchvision <= 0.16 did not on tensors).
        mean: Per-channel normalisation mean.
        std: Per-channel normalisation standard deviation.
        weights: The published weight file.
    """

    name: str
    architecture: str
    nodes: tuple[str, ...]
    size: int
    interpolation: str
    antialias: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights: WeightFile

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"extractor {self.name}: unknown architecture {self.architecture!r}")
        if self.interpolation not in ("bilinear", "bicubic"):
            raise ValueError(f"extractor {self.name}: interpolation must be bilinear or bicubic")

    def key(self) -> dict[str, object]:
        """Everything that changes the features, for cache keys and results files."""
        return {
            "architecture": self.architecture,
            "nodes": list(self.nodes),
            "size": self.size,
            "interpolation": self.interpolation,
            "antialias": self.antialias,
            "mean": list(self.mean),
            "std": list(self.std),
            "weights": self.weights.filename,
            "tag": self.weights.tag,
        }


@dataclass(frozen=True)
class FeatureMetric:
    """A feature metric: which extractor and node it reads."""

    metric: str  # key in eval.metrics.spec.METRICS
    extractor: str
    node: str


ALEXNET_V1 = WeightFile(
    "alexnet-owt-7be5be79.pth",
    "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    sha256_prefix="7be5be79",
    tag="IMAGENET1K_V1",
)
INCEPTION_V1 = WeightFile(
    "inception_v3_google-0cc3c7bd.pth",
    "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
    sha256_prefix="0cc3c7bd",
    tag="IMAGENET1K_V1",
)
# torchvision's EfficientNet_B1_Weights: V1 is the port of the original weights, V2 the retrained DEFAULT.
EFFNET_B1_V1 = WeightFile(
    "efficientnet_b1_rwightman-bac287d4.pth",
    "https://download.pytorch.org/models/efficientnet_b1_rwightman-bac287d4.pth",
    sha256_prefix="bac287d4",
    tag="IMAGENET1K_V1",
)
EFFNET_B1_V2 = WeightFile(
    "efficientnet_b1-c27df63c.pth",
    "https://download.pytorch.org/models/efficientnet_b1-c27df63c.pth",
    sha256_prefix="c27df63c",
    tag="IMAGENET1K_V2",
)
# No published hash: the file's sha256 is recorded with every result instead.
SWAV_800EP = WeightFile(
    "swav_800ep_pretrain.pth.tar",
    "https://dl.fbaipublicfiles.com/deepcluster/swav_800ep_pretrain.pth.tar",
    tag="swav_800ep",
)
CLIP_VIT_L14_OPENAI = WeightFile(
    "ViT-L-14.pt",
    "https://openaipublic.azureedge.net/clip/models/"
    "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
    sha256="b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836",
    tag="openai",
)


def _spec(name: str, architecture: str, nodes: tuple[str, ...], size: int, weights: WeightFile) -> ExtractorSpec:
    clip = architecture == "clip_vit_l14"
    return ExtractorSpec(
        name=name,
        architecture=architecture,
        nodes=nodes,
        size=size,
        interpolation="bilinear",
        antialias=False,
        mean=CLIP_MEAN if clip else IMAGENET_MEAN,
        std=CLIP_STD if clip else IMAGENET_STD,
        weights=weights,
    )


FEATURE_METRICS = (
    FeatureMetric("alexnet2", "alexnet", "features.4"),
    FeatureMetric("alexnet5", "alexnet", "features.11"),
    FeatureMetric("inception", "inception", "avgpool"),
    FeatureMetric("clip", "clip", "embeds"),
    FeatureMetric("effnet", "effnet", "avgpool"),
    FeatureMetric("swav", "swav", "avgpool"),
)


def _table(*specs: ExtractorSpec) -> MappingProxyType[str, ExtractorSpec]:
    return MappingProxyType({spec.name: spec for spec in specs})


# MindEye1/2, MindBridge: images at 256 first, then each net's own size, bilinear without antialias.
MINDEYE_EXTRACTORS = _table(
    _spec("alexnet", "alexnet", ("features.4", "features.11"), 256, ALEXNET_V1),
    _spec("inception", "inception_v3", ("avgpool",), 342, INCEPTION_V1),
    _spec("clip", "clip_vit_l14", ("embeds",), 224, CLIP_VIT_L14_OPENAI),
    _spec("effnet", "efficientnet_b1", ("avgpool",), 255, EFFNET_B1_V2),
    _spec("swav", "resnet50", ("avgpool",), 224, SWAV_800EP),
)

# Brain-Diffuser: every net at 224 (PIL-style resizes, which antialias), EfficientNet-B1 with the V1 weights.
BRAINDIFFUSER_EXTRACTORS = _table(
    *(
        replace(spec, size=224, antialias=True, weights=EFFNET_B1_V1 if spec.name == "effnet" else spec.weights)
        for spec in MINDEYE_EXTRACTORS.values()
    )
)

# SynthNSD's scenes are 64 px: the same nets, nodes and weights at reduced sizes, so that a run of the
# reference decoders stays within minutes on two CPU cores. Never compared with published numbers.
SYNTH_SIZES = MappingProxyType({"alexnet": 128, "inception": 96, "clip": 64, "effnet": 64, "swav": 64})
MINDEYE_SYNTH_EXTRACTORS = _table(*(replace(spec, size=SYNTH_SIZES[spec.name]) for spec in MINDEYE_EXTRACTORS.values()))
