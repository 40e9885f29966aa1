"""Every code block of the README and the lessons runs as a student pastes it, in order, one
fresh namespace per page, and prints what the page shows (tests/doc_pages.py says how)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from doc_pages import run_page
from sybil.example import SybilFailure

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "docs" / "lessons").glob("[0-9][0-9]-*.md"))
PAGES = [ROOT / "README.md", *LESSONS, ROOT / "docs" / "engine.md"]


@pytest.fixture(autouse=True)
def _one_thread_for_blas(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_block_prints_what_the_page_shows(page):
    assert run_page(page) > 0


def test_the_lessons_are_the_eight_chapters_in_order_and_the_index_links_each():
    assert [p.name[:2] for p in LESSONS] == ["01", "02", "03", "04", "05", "06", "07", "08"]
    index = (ROOT / "docs" / "lessons" / "README.md").read_text()
    assert re.findall(r"\]\((\d\d-[\w-]+\.md)\)", index) == [p.name for p in LESSONS]


def test_every_python_and_console_block_is_run():
    """No block slips past the runner: a page's ```python and ```console blocks are all the
    runner's (a ```sh block is an install command and says so on its page)."""
    for page in PAGES:
        text = page.read_text()
        languages = set(re.findall(r"^```(\w+)$", text, re.M))
        assert languages <= {"python", "console", "sh", "text"}, (page, languages)


COMPOUND = re.compile(r"^( *)>>> (?:for|while|if|with|def|class|try)\b")


def unfinished_statements(text: str) -> list[str]:
    """The `>>> for ...` (and other compound) statements of a page that a real REPL would not
    have run yet: it runs one when an empty `...` line ends it (doctest does not need it, so
    nothing else would notice)."""
    lines, unfinished = text.splitlines(), []
    for i, line in enumerate(lines):
        found = COMPOUND.match(line)
        if found:
            j = i + 1
            while j < len(lines) and lines[j].startswith(found.group(1) + "..."):
                j += 1
            if lines[j - 1].strip() != "...":
                unfinished.append(line.strip())
    return unfinished


def test_every_compound_statement_ends_as_a_pasted_one_runs_in_the_repl():
    """In the README, the docs and the docstrings."""
    pages = [*PAGES, *sorted((ROOT / "docs").glob("*.md"))]
    pages += sorted(ROOT.glob("autograd/**/*.py")) + sorted(ROOT.glob("nn/*.py"))  # docstrings
    assert {page.name: unfinished_statements(page.read_text()) for page in pages} == {
        page.name: [] for page in pages
    }
    shown = ">>> for x in [1]: print(x)\n1\n>>> for x in [1]:\n...     print(x)\n...\n1\n"
    assert unfinished_statements(shown) == [">>> for x in [1]: print(x)"]


def _edited(page: Path, tmp_path: Path, shown: str, edit: str) -> Path:
    text = page.read_text()
    assert text.count(shown) == 1, shown
    copy = tmp_path / page.name
    copy.write_text(text.replace(shown, edit))
    return copy


def test_the_runner_fails_when_a_shown_doctest_output_is_edited(tmp_path):
    readme = ROOT / "README.md"
    shown = "w      0.999963  0.999963"  # the gradcheck table: analytic, numeric
    copy = _edited(readme, tmp_path, shown, "w      0.999963  0.999964")
    with pytest.raises(SybilFailure, match="0.999964"):
        run_page(copy)


def test_the_runner_fails_when_a_shown_command_output_is_edited(tmp_path):
    readme = ROOT / "README.md"
    shown = "gradients: dout/dx = -3.0, dout/dw = 2.0, dout/db = 1.0"
    copy = _edited(readme, tmp_path, shown, shown.replace("db = 1.0", "db = 7.0"))
    with pytest.raises(SybilFailure, match="db = 7.0"):
        run_page(copy)


def test_the_runner_fails_when_a_snippet_raises(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nimport autograd\nautograd.no_such_thing\n```\n")
    with pytest.raises(AttributeError, match="no_such_thing"):
        run_page(page)


def test_every_relative_link_and_picture_of_the_pages_exists():
    for page in [*PAGES, ROOT / "docs" / "lessons" / "README.md"]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[\w-]+)?\)", page.read_text()):
            if not target.startswith(("http://", "https://")):
                assert (page.parent / target).exists(), (page.name, target)


def test_a_page_runs_twice_in_one_process_as_in_two_fresh_interpreters():
    """Lesson 05 adds rows to the table of operations (`autograd.define`); they end with it."""
    lesson = next(p for p in LESSONS if p.name.startswith("05-"))
    assert run_page(lesson) == run_page(lesson)
