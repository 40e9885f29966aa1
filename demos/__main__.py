"""`python -m demos` lists the demos; `python -m demos NAME [flags]` runs one (`--live`: the live
lab on its data, network and optimizer, in your browser);
`python -m demos all [flags]` runs every one (flags such as --quick or --no-pictures are passed
to each) and prints how long each took and whether it agreed with its NumPy form."""

from __future__ import annotations

import contextlib
import difflib
import importlib
import io
import sys
import time

from autograd.cli import reader_gone

from . import DATA_EXTRA, DEMOS


def run_all(flags: list[str]) -> int:
    """Run every demo with `flags`, its report hidden; print a table of times and verdicts."""
    command = " ".join(["python -m demos NAME", *flags])
    print(f"{'demo':<12} {'seconds':>8}  result   ({command})")
    sys.stdout.flush()
    worst = 0
    for name, (module_name, _) in DEMOS.items():
        module = importlib.import_module(module_name)
        captured = io.StringIO()
        start = time.perf_counter()
        own_flags = list(flags) if hasattr(module, "run") else []  # `neuron` has its own flags
        with contextlib.redirect_stdout(captured):
            try:
                status = module.main(own_flags)
            except SystemExit as stop:  # a flag that demo does not take
                status = stop.code if isinstance(stop.code, int) else 2
            except ValueError as error:
                print(f"{name}: {error}", file=sys.stderr)
                status = 2
        seconds = time.perf_counter() - start
        verdict = "ok" if status == 0 else f"exit {status}"
        print(f"{name:<12} {seconds:>8.2f}  {verdict}")
        worst = max(worst, status)
    return worst


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "list"):
        print("usage: python -m demos NAME [flags]   (python -m demos NAME --help for flags)")
        print("       python -m demos all [flags]    (every demo, timed)\n")
        width = max(len(name) for name in DEMOS)
        for name, (_, description) in DEMOS.items():
            extra = " (data extra)" if name in DATA_EXTRA else ""
            print(f"  {name:<{width}}  {description}{extra}")
        return 0
    name, rest = argv[0], argv[1:]
    if name == "all":
        return run_all(rest)
    if name not in DEMOS:
        close = difflib.get_close_matches(name, [*DEMOS, "all"], n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        print(f"unknown demo {name!r}; {guess}choose one of: {', '.join(DEMOS)}", file=sys.stderr)
        return 2
    if "--live" in rest:  # the live lab on this demo's data, network and optimizer
        from autograd import lab

        return lab.live(name, [flag for flag in rest if flag != "--live"])
    module = importlib.import_module(DEMOS[name][0])
    try:
        status = module.main(rest)
        sys.stdout.flush()
        return status
    except BrokenPipeError:  # `python -m demos xor | head`: stop quietly, as a Unix tool does
        return reader_gone()
    except ValueError as error:  # a setting the data or network cannot take, e.g. --noise -1
        print(f"python -m demos {name}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
