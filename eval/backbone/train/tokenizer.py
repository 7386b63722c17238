"""A small BPE vocabulary in CLIP's tokenizer format (vocab.json + merges.txt), learnt from scene captions.

CLIP's tokenizer lowercases, splits words, letters and punctuation, maps bytes to printable characters and marks
the end of each word with `</w>`; the vocabulary keeps every byte character (so any text tokenizes) and adds
the merges learnt here. `transformers.CLIPTokenizer` loads the result like OpenAI's files.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import CLIPTokenizer

BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def byte_characters() -> list[str]:
    """The 256 printable characters CLIP's byte-level BPE stands for the bytes 0..255 with."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = list(printable), 0
    for byte in range(256):
        if byte not in printable:
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


def train_tokenizer(captions: list[str], folder: Path, vocab_size: int, max_length: int) -> CLIPTokenizer:
    """Learn merges from `captions`, write vocab.json and merges.txt into `folder`, load them as CLIPTokenizer."""
    alphabet = byte_characters()
    bpe = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    bpe.normalizer = normalizers.Lowercase()
    bpe.pre_tokenizer = pre_tokenizers.Split(Regex(r"[a-z]+|[0-9]|[^\sa-z0-9]+"), behavior="isolated")
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=[BOS, EOS],
        end_of_word_suffix="</w>",
        initial_alphabet=alphabet + [c + "</w>" for c in alphabet],
        show_progress=False,
    )
    bpe.train_from_iterator(captions, trainer)
    folder.mkdir(parents=True, exist_ok=True)
    bpe.model.save(str(folder))
    tokenizer = CLIPTokenizer.from_pretrained(folder, model_max_length=max_length)
    tokenizer.save_pretrained(folder)  # adds tokenizer_config.json and special_tokens_map.json
    return tokenizer
