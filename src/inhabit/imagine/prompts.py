"""Prompts for the generators: composing prefix/prompt/suffix, negative prompts, human tokens.

Dynamic masking (GenZI §3.2) reads the cross-attention maps of the *human* tokens of the prompt.
GenZI's authors listed those positions by hand per scene; here they are found from the prompt with
the pipeline's own tokenizer, so any prompt works: :func:`find_human_tokens`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from inhabit.errors import InputError

DEFAULT_HUMAN_WORDS: tuple[str, ...] = (
    "woman", "man", "person", "people", "boy", "girl", "lady", "guy", "child", "kid", "human",
    "someone", "adult", "teenager", "teen", "gentleman", "baby", "toddler", "player", "worker",
    "athlete", "student",
)
"""Words whose tokens define the human mask. Plurals are derived (:func:`word_forms`)."""

DEFAULT_NEGATIVE_PROMPTS: tuple[str, ...] = (
    "blurry", "low quality", "deformed", "disfigured", "bad anatomy", "extra limbs", "missing limbs",
    "cropped body", "multiple people", "text", "watermark",
)
"""A generic negative prompt list. GenZI's own list ships in its data archive and is not public."""

_IRREGULAR_PLURALS = {
    "man": "men", "woman": "women", "child": "children", "person": "people", "gentleman": "gentlemen",
    "foot": "feet",
}

# Word-boundary markers of the tokenizers diffusers pipelines use: CLIP BPE ends a word with
# "</w>"; SentencePiece (T5) starts one with "▁"; byte-level BPE (GPT-2 style) with "Ġ".
_END_MARK = "</w>"
_START_MARKS = ("▁", "Ġ")


def compose_prompt(prompt: str, prefix: str = "", suffix: str = "") -> str:
    """``prefix, prompt, suffix`` joined with ", ", skipping empty parts (GenZI's prompt layout).

    >>> compose_prompt("sitting on the bench", "a woman", "full body")
    'a woman, sitting on the bench, full body'
    """
    parts = [p.strip() for p in (prefix, prompt, suffix)]
    return ", ".join(p for p in parts if p)


def compose_negative_prompt(
    negatives: Sequence[str] = (), file: str | os.PathLike | None = None, extra: str | None = None
) -> str:
    """The negative prompt: ``extra`` first, then ``negatives``, then the non-empty lines of ``file``.

    Raises:
        InputError: when ``file`` is given but cannot be read.
    """
    parts: list[str] = []
    if extra:
        parts.append(extra.strip())
    parts.extend(n.strip() for n in negatives)
    if file is not None:
        path = Path(file).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise InputError(f"negative prompt file {path} could not be read ({e.strerror or e}); "
                             f"expected a UTF-8 text file with one negative prompt per line") from None
        parts.extend(line.strip() for line in lines)
    return ", ".join(p for p in parts if p)


def word_forms(word: str) -> set[str]:
    """Singular and plural spellings of ``word`` (lower case): ``"lady" -> {"lady", "ladies"}``."""
    w = word.strip().lower()
    forms = {w}
    if not w:
        return forms
    if w in _IRREGULAR_PLURALS:
        forms.add(_IRREGULAR_PLURALS[w])
    inverse = {v: k for k, v in _IRREGULAR_PLURALS.items()}
    if w in inverse:
        forms.add(inverse[w])
    if w.endswith("y") and len(w) > 1 and w[-2] not in "aeiou":
        forms.add(w[:-1] + "ies")
    elif w.endswith(("s", "x", "ch", "sh")):
        forms.add(w + "es")
    else:
        forms.add(w + "s")
    return forms


def _clean_piece(piece: str) -> tuple[str, bool, bool]:
    """(text, starts_word, ends_word) of one tokenizer piece."""
    starts = piece.startswith(_START_MARKS)
    if starts:
        piece = piece[1:]
    ends = piece.endswith(_END_MARK)
    if ends:
        piece = piece[: -len(_END_MARK)]
    return piece, starts, ends


def tokenize_words(tokenizer, text: str) -> list[tuple[str, list[int]]]:
    """The words of ``text`` as the tokenizer splits them, with their token positions.

    Positions index the tokenizer's output *including* the start token (position 0 is BOS for
    CLIP), i.e. the positions of the text encoder's sequence and of the cross-attention keys.
    Special tokens are skipped. Punctuation comes out as separate words.

    Returns:
        list of ``(word, positions)``, ``word`` lower case without boundary markers.
    """
    ids = tokenizer(text, truncation=False, add_special_tokens=True)["input_ids"]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    words: list[tuple[str, list[int]]] = []
    cur_text, cur_pos = "", []
    for pos, (tid, piece) in enumerate(zip(ids, pieces)):
        if tid in special or piece is None:
            if cur_pos:
                words.append((cur_text.lower(), cur_pos))
            cur_text, cur_pos = "", []
            continue
        text_piece, starts, ends = _clean_piece(piece)
        if starts and cur_pos:
            words.append((cur_text.lower(), cur_pos))
            cur_text, cur_pos = "", []
        cur_text += text_piece
        cur_pos.append(pos)
        if ends:
            words.append((cur_text.lower(), cur_pos))
            cur_text, cur_pos = "", []
    if cur_pos:
        words.append((cur_text.lower(), cur_pos))
    return words


def find_human_tokens(
    tokenizer, prompt: str, human_words: Iterable[str] = DEFAULT_HUMAN_WORDS, max_length: int | None = None
) -> list[int]:
    """Positions of every word piece of a human word ("woman", "men", "people", ...) in ``prompt``.

    Words are matched whole (``"woman,"`` matches, ``"womanly"`` does not), case-insensitively,
    singular or plural. Positions count the start token, as the cross-attention keys do.

    Args:
        tokenizer: the pipeline's (CLIP) tokenizer.
        prompt: the full prompt given to the text encoder (prefix and suffix included).
        human_words: the words that denote a person.
        max_length: the text encoder's sequence length (77 for CLIP); pieces beyond it are dropped
            because the encoder never sees them. Defaults to ``tokenizer.model_max_length``.

    Raises:
        InputError: when the prompt names no person, or only after the sequence limit.
    """
    forms: set[str] = set()
    words_list = [w for w in human_words]
    for w in words_list:
        forms |= word_forms(w)
    limit = max_length or getattr(tokenizer, "model_max_length", None) or 77
    if limit > 100_000:  # tokenizers without a limit report a huge sentinel
        limit = 77
    found: list[int] = []
    truncated: list[str] = []
    for word, positions in tokenize_words(tokenizer, prompt):
        if word in forms:
            kept = [p for p in positions if p < limit - 1]  # the last slot holds the end token
            if kept:
                found.extend(kept)
            else:
                truncated.append(word)
    if found:
        return found
    if truncated:
        raise InputError(
            f"the inpainting prompt {prompt!r} names a person ({truncated[0]!r}) only after the text "
            f"encoder's {limit}-token limit; shorten the prompt suffix or put the person first "
            f"(prompt prefix such as 'a person')"
        )
    raise InputError(
        f"the inpainting prompt {prompt!r} names no person (none of {', '.join(words_list[:8])}, ...); "
        f"dynamic masking follows the attention of a human word, so add one, e.g. the prompt prefix "
        f"'a person' (InpaintConfig.prompt_prefix) or extend InpaintConfig.human_words"
    )
