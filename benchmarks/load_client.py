"""The load benchmark's client: cheap enough that its own CPU does not decide the figures.

benchmarks/load.py shares this machine's two cores with the servers it measures, so every
millisecond the client spends is taken from them. httpx (asyncio) used most of a core at
a few hundred requests per second; this client sends pre-built HTTP/1.1 requests over plain
blocking sockets, one thread per simulated person, and reads each answer to the end of the
connection. gunicorn's sync workers close every connection after one answer (they have no
keep-alive), so one connection per request is what any client gets from them; the client
asks for ``Connection: close`` so that reading to the end stays right with other servers.

Besides the client: closed loops (a fixed number of people, no pause) and think-time loops
(each person pauses after every answer), the latency samples they record, and the CPU
seconds used by this process and by a server's processes, read from /proc.
"""

from __future__ import annotations

import os
import random
import re
import resource
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

# What one person does once: a status code, or None when it has nothing left to do (its
# supply of links or submissions ran out).
Act = Callable[[], "int | None"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Answer(NamedTuple):
    """A server's answer: status code, header block and body, as bytes."""

    status: int
    head: bytes
    body: bytes


class Session:
    """One person's connection details and cookies (used by one thread at a time)."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.host = f"{host}:{port}"
        self.cookies: dict[str, str] = {}

    def build(self, method: str, path: str, form: dict[str, object] | None = None) -> bytes:
        """The raw request, with this session's cookies as they are now."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", "Connection: close"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        body = b""
        if form is not None:
            body = urlencode(form, doseq=True).encode()
            lines.append("Content-Type: application/x-www-form-urlencoded")
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def send(self, raw: bytes) -> Answer:
        """Send a pre-built request on a fresh connection and read the answer to its end,
        keeping any cookie it sets."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as connection:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.connect(self.address)
            connection.sendall(raw)
            chunks = []
            receive = connection.recv
            while data := receive(262144):
                chunks.append(data)
        head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
        if b"\r\nSet-Cookie:" in head:
            self._keep_cookies(head)
        return Answer(int(head[9:12]), head, body)

    def request(self, method: str, path: str, form: dict[str, object] | None = None) -> Answer:
        """Build and send one request."""
        return self.send(self.build(method, path, form))

    def _keep_cookies(self, head: bytes) -> None:
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"set-cookie":
                pair = value.strip().split(b";", 1)[0].decode()
                key, _, cookie = pair.partition("=")
                self.cookies[key] = cookie


def log_in(session: Session, email: str, password: str) -> None:
    """Log a session in through the login form; exit when the app refuses."""
    page = session.request("GET", "/login")
    csrf = CSRF.search(page.body.decode())
    form = {"csrf_token": csrf.group(1) if csrf else "", "email": email, "password": password}
    answer = session.request("POST", "/login", form)
    if answer.status != 302:
        raise SystemExit(f"logging in {email} answered {answer.status}")


def wait_for(host: str, port: int, path: str, seconds: float = 60) -> None:
    """Return once the server answers ``path``; exit when it does not come up in time."""
    session = Session(host, port)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            session.request("GET", path)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{host}:{port}{path} did not come up within {seconds:.0f} s")


def cpu_seconds() -> float:
    """CPU seconds (user and system) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def descendants(root: int) -> list[int]:
    """Every process below ``root`` (a gunicorn master's workers, say), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        parents.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def processes_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user and system) the given processes have used; a process that has
    gone counts nothing."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def machine_busy() -> tuple[float, float]:
    """Busy and total CPU time of the whole machine (all cores) so far, from /proc/stat."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]
    return sum(ticks) - idle, sum(ticks)


@dataclass
class Samples:
    """Latencies (ms) of one step, the statuses nobody expected, and the rate."""

    latencies: list[float] = field(default_factory=list)
    unexpected: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Requests per second over the measured window."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """The latency below which ``share`` of the samples fall (nan without samples)."""
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[
            round(share * 100) - 1
        ]


@dataclass
class Phase:
    """What one closed-loop phase measured: its samples and what it cost the client and
    the servers (CPU seconds over the whole phase, warm-up included)."""

    samples: Samples
    requests: int
    wall: float
    client_cpu: float
    server_cpu: float
    machine_busy: float
    ran_out: bool

    @property
    def other_cores(self) -> float:
        """Cores busy with neither the client nor the measured server (the database's own
        processes, background work, anything else running on the machine, and time the
        hypervisor gave to others)."""
        cores = os.cpu_count() or 1
        return self.machine_busy * cores - (self.client_cpu + self.server_cpu) / self.wall

    @property
    def client_cores(self) -> float:
        """The client's CPU as a share of one core."""
        return self.client_cpu / self.wall

    @property
    def server_cpu_ms(self) -> float:
        """The measured server's CPU milliseconds per request."""
        return self.server_cpu * 1000 / self.requests if self.requests else float("nan")


def closed_loop(
    acts: list[Act], expected: int, seconds: float, warm_up: float, server: list[int]
) -> Phase:
    """Run each act in its own thread, again and again without pause, for ``warm_up`` plus
    ``seconds``; measure the requests that end after the warm-up. When an act runs out of
    work the window ends at the last answer (the rate then covers the time work was left)."""
    began = time.perf_counter()
    start, deadline = began + warm_up, began + warm_up + seconds
    results: list[list[tuple[float, float, int]]] = [[] for _ in acts]
    exhausted = [False] * len(acts)

    def person(index: int) -> None:
        act, record = acts[index], results[index].append
        clock = time.perf_counter
        while (sent := clock()) < deadline:
            status = act()
            if status is None:
                exhausted[index] = True
                return
            done = clock()
            record((done, (done - sent) * 1000, status))

    client, servers, busy = cpu_seconds(), processes_cpu_seconds(server), machine_busy()
    threads = [threading.Thread(target=person, args=(i,)) for i in range(len(acts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    client = cpu_seconds() - client
    servers = processes_cpu_seconds(server) - servers
    busy_now = machine_busy()
    share = (busy_now[0] - busy[0]) / max(1, busy_now[1] - busy[1])
    everything = [sample for result in results for sample in result]
    ran_out = any(exhausted)
    end = max((s[0] for s in everything), default=deadline) if ran_out else deadline
    samples = Samples(seconds=max(0.0, end - start))
    for done, latency, status in everything:
        if done < start:
            continue
        samples.latencies.append(latency)
        if status != expected:
            samples.unexpected[status] = samples.unexpected.get(status, 0) + 1
    return Phase(samples, len(everything), wall, client, servers, share, ran_out)


def think_time_loop(
    journeys: list[Callable[[Callable[[str, Callable[[], int]], bool]], bool]],
    expected: dict[str, int],
    seconds: float,
    think: float,
    warm_up: float,
) -> tuple[dict[str, Samples], float]:
    """Each journey in its own thread, started at a random moment within the first think
    time; a journey calls ``step(name, act)`` for every request, which times it, pauses
    ``think`` seconds after the answer and says whether to go on. Samples count from the
    end of the warm-up; returns them per step and the client's CPU as a share of one core."""
    began = time.perf_counter()
    start, deadline = began + warm_up, began + warm_up + seconds
    lock = threading.Lock()
    steps: dict[str, Samples] = {name: Samples(seconds=seconds) for name in expected}
    stop = threading.Event()

    def step(name: str, act: Callable[[], int]) -> bool:
        sent = time.perf_counter()
        status = act()
        done = time.perf_counter()
        if done >= start:
            with lock:
                samples = steps[name]
                samples.latencies.append((done - sent) * 1000)
                if status != expected[name]:
                    samples.unexpected[status] = samples.unexpected.get(status, 0) + 1
        return not stop.wait(think) and time.perf_counter() < deadline

    def person(journey: Callable[[Callable[[str, Callable[[], int]], bool]], bool]) -> None:
        if stop.wait(random.uniform(0, think)):
            return
        while journey(step):
            pass

    client = cpu_seconds()
    threads = [threading.Thread(target=person, args=(j,)) for j in journeys]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, deadline - time.perf_counter()))
    stop.set()
    for thread in threads:
        thread.join()
    return steps, (cpu_seconds() - client) / (time.perf_counter() - began)
