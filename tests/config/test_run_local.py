"""`make run` for real: migrate, seed the demo, then `python -m config.run_local` on the embedded default.

The app runs as a newcomer's machine would run it: no DATABASE_URL and no REDIS_URL, so
SQLite and the file-system broker under a temporary var directory. Each demo user logs in
over HTTP and lands on their role's home page; the worker runs with beat; stopping the
command by its process id stops every process under it.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from scheduling.demo import DEMO_PASSWORD

# One test worker (pytest-xdist) runs this module, so the app it starts is started once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-local")]

START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) for every process, read from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces; the fields after it are fixed.
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        table[int(entry.name)] = (int(parent), state)
    return table


def descendants(pid: int) -> set[int]:
    table = process_table()
    found, frontier = set(), {pid}
    while frontier:
        children = {child for child, (parent, _state) in table.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def alive(pid: int) -> bool:
    try:
        state = process_table()[pid][1]
    except KeyError:
        return False
    return state != "Z"


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Chairside as `make run` starts it, on a free port, with its output in a log file."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("Reading the process tree needs /proc (Linux).")
    var_dir = tmp_path_factory.mktemp("var")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "EMAIL_URL"}}
    env.update(
        DEBUG="1",
        CHAIRSIDE_VAR_DIR=str(var_dir),
        HOST="127.0.0.1",
        PORT=str(port),
        CELERY_TASK_ALWAYS_EAGER="0",
        PYTHONUNBUFFERED="1",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    base = settings.BASE_DIR
    for command in (["manage.py", "migrate", "--noinput"], ["manage.py", "seed_demo", "--once"]):
        subprocess.run([sys.executable, *command], cwd=base, env=env, check=True, capture_output=True, timeout=300)
    assert (var_dir / "chairside.sqlite3").exists()
    log_path = var_dir / "run_local.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "config.run_local"], cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, url, log_path)
        yield {"process": process, "url": url, "log": log_path}
    finally:
        if process.poll() is None:
            for pid in descendants(process.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.kill()
            process.wait()


def wait_until_serving(process: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"run_local exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}{reverse('login')}", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"Chairside did not answer within {START_TIMEOUT_SECONDS} s:\n{log_path.read_text()[-3000:]}")


def log_in(url: str, username: str, password: str):
    """Log in through the login form as a browser would; return the final response and its body."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login_url = f"{url}{reverse('login')}"
    with opener.open(login_url, timeout=10) as response:
        form = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token, "the login page has no CSRF token"
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
    ).encode()
    request = urllib.request.Request(login_url, data=data, headers={"Referer": login_url})  # noqa: S310
    with opener.open(request, timeout=30) as response:
        return response, response.read().decode()


@pytest.mark.parametrize(
    ("username", "home"),
    [
        ("frontdesk", "scheduling:worklist"),
        ("frontdesk-ny", "scheduling:worklist"),
        ("nurse", "scheduling:roster"),
        ("nurse-ny", "scheduling:roster"),
        ("manager", "home"),
    ],
)
def test_each_demo_user_logs_in_and_lands_on_their_home_page(app, username, home):
    response, body = log_in(app["url"], username, DEMO_PASSWORD)
    assert response.status == 200
    assert urllib.parse.urlparse(response.geturl()).path == reverse(home), body[:500]
    assert 'name="password"' not in body


def test_the_manager_overview_shows_both_demo_clinics(app):
    _response, body = log_in(app["url"], "manager", DEMO_PASSWORD)
    assert "Riverside Infusion Centre" in body
    assert "Hudson Infusion Suite" in body


def test_a_wrong_password_stays_on_the_login_page(app):
    response, body = log_in(app["url"], "frontdesk", "not-the-password")
    assert urllib.parse.urlparse(response.geturl()).path == reverse("login")
    assert 'name="password"' in body


def test_the_worker_runs_with_beat_on_the_file_system_broker(app):
    process = app["process"]
    workers = [
        pid for pid in descendants(process.pid) if "celery" in command_line(pid) and "worker" in command_line(pid)
    ]
    assert workers and all(alive(pid) for pid in workers)
    deadline = time.monotonic() + 30
    while "beat: Starting" not in app["log"].read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    log = app["log"].read_text()
    assert "beat: Starting" in log
    assert "filesystem://" in log
    assert (Path(app["log"]).parent / "celery-broker").is_dir()


def test_beat_and_the_worker_write_the_demo_reminder_due_now_as_an_email_file(app):
    """The no-show's missed-appointment reminder is due at once: beat claims it, the worker sends it."""
    mail_dir = Path(app["log"]).parent / "mail"
    # Django's file backend creates the file, then writes each message and a line of dashes after
    # it: a file read before its line of dashes may hold half a message.
    written = "\n" + "-" * 79 + "\n"
    deadline = time.monotonic() + 120
    messages: list[str] = []
    while time.monotonic() < deadline:
        files = sorted(mail_dir.iterdir()) if mail_dir.is_dir() else []
        messages = [path.read_text() for path in files]
        if messages and all(text.endswith(written) for text in messages):
            break
        time.sleep(1)
    assert messages, app["log"].read_text()[-3000:]
    assert all(text.endswith(written) for text in messages), "an email file was never finished"
    # The demo has a no-show at each clinic that is open now; whichever went first, it names its clinic.
    assert all("Riverside Infusion Centre" in text or "Hudson Infusion Suite" in text for text in messages)
    assert all(f"{app['url']}/" in text for text in messages)  # links point at this server


def test_stopping_it_by_its_process_id_stops_every_process_under_it(app):
    """Runs last in this module: it stops the app the tests above used."""
    process = app["process"]
    children = descendants(process.pid)
    assert len(children) >= 3  # runserver (and its autoreloader child), the worker, its pool and beat
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=STOP_TIMEOUT_SECONDS) == 0
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)], app["log"].read_text()[-3000:]
