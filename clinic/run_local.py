"""`make run`: the web server, one Celery worker with beat, side by side, stopped together.

This is the embedded default for trying Chairside on one machine. Production runs the same
parts as separate processes (gunicorn, `celery worker`, one `celery beat`) from
docker-compose.yml.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    python = sys.executable
    worker = subprocess.Popen(  # noqa: S603 - fixed argument list, our own interpreter
        [python, "-m", "celery", "-A", "clinic", "worker", "--beat", "--loglevel", "INFO", "--concurrency", "2"],
    )
    web = subprocess.Popen(  # noqa: S603
        [python, "manage.py", "runserver", f"{host}:{port}"],
    )
    print(f"Chairside is running at http://{host}:{port}/ (Ctrl-C stops web, worker and beat).", flush=True)

    def stop(*_args) -> None:
        for process in (web, worker):
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while web.poll() is None and worker.poll() is None:
            time.sleep(0.5)
    finally:
        stop()
        for process in (web, worker):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    return web.returncode or worker.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
