"""docs/engine.md's "Read the engine" stays true: its loop is `Value.backward`'s body, word for
word, and its line counts are the files' own. And `.ci/run` runs the README's Quick start.

(Every block of the README and of the lessons runs, with its output compared, in
tests/test_lessons.py.)"""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path

from autograd import Value

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
ENGINE = (ROOT / "docs" / "engine.md").read_text()
SECTION = ENGINE[ENGINE.index("## Read the engine") : ENGINE.index("## The command line")]


def test_the_loop_shown_is_the_body_of_backward():
    source = textwrap.dedent(inspect.getsource(Value.backward))
    body = source[source.index('"""', source.index('"""') + 3) + 4 :]  # after the docstring
    shown = re.search(r"```text\n(.*?)```", SECTION, re.S).group(1)
    assert textwrap.dedent(body).strip() == shown.strip()


def test_line_counts_are_the_files_own():
    rows = re.findall(r"^\| `(autograd/[\w/]+\.py)` \| (\d+) \|", SECTION, re.M)
    assert len(rows) >= 6
    for path, count in rows:
        assert len((ROOT / path).read_text().splitlines()) == int(count), path


def test_the_core_stays_short_and_imports_no_room_of_speed():
    assert len((ROOT / "autograd/value.py").read_text().splitlines()) <= 300
    assert len((ROOT / "autograd/ops.py").read_text().splitlines()) <= 200
    for core in ("value.py", "ops.py", "graph.py", "ieee.py", "show.py", "layers.py"):
        text = (ROOT / "autograd" / core).read_text()
        assert not re.search(r"^\s*(from|import) \S*(fast|steps|draw|check|nn)\b", text, re.M), core


def quick_start() -> list[str]:
    """The README's Quick start: its one ```sh block, two commands."""
    section = README[README.index("## Quick start") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return block.strip().split("\n")


def test_the_quick_start_is_two_commands_learning_first_then_the_tests():
    first, second = quick_start()
    assert '-e ".[plots]"' in first and first.endswith("-m demos moons")
    assert '".[dev' in second and second.endswith("-m pytest")


def test_ci_runs_the_readmes_two_commands_word_for_word():
    """.ci/run holds each command with the venv at "$VENV" instead of .venv, in the same order."""
    ci = (ROOT / ".ci" / "run").read_text()
    in_ci = [
        re.sub(r"\.venv(/bin/\w+)?", lambda m: f'"$VENV{m.group(1) or ""}"', command)
        for command in quick_start()
    ]
    at = [ci.index(command) for command in in_ci]
    assert at == sorted(at)


def test_the_readme_stays_short_for_a_student():
    assert len(README.split()) <= 1600
