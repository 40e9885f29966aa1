"""The live lab under load, and its training speed with and without a page (not a test).

    python benchmarks/lab_load.py                 # 20 clients for 60 s, then the speed
    python benchmarks/lab_load.py --clients 5 --seconds 10 --no-speed

Load: a lab server in its own process (`python -m autograd.lab --port 0 --no-browser`); each
client opens a lab (the moons demo), its event stream, and presses play; the clients read
frames for `--seconds`. Printed: frames a second per client (least, median, most), training
steps a second per client, the server's resident memory (RSS) every few seconds, and any
refusals (the server trains at most `--max-training` labs at once; more are told so).

Speed: the moons demo's network (MLP(2, [16, 16, 1]), 100 points, hinge, SGD) trained
full-batch for `--speed-seconds`: `nn.fit` alone; the lab's training thread with no page; the
lab with one page taking every frame it is sent (so the server builds up to 20 a second);
with `--browser`, the lab with its page open in headless Chromium (drawing every frame).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import nn
from autograd import lab


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def post(port: int, token: str, path: str, body: dict) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "POST",
        f"{path}?token={token}",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    response = connection.getresponse()
    reply = json.loads(response.read())
    connection.close()
    return response.status, reply


class Client(threading.Thread):
    """One tab: a lab, its event stream, play; counts the frames it reads."""

    def __init__(self, port: int, token: str, seconds: float) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.seconds = port, token, seconds
        self.frames, self.first_step, self.last_step = 0, None, 0
        self.error = ""
        self.elapsed = 0.0

    def run(self) -> None:
        try:
            status, reply = post(self.port, self.token, "/api/session", {"demo": "moons"})
            if status != 200:
                self.error = reply.get("error", str(status))
                return
            session = reply["session"]
            post(self.port, self.token, "/api/speed", {"session": session, "speed": "fast"})
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            query = urllib.parse.urlencode({"token": self.token, "session": session})
            sock.sendall(f"GET /api/events?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            stream = sock.makefile("rb")
            status, reply = post(
                self.port, self.token, "/api/control", {"session": session, "action": "play"}
            )
            if status != 200:
                self.error = reply.get("error", str(status))
            start = time.monotonic()
            while time.monotonic() - start < self.seconds:
                line = stream.readline()
                if not line:
                    break
                if line.startswith(b"data: "):
                    frame = json.loads(line[6:])
                    self.frames += 1
                    if self.first_step is None:
                        self.first_step = frame["step"]
                    self.last_step = frame["step"]
            self.elapsed = time.monotonic() - start
            sock.close()
        except OSError as error:
            self.error = str(error)


def load(clients: int, seconds: float, max_training: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "autograd.lab", "--port", "0", "--no-browser"]
        + ["--max-training", str(max_training)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        process.stdout.readline()
        url = urllib.parse.urlsplit(process.stdout.readline().strip())
        port, token = url.port, urllib.parse.parse_qs(url.query)["token"][0]
        print(f"load: {clients} clients for {seconds:g} s on one server (pid {process.pid})")
        print(f"  server RSS at start {rss_mb(process.pid):.1f} MB")
        threads = [Client(port, token, seconds) for _ in range(clients)]
        for thread in threads:
            thread.start()
        start = time.monotonic()
        samples = []
        while any(t.is_alive() for t in threads):
            time.sleep(min(5.0, max(0.5, seconds / 12)))
            samples.append((time.monotonic() - start, rss_mb(process.pid)))
        print("  server RSS (MB) over time: " + ", ".join(f"{t:.0f}s {m:.1f}" for t, m in samples))
        fps = [t.frames / t.elapsed for t in threads if t.elapsed]
        steps = [(t.last_step - (t.first_step or 0)) / t.elapsed for t in threads if t.elapsed]
        refused = [t.error for t in threads if t.error]
        if fps:
            print(
                f"  frames a second per client: least {min(fps):.1f}, median "
                f"{statistics.median(fps):.1f}, most {max(fps):.1f} (the server sends at most "
                f"{lab.FRAMES_PER_SECOND})"
            )
            print(
                f"  training steps a second per client: least {min(steps):.0f}, median "
                f"{statistics.median(steps):.0f}, most {max(steps):.0f}; all together "
                f"{sum(steps):.0f}"
            )
        if refused:
            print(f"  refused: {len(refused)}: {'; '.join(sorted(set(refused)))}")
        else:
            print("  refused: none")
    finally:
        process.terminate()
        process.wait(timeout=5)


def fit_rate(seconds: float) -> float:
    """nn.fit's full-batch steps a second on the moons demo, for about `seconds`."""
    config = lab.DEMOS["moons"]
    X, labels = lab.make_data("moons")
    y = nn.data.to_signed(labels)
    model = nn.MLP(2, [16, 16, 1], activation="relu", seed=config["seed"])
    lr, l2 = config["lr"], config["l2"]
    start = time.perf_counter()
    nn.fit(model, X, y, loss="hinge", lr=lr, l2=l2, epochs=50, progress=False)
    epochs = max(50, int(50 * seconds / (time.perf_counter() - start)))
    start = time.perf_counter()
    nn.fit(model, X, y, loss="hinge", lr=lr, l2=l2, epochs=epochs, progress=False)
    return epochs / (time.perf_counter() - start)


