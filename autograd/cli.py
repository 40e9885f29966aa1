"""`python -m autograd` (or `autograd`): draw, step through, explain and check an expression.

    autograd graph   "tanh(x*w + b)" x=2 w=-3 b=6.88 -o neuron.svg
    autograd steps   "tanh(x*w + b)" x=2 w=-3 b=6.88
    autograd web     "tanh(x*w + b)" x=2 w=-3 b=6.88 -o neuron.html
    autograd explain "tanh(x*w + b)" x=2 w=-3 b=6.88 --wrt w
    autograd check   "log(x) * y ** 2" x=0.5 y=3
    autograd lab     [--port 0] [--no-browser] [--demo moons]   (the live lab, in your browser)

The expression is parsed by `autograd.expression` (an `ast` whitelist, never `eval`). Any bad
input gives one line on stderr, `autograd: error: ...`, and exit status 2; a failed gradient
check exits with 1; a missing renderer (or graphviz package) exits with 3, after writing the
.dot source where it can. Output cut short by its reader (`| head`) ends quietly with status 141
(128 + SIGPIPE, as a Unix tool the pipe stopped), never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from .expression import Expression, ExpressionError, parse, parse_assignments
from .show import show as _show
from .value import Value

EXIT_BAD_INPUT = 2
EXIT_CHECK_FAILED = 1
EXIT_NO_RENDERER = 3
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a tool that SIGPIPE stopped

# Options that take a value, and flags that do not (used to keep an expression that starts
# with "-", such as "-x*y", from being read as an option).
_VALUE_OPTIONS = {
    "-o",
    "--output",
    "--wrt",
    "--highlight",
    "--rankdir",
    "--max-nodes",
    "--dpi",
    "--title",
    "--max-paths",
    "--eps",
    "--atol",
    "--rtol",
}
_FLAGS = {"-h", "--help", "--no-grads", "--no-local-grads", "--formulas", "--no-clusters"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        hint = ""
        tokens = message.split(":", 1)[-1].split()
        if "unrecognized arguments" in message and any(t.startswith("--wrt") for t in tokens):
            hint = f"; --wrt NAME belongs to explain ({self.prog} explain EXPRESSION ... --wrt x)"
        _fail(f"{message}{hint} (see: {self.prog} --help)")


def _fail(message: str, status: int = EXIT_BAD_INPUT) -> NoReturn:
    print(f"autograd: error: {_one_line(message)}", file=sys.stderr)
    raise SystemExit(status)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())[:500]


def _parser(prog: str = "autograd") -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description="Show the work of backpropagation on an expression such as 'tanh(x*w + b)'.",
        epilog="Expressions use numbers, variables, + - * / **, and exp log tanh sigmoid relu abs.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{graph,steps,web,explain,check,lab}")
    sub.required = True

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("expression", help="e.g. 'tanh(x*w + b)'")
        p.add_argument("values", nargs="*", metavar="NAME=NUMBER", help="e.g. x=2 w=-3")
        return p

    graph = command("graph", "draw the graph (DOT source on stdout, or a picture with -o)")
    graph.add_argument("-o", "--output", help="write .svg, .png, .pdf (system dot) or .dot")
    graph.add_argument("--no-grads", action="store_true", help="do not run backward / show grads")
    graph.add_argument("--no-local-grads", action="store_true", help="no derivatives on edges")
    graph.add_argument("--formulas", action="store_true", help="derivative formulas on edges")
    graph.add_argument("--no-clusters", action="store_true", help="no boxes by label prefix")
    graph.add_argument(
        "--highlight",
        action="append",
        default=[],
        metavar="NAME",
        help="mark a node and the paths between marked nodes (repeatable)",
    )
    graph.add_argument("--rankdir", default="LR", choices=["LR", "TB", "RL", "BT"])
    graph.add_argument("--max-nodes", type=int, default=150, help="collapse larger graphs")
    graph.add_argument("--dpi", type=float, help="a .png's dots per inch (96; 200 for slides)")
    command("steps", "step through backward(), one node at a time")
    web = command("web", "write a page that replays backward() in the browser, step by step")
    web.add_argument("-o", "--output", default="backprop.html", help="the .html file to write")
    web.add_argument("--title", help="the page's title (default: the expression)")
    explain = command("explain", "explain d out/d x as a sum over paths")
    explain.add_argument("--wrt", metavar="NAME", help="the variable (default: every variable)")
    explain.add_argument(
        "--max-paths", type=int, default=12, help="paths printed at most (default 12)"
    )
    check = command("check", "compare gradients with central differences")
    check.add_argument(
        "--eps", type=float, default=1e-6, help="the nudge of central differences (default 1e-6)"
    )
    check.add_argument(
        "--atol", type=float, default=1e-5, help="absolute tolerance of a match (default 1e-5)"
    )
    check.add_argument(
        "--rtol", type=float, default=1e-3, help="relative tolerance of a match (default 1e-3)"
    )
    # (`lab` is run before this parser reads anything: its own flags, `autograd lab --help`)
    sub.add_parser("lab", help="the live lab in your browser: watch a network train, step in")
    return parser


def _separate(argv: list[str]) -> list[str]:
    """Put options first and positionals after `--`, so `-x*y` is read as an expression."""
    if not argv or argv[0].startswith("-"):
        return argv
    options: list[str] = []
    positionals: list[str] = []
    k = 1
    while k < len(argv):
        token = argv[k]
        if token == "--":
            positionals.extend(argv[k + 1 :])
            break
        if token in _FLAGS or token.split("=", 1)[0] in _VALUE_OPTIONS and "=" in token:
            options.append(token)
        elif token in _VALUE_OPTIONS and k + 1 < len(argv):
            options.extend(argv[k : k + 2])
            k += 1
        else:
            positionals.append(token)
        k += 1
    return [argv[0], *options, "--", *positionals]


def _build(args: argparse.Namespace) -> tuple[Expression, Value, dict[str, float]]:
    expression = parse(args.expression)
    values = parse_assignments(args.values)
    root = expression.evaluate(values)
    if not root.label:  # a name no variable has: out, out_, out__, ...
        root.label = "out"
        while root.label in values:
            root.label += "_"
    return expression, root, values


def _overflow_notes(items: Sequence[str]) -> list[str]:
    """A note for each NAME=NUMBER written as a finite number that float64 reads as inf."""
    notes = []
    for item in items:
        name, _, text = (part.strip() for part in item.partition("="))
        if math.isinf(float(text)) and text.lstrip("+-").lower() not in ("inf", "infinity"):
            notes.append(f"{name} = {text} is beyond float64's range: read as {float(text)}")
    return notes


def main(argv: Sequence[str] | None = None, prog: str = "autograd") -> int:
    """Run the command line; return the exit status. `prog`: the command as the user typed it,
    for usage lines (`autograd`, the installed script; `python -m autograd`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["lab"]:  # the live lab: a local server, with flags of its own
        from .lab import main as lab

        return lab(argv[1:], prog=f"{prog} lab")
    args = _parser(prog).parse_args(_separate(argv))
    try:
        status = _run(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        return reader_gone()
    except ImportError as error:  # no graphviz package: a Python without the project's install
        _fail(str(error), EXIT_NO_RENDERER)
    except ExpressionError as error:
        _fail(str(error))
    except ValueError as error:
        _fail(str(error))
    except (TypeError, KeyError, OverflowError) as error:
        _fail(f"{type(error).__name__}: {error}")
    except OSError as error:  # an output path that cannot be written
        where = f" {error.filename}" if error.filename else ""
        _fail(f"cannot write{where}: {error.strerror or error}")


def reader_gone() -> int:
    """Standard output's reader has gone (`... | head`): stop quietly, as a Unix tool does.
    What is still buffered goes nowhere (so no error at exit); the status says SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _run(args: argparse.Namespace) -> int:
    expression, root, values = _build(args)
    notes = _overflow_notes(args.values)
    if args.command == "graph":
        return _graph(args, root)
    if args.command == "steps":
        return _steps(expression, root, values, notes)
    if args.command == "web":
        from .page import page

        if os.path.splitext(args.output)[1].lower() not in (".html", ".htm"):
            raise ValueError(f"-o {args.output}: web writes an HTML page; name it FILE.html")
        print(f"wrote {page(root, title=args.title or expression.text).save(args.output)}")
        return 0
    _print_notes(notes)
    if args.command == "explain":
        return _explain(args, expression, root)
    return _check(args, expression, values)


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        print(f"  ({note})")


def _graph(args: argparse.Namespace, root: Value) -> int:
    from .draw import RendererNotFoundError, draw, render

    if not args.no_grads:
        root.backward()
    options = dict(
        grads=not args.no_grads,
        local_grads=not args.no_local_grads,
        formulas=args.formulas,
        clusters=not args.no_clusters,
        highlight=args.highlight,
        rankdir=args.rankdir,
        max_nodes=args.max_nodes,
    )
    if args.max_nodes < 1:
        raise ValueError(f"--max-nodes must be at least 1, got {args.max_nodes}")
    if args.dpi is not None and not args.output:
        raise ValueError("--dpi sets a picture's resolution: give it with -o FILE.png")
    graph = draw(root, **options)
    if not args.output:
        print(graph.source)
        return 0
    try:
        path = render(graph, args.output, dpi=args.dpi)
    except RendererNotFoundError as error:
        _fail(str(error), EXIT_NO_RENDERER)
    except RuntimeError as error:
        _fail(str(error), 1)
    print(f"wrote {path}")
    return 0


def _steps(expression: Expression, root: Value, values: dict[str, float], notes: list[str]) -> int:
    from .steps import backward_steps, where_nan_began

    steps = backward_steps(root)
    print(f"{steps.names[root]} = {expression.text} = {_show(root.data)}")
    undefined = where_nan_began(root, steps.names)
    if undefined:
        notes = [*notes, f"{undefined}; the chain rule runs all the same"]
    _print_notes(notes)
    plural = "step" if steps.total == 1 else "steps"
    print(f"backward: {steps.names[root]}.grad = 1, then {steps.total} {plural} of the chain rule")
    for step in steps:
        print()
        print(step)
    print()
    found = ", ".join(
        f"d{steps.names[root]}/d{name} = {_show(_leaf(root, name).grad)}"
        for name in expression.variables
    )
    print(f"gradients: {found or 'none: the expression has no variables'}")
    return 0


def _leaf(root: Value, name: str) -> Value:
    from .graph import leaves

    return next(node for node in leaves(root) if node.label == name)


def _explain(args: argparse.Namespace, expression: Expression, root: Value) -> int:
    from .steps import explain

    if args.max_paths < 1:
        raise ValueError(f"--max-paths must be at least 1, got {args.max_paths}")
    targets = [args.wrt] if args.wrt else list(expression.variables)
    if args.wrt and args.wrt not in expression.variables:
        have = ", ".join(expression.variables) or "none"
        raise ExpressionError(f"--wrt {args.wrt}: not a variable of the expression ({have})")
    if not targets:
        raise ExpressionError("the expression has no variables to explain")
    for k, name in enumerate(targets):  # (explain runs its own pass: grads stay as they are)
        if k:
            print("\n" + "-" * 72 + "\n")
        print(explain(root, _leaf(root, name), max_paths=args.max_paths))
    return 0


def _check(args: argparse.Namespace, expression: Expression, values: dict[str, float]) -> int:
    from .check import gradcheck

    if not expression.variables:
        raise ExpressionError("the expression has no variables to check")
    report = gradcheck(
        lambda **named: expression.evaluate(named),
        {name: values[name] for name in expression.variables},
        eps=args.eps,
        atol=args.atol,
        rtol=args.rtol,
        raise_exception=False,
    )
    print(report)
    return 0 if report.passed else EXIT_CHECK_FAILED
