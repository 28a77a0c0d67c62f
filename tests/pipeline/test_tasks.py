"""Task files: the documented format parses, and every mistake is one sentence naming it."""

from __future__ import annotations

import textwrap

import pytest

from inhabit.errors import InputError
from inhabit.pipeline.tasks import parse_task_file

GOOD = """
format: inhabit.tasks/1
scene: scenes/kyoto.glb
up_axis: y
scale: 0.01
preset: fast
config: {lift: {phase_iters: 5}}
interactions:
  - id: sit_bench
    prompt: sitting on the bench
    at: [-0.6, -1.55, 0.45]
    negative_prompt: standing
    views: [[0.4, 0.2, 1.0], "-1.6, 0.3, 1.1"]
    seed: 3
  - id: lean
    prompt: leaning on the counter
    at: lean_counter
  - id: mine
    at: "1,2,3"
    images: inpaintings/lean
"""


def _write(tmp_path, text):
    p = tmp_path / "tasks.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_parses_the_documented_format(tmp_path):
    tf = parse_task_file(_write(tmp_path, GOOD))
    assert tf.scene == str(tmp_path / "scenes/kyoto.glb") and tf.up_axis == "y" and tf.scale == 0.01
    assert tf.preset == "fast" and tf.config == {"lift": {"phase_iters": 5}}
    a, b, c = tf.tasks
    assert (a.id, a.prompt, a.negative_prompt, a.seed) == ("sit_bench", "sitting on the bench", "standing", 3)
    assert a.at == "-0.6,-1.55,0.45"
    assert a.eyes == ((0.4, 0.2, 1.0), (-1.6, 0.3, 1.1))
    assert a.up_axis == "y" and a.scale == 0.01 and a.scene == tf.scene
    assert b.at == "lean_counter" and b.eyes is None and b.images is None
    assert c.prompt == "" and c.images == str(tmp_path / "inpaintings/lean") and c.at == "1.0,2.0,3.0"


def test_demo_scenes_are_not_made_relative(tmp_path):
    tf = parse_task_file(_write(tmp_path, "scene: demo:room\ninteractions: [{prompt: sit, at: sit_bench}]\n"))
    assert tf.scene == "demo:room" and tf.tasks[0].id == "task000"


@pytest.mark.parametrize(("text", "message"), [
    ("interactions: [{prompt: a, at: [0,0,0]}]", "'scene' must be a mesh path or demo:<name>"),
    ("scene: demo:room\ninteractions: []", "'interactions' must be a non-empty list"),
    ("scene: demo:room\nup_axis: x\ninteractions: [{prompt: a, at: seat}]", "'up_axis' is 'x'; expected one of z, y, -y, -z"),
    ("scene: demo:room\nscale: -1\ninteractions: [{prompt: a, at: seat}]", "'scale' is -1; expected a positive number"),
    ("scene: demo:room\nscenery: 1\ninteractions: [{prompt: a, at: seat}]", "unknown key 'scenery'"),
    ("scene: demo:room\ninteractions: [{id: a, prompt: '  ', at: seat}]",
     "interaction 'a': 'prompt' is empty; describe the interaction"),
    ("scene: demo:room\ninteractions: [{id: a, prompt: sit}]", "interaction 'a': 'at' is missing"),
    ("scene: demo:room\ninteractions: [{id: a, prompt: sit, at: [1, 2]}]",
     "interaction 'a': 'at' is [1, 2]; expected three numbers x, y, z (metres)"),
    ("scene: demo:room\ninteractions: [{id: a, prompt: sit, at: seat, views: [[1, 2, .nan]]}]",
     "interaction 'a': views[0] is [1, 2, nan]; expected three numbers"),
    ("scene: demo:room\ninteractions: [{id: a, prompt: s, at: seat}, {id: a, prompt: t, at: seat}]",
     "two interactions have the id 'a'"),
    ("scene: demo:room\ninteractions: [{id: 'a b', prompt: s, at: seat}]", "has id 'a b'; expected letters, digits"),
    ("scene: demo:room\ninteractions: [{id: a, prompt: s, at: seat, colour: red}]", "interaction 'a': unknown key 'colour'"),
    ("scene: demo:room\ninteractions: [{id: a, prompt: s, at: seat, seed: -2}]", "'seed' is -2; expected a non-negative integer"),
    ("format: other/1\nscene: demo:room\ninteractions: [{prompt: s, at: seat}]", "'format' is 'other/1', expected 'inhabit.tasks/1'"),
])
def test_mistakes_are_named(tmp_path, text, message):
    with pytest.raises(InputError) as e:
        parse_task_file(_write(tmp_path, text))
    assert message in str(e.value)
    assert str(tmp_path / "tasks.yaml") in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"task file .*nope\.yaml does not exist"):
        parse_task_file(tmp_path / "nope.yaml")
