"""The examples in the modules' docstrings run and print what they show (doctest)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import autograd
import nn

MODULES = sorted(
    f"{package.__name__}.{found.name}"
    for package in (autograd, nn)
    for found in pkgutil.iter_modules(package.__path__)
    if found.name != "__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_a_modules_docstring_examples_print_what_they_show(name):
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, report=True, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name}"


def test_the_examples_are_found():
    """(Not an empty check: the step-through's example is among them.)"""
    finder = doctest.DocTestFinder()
    tests = finder.find(importlib.import_module("autograd.steps"))
    assert sum(len(t.examples) for t in tests) >= 6
