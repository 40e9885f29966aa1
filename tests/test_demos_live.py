"""`python -m demos NAME --live`: the live lab on that demo's settings, as a student starts it."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest


def test_a_demo_with_a_live_lab_serves_it_on_loopback_with_a_token_and_stops_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "demos", "moons", "--live", "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        for _ in range(20):
            line = process.stdout.readline()
            found = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
            if found:
                url = found.group(0)
                break
        assert url, "the lab printed no address"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url.split("?")[0], timeout=10)  # no token
        assert refused.value.code == 403
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert "Traceback" not in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_a_demo_without_one_says_which_have_one():
    done = subprocess.run(
        [sys.executable, "-m", "demos", "neuron", "--live", "--no-browser"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "moons" in done.stderr and "no live lab" in done.stderr


def test_python_m_autograd_lab_starts_the_lab():
    process = subprocess.Popen(
        [sys.executable, "-m", "autograd", "lab", "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        assert any(re.search(r"http://127\.0\.0\.1:\d+/\?token=", line) for line in lines), lines
        process.send_signal(signal.SIGINT)  # Ctrl-C
        assert process.wait(timeout=5) == 0
        assert "Traceback" not in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
