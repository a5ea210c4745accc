"""`make run`: the web server and one Celery worker with beat, side by side, stopped together.

This is the embedded default for trying Chairside on one machine: runserver, and a worker
that also runs beat, on whatever broker the settings name (the file-system broker under
`var/` unless REDIS_URL is set). Production runs the same parts as separate processes
(gunicorn, `celery worker`, one `celery beat`) from docker-compose.yml.

Each part runs in its own process group, so stopping this command (Ctrl-C, or SIGTERM to
its process id) stops every process under it: runserver's autoreloader child, the worker's
pool and its beat. If one part dies, the other is stopped too and the exit status says so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STOP_TIMEOUT_SECONDS = 15


def _prepare_broker() -> list[str]:
    """The file-system broker needs its folders before the worker and beat start.

    Returns the queues the worker consumes: the scan's and the sends' (see CELERY_TASK_QUEUES).
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    django.setup()
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out", "processed_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)
    return [queue.name for queue in settings.CELERY_TASK_QUEUES]


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM if this command dies without cleaning up."""
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        except OSError:
            pass


def _start(arguments: list[str]) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - fixed argument list, our own interpreter
        [sys.executable, *arguments],
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads exist yet in this process
    )


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    # Links in the emails the worker writes point at this server unless SITE_URL says otherwise.
    os.environ.setdefault("SITE_URL", f"http://{host}:{port}")
    queues = _prepare_broker()
    # One worker for both queues here; production may give each queue its own (README, "Reminders").
    worker = _start(
        ["-m", "celery", "-A", "config", "worker", "--beat", "--loglevel", "INFO", "--concurrency", "2"]
        + ["-Q", ",".join(queues)],
    )
    web = _start(["manage.py", "runserver", f"{host}:{port}"])
    processes = (web, worker)
    print(f"Chairside is running at http://{host}:{port}/ (Ctrl-C stops web, worker and beat).", flush=True)

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping and all(process.poll() is None for process in processes):
        time.sleep(0.3)

    crashed = [process for process in processes if process.poll() is not None]
    # The worker's main process shuts its pool and beat down itself (a warm shutdown);
    # runserver's autoreloader does not pass the signal on to the server, so its whole group gets it.
    if worker.poll() is None:
        worker.terminate()
    _signal_group(web, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            pass
        # Whatever is left of the group (a pool process, the autoreloader's child) goes now.
        _signal_group(process, signal.SIGKILL)
        process.wait()
    if crashed and not stopping:
        names = ", ".join("web" if process is web else "worker" for process in crashed)
        print(f"Chairside stopped because the {names} exited; see the messages above.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
