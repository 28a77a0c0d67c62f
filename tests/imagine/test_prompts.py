"""Prompt composition and automatic human-token finding."""

from __future__ import annotations

import pytest

from inhabit.errors import InputError
from inhabit.imagine.prompts import (
    compose_negative_prompt,
    compose_prompt,
    find_human_tokens,
    tokenize_words,
    word_forms,
)
from inhabit.imagine.testing import offline_clip_tokenizer, offline_t5_tokenizer


@pytest.fixture(scope="module")
def real_tok():
    return offline_clip_tokenizer("real")


@pytest.fixture(scope="module")
def tiny_tok():
    return offline_clip_tokenizer("tiny")


def test_real_tokenizer_matches_openai_clip_ids(real_tok):
    # ids of openai/clip-vit-large-patch14's tokenizer for this sentence (stack.md §6)
    ids = real_tok("A person sitting on a chair, photo.").input_ids
    assert ids == [49406, 320, 2533, 4919, 525, 320, 4269, 267, 1125, 269, 49407]
    assert len(real_tok) == 49408 and real_tok.model_max_length == 77


def test_compose_prompt_and_negatives(tmp_path):
    assert compose_prompt("sitting on the bench", "a woman", "full body") == "a woman, sitting on the bench, full body"
    assert compose_prompt("  sitting ", "", " ") == "sitting"
    f = tmp_path / "neg.txt"
    f.write_text("ugly\n\n  blurry  \n")
    assert compose_negative_prompt(("extra limbs",), f, extra="two people") == "two people, extra limbs, ugly, blurry"
    with pytest.raises(InputError, match=r"negative prompt file .*missing\.txt could not be read"):
        compose_negative_prompt((), tmp_path / "missing.txt")


def test_word_forms():
    assert word_forms("Woman") == {"woman", "women", "womans"}
    assert word_forms("lady") == {"lady", "ladies"}
    assert {"person", "people"} <= word_forms("person")
    assert {"people", "person"} <= word_forms("people")
    assert "children" in word_forms("child")


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        # BOS is position 0
        ("a woman, sitting on the bench, wearing a white shirt and blue pants, full body", [2]),
        ("Two women, sitting; the man's lady-friends!", [2, 7, 9]),
        ("A WOMAN sits.", [2]),
        ("people walking", [1]),
        ("a child and a boy", [2, 5]),
    ],
)
def test_find_human_tokens_real(real_tok, prompt, expected):
    assert find_human_tokens(real_tok, prompt) == expected


def test_find_human_tokens_multi_piece_word(tiny_tok):
    # the tiny BPE spells "woman" in two pieces: both are human tokens
    pos = find_human_tokens(tiny_tok, "a woman, sitting")
    assert len(pos) >= 2 and pos == list(range(pos[0], pos[0] + len(pos)))
    pieces = tiny_tok.convert_ids_to_tokens(tiny_tok("a woman, sitting").input_ids)
    assert "".join(pieces[p] for p in pos).replace("</w>", "") == "woman"


def test_whole_words_only_and_custom_words(real_tok):
    with pytest.raises(InputError, match=r"names no person .* add one, e\.g\. the prompt prefix 'a person'"):
        find_human_tokens(real_tok, "a womanly chair by the window")
    assert find_human_tokens(real_tok, "a womanly chair", human_words=("chair",)) == [4]


def test_human_word_beyond_token_limit(real_tok):
    prompt = "chair " * 80 + "woman"
    with pytest.raises(InputError, match=r"only after the text encoder's 77-token limit"):
        find_human_tokens(real_tok, prompt)


def test_sentencepiece_word_boundaries():
    tok = offline_t5_tokenizer()
    words = [w for w, _ in tokenize_words(tok, "a woman sitting")]
    assert words == ["a", "woman", "sitting"]
    assert find_human_tokens(tok, "a woman sitting") == [1]
