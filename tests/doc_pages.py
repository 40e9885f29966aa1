"""Run a Markdown page's code blocks as a student pastes them, and compare what they print.

Sybil (the `dev` extra) reads the page; every block runs in order in one namespace of its own
(a fresh one per page), with a fresh temporary folder as the working directory:

- a ```python block that starts with `>>>` is a doctest session: each shown output is compared
  (doctest's ELLIPSIS: `...` in a shown output stands for any text);
- any other ```python block runs as a script (nothing shown to compare);
- a ```console block holds commands, `$ python -m autograd ...` or `$ python -m demos ...`
  (`.venv/bin/python` also), each followed by what it prints (stdout and stderr, as a terminal
  shows them); the command runs through the CLI's own `main()` in this process and its output
  is compared line for line (trailing spaces ignored). A line `...` alone stands for any lines.
- ```sh blocks are install and setup commands (venvs, pip, pytest): not run here; `.ci/run`
  runs the README's Quick start on a fresh venv.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
import shlex
import tempfile
from pathlib import Path

from sybil import Example, Sybil
from sybil.evaluators.doctest import DocTestEvaluator, OutputChecker
from sybil.parsers.abstract.doctest import DocTestStringParser
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser

COMMAND = re.compile(r"^\$ (?:\S*/)?python3? -m (autograd|demos)(?: (.*))?$")


def _run_command(program: str, arguments: str) -> tuple[str, int]:
    """What `python -m PROGRAM ARGUMENTS` prints (stdout then stderr, interleaved as written),
    and its exit status."""
    if program == "autograd":
        from autograd.cli import main
    else:
        from demos.__main__ import main
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        try:
            status = main(shlex.split(arguments))
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else 1
    return printed.getvalue(), status or 0


def _matches(shown: list[str], printed: list[str]) -> bool:
    """`shown` equals `printed`, where a line `...` in `shown` stands for any number of lines."""
    if not shown:
        return not printed
    if shown[0] == "...":
        return any(_matches(shown[1:], printed[k:]) for k in range(len(printed) + 1))
    return bool(printed) and shown[0] == printed[0] and _matches(shown[1:], printed[1:])


def evaluate_console(example: Example) -> str | None:
    """Run each `$ python -m ...` line of a console block and compare what it prints."""
    lines = example.parsed.rstrip("\n").split("\n")
    commands: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("$ "):
            commands.append((line, []))
        elif commands:
            commands[-1][1].append(line.rstrip())
        else:
            return f"a console block must start with a `$ ` command, not {line!r}"
    for command, shown in commands:
        found = COMMAND.match(command)
        if not found:
            return f"not a command this runner knows: {command!r}"
        printed, _status = _run_command(found.group(1), found.group(2) or "")
        printed_lines = [line.rstrip() for line in printed.rstrip("\n").split("\n")]
        while shown and not shown[-1]:
            shown.pop()
        if printed_lines == [""]:
            printed_lines = []
        if not _matches(shown, printed_lines):
            shown_text, printed_text = "\n".join(shown), "\n".join(printed_lines)
            return f"{command}\nshown:\n{shown_text}\nprinted:\n{printed_text}"
    return None


class SessionParser(DocTestStringParser):
    """doctest's parser, but a shown output runs to the next `>>>` (or the block's end), blank
    lines included, as a terminal shows it (plain doctest ends it at a blank line and asks for
    `<BLANKLINE>`); blank lines before the next `>>>` are not part of it."""

    _EXAMPLE_RE = re.compile(
        r"""
        (?P<source> (?:^(?P<indent> [ ]*) >>> .*) (?:\n [ ]* \.\.\. .*)* ) \n?
        (?P<want> (?:(?![ ]*>>>) .* (?:\n|\Z))* )
        """,
        re.MULTILINE | re.VERBOSE,
    )

    def _parse_example(self, m, name, lineno):  # type: ignore[no-untyped-def]
        source, options, want, exc_msg = super()._parse_example(m, name, lineno)
        want = want.rstrip("\n") + "\n" if want.strip() else ""
        return source, options, want, exc_msg


def _without_trailing_blank_lines(got: str) -> str:
    return got.rstrip("\n") + "\n" if got.strip() else got


class SessionChecker(OutputChecker):
    """Sybil's checker, but blank lines at the end of what an example printed are ignored: a
    page cannot show them (a shown output ends at the next `>>>`)."""

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        return super().check_output(want, _without_trailing_blank_lines(got), optionflags)

    def output_difference(self, example, got: str, optionflags: int) -> str:  # type: ignore[no-untyped-def]
        return super().output_difference(example, _without_trailing_blank_lines(got), optionflags)


class SessionEvaluator(DocTestEvaluator):
    def __init__(self, optionflags: int = 0) -> None:
        super().__init__(optionflags)
        self.runner._checker = SessionChecker()  # (doctest's runner keeps its checker there)


class SessionBlockParser(PythonCodeBlockParser):
    """```python blocks: a `>>>` session through SessionParser, any other block as a script."""

    def __init__(self, doctest_optionflags: int = 0) -> None:
        super().__init__(doctest_optionflags=doctest_optionflags)
        self.doctest_parser = SessionParser(SessionEvaluator(doctest_optionflags))


PAGES = Sybil(
    parsers=[
        SessionBlockParser(doctest_optionflags=doctest.ELLIPSIS),
        CodeBlockParser(language="console", evaluator=evaluate_console),
    ],
)


def run_page(path: Path) -> int:
    """Run every block of the page at `path` in order, in a fresh namespace and a fresh working
    directory, the table of operations restored after (as a fresh interpreter would have it);
    raise (sybil's SybilFailure, an AssertionError) at the first block whose output differs
    from what is shown, or whose code raises. Return how many examples ran."""
    from autograd import ops

    document = PAGES.parse(Path(path))
    count = 0
    here = os.getcwd()
    table = dict(ops.OPERATIONS)  # a page's autograd.define rows end with the page, as its session
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        (Path(folder) / "out").mkdir()
        try:
            for example in document:
                example.evaluate()
                count += 1
        finally:
            os.chdir(here)
            document.namespace.clear()
            ops.OPERATIONS.clear()
            ops.OPERATIONS.update(table)
    return count
