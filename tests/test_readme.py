"""The README's "Read the engine" stays true: its loop is `Value.backward`'s body, word for
word, and its line counts are the files' own."""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path

from autograd import Value

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SECTION = README[README.index("## Read the engine") : README.index("## Neural networks")]


def test_the_loop_shown_is_the_body_of_backward():
    source = textwrap.dedent(inspect.getsource(Value.backward))
    body = source[source.index('"""', source.index('"""') + 3) + 4 :]  # after the docstring
    shown = re.search(r"```python\n(.*?)```", SECTION, re.S).group(1)
    assert textwrap.dedent(body).strip() == shown.strip()


def test_line_counts_are_the_files_own():
    rows = re.findall(r"^\| `(autograd/[\w/]+\.py)` \| (\d+) \|", SECTION, re.M)
    assert len(rows) >= 6
    for path, count in rows:
        assert len((ROOT / path).read_text().splitlines()) == int(count), path


def test_the_core_stays_short_and_imports_no_room_of_speed():
    assert len((ROOT / "autograd/value.py").read_text().splitlines()) <= 360
    assert len((ROOT / "autograd/ops.py").read_text().splitlines()) <= 200
    for core in ("value.py", "ops.py", "graph.py", "ieee.py", "show.py", "layers.py"):
        text = (ROOT / "autograd" / core).read_text()
        assert not re.search(r"^\s*(from|import) \S*(fast|steps|draw|check|nn)\b", text, re.M), core


def _block_after(marker: str) -> str:
    """The lines of README's code block that follows `marker` (a line of it), up to ```."""
    start = README.index(marker) + len(marker)
    return README[start : README.index("```", start)].strip("\n")


def test_the_quick_starts_chain_rule_step_is_what_the_command_prints(capsys):
    from autograd.cli import main

    main(["steps", "x*w + b", "x=2", "w=-3", "b=1"])
    printed = capsys.readouterr().out.strip("\n")
    assert _block_after('$ .venv/bin/python -m autograd steps "x*w + b" x=2 w=-3 b=1\n') == printed


def test_the_repl_tours_steps_and_explanation_are_what_they_print():
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.8814, "b")
    n = x * w + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    steps = o.backward_steps()
    shown = ">>> print(next(steps))\n" + str(next(steps)) + "\n>>> for step in steps: print(step)\n"
    shown += "\n".join(map(str, steps))
    assert shown in README
    assert ">>> print(o.explain(w))\n" + str(o.explain(w)) + "\n```" in README