def lab_rate(server: lab.LabServer, seconds: float, with_page: bool) -> tuple[float, float]:
    """The lab's training steps a second on the moons demo (and frames a second sent)."""
    status, reply = post(server.port, server.token, "/api/session", {"demo": "moons"})
    session_id = reply["session"]
    session = server.sessions[session_id]
    session.set_speed("fast")  # (the lab's default caps it, to watch it learn)
    reader = None
    if with_page:
        reader = PageReader(server.port, server.token, session_id)
        reader.start()
        time.sleep(0.3)
    post(server.port, server.token, "/api/control", {"session": session_id, "action": "play"})
    time.sleep(0.5)
    first, start = session.steps, time.perf_counter()
    if reader is not None:
        reader.frames, reader.start_time = 0, time.monotonic()
    time.sleep(seconds)
    rate = (session.steps - first) / (time.perf_counter() - start)
    frames = reader.frames / reader.elapsed() if reader is not None else 0.0
    post(server.port, server.token, "/api/control", {"session": session_id, "action": "pause"})
    if reader is not None:
        reader.stop = True
    return rate, frames


def speed(seconds: float, rounds: int = 3) -> None:
    """The best of `rounds` alternating runs of each (the machine's other load varies)."""
    fits, alone, paged, frames = [], [], [], []
    server = lab.serve("127.0.0.1", 0)
    try:
        for _ in range(rounds):
            fits.append(fit_rate(seconds))
            alone.append(lab_rate(server, seconds, False)[0])
            rate, sent = lab_rate(server, seconds, True)
            paged.append(rate)
            frames.append(sent)
    finally:
        server.stop()
    print(
        f"speed: moons, MLP(2, [16, 16, 1]), 100 points, full batch, hinge, SGD; best of {rounds}"
    )
    print(f"  nn.fit:                    {max(fits):7.0f} steps/s")
    print(f"  the lab, no page:          {max(alone):7.0f} steps/s")
    print(
        f"  the lab, a page connected: {max(paged):7.0f} steps/s "
        f"({max(frames):.1f} frames/s built and sent)"
    )


def browser_rate(seconds: float) -> float:
    """The lab's steps a second with the page open in headless Chromium, drawing every frame
    it takes (the browser shares the machine's cores, as on a laptop)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs"))
    from lab_screenshots import opened_lab

    with opened_lab() as (_, driver, session):
        session.set_speed("fast")
        driver.find_element("id", "play").click()
        time.sleep(1.0)
        first, start = session.steps, time.perf_counter()
        time.sleep(seconds)
        return (session.steps - first) / (time.perf_counter() - start)


class PageReader(threading.Thread):
    def __init__(self, port: int, token: str, session: str) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.session = port, token, session
        self.frames, self.stop, self.start_time = 0, False, time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start_time

    def run(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        query = urllib.parse.urlencode({"token": self.token, "session": self.session})
        sock.sendall(f"GET /api/events?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        stream = sock.makefile("rb")
        while not self.stop:
            line = stream.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                self.frames += 1
        sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-training", type=int, default=20, help="the server's limit")
    parser.add_argument("--speed-seconds", type=float, default=5.0)
    parser.add_argument("--no-load", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument(
        "--browser", action="store_true", help="also the speed with the page in headless Chromium"
    )
    args = parser.parse_args(argv)
    print(f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]})")
    if not args.no_load:
        load(args.clients, args.seconds, args.max_training)
    if not args.no_speed:
        speed(args.speed_seconds)
    if args.browser:
        rate = browser_rate(args.speed_seconds)
        print(f"  the lab, its page in headless Chromium: {rate:7.0f} steps/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
