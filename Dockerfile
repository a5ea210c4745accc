# syntax=docker/dockerfile:1
# Chairside: one image for every process of the stack (see docker-compose.yml):
#   web      gunicorn --config python:config.gunicorn_conf config.wsgi   (the default command)
#   worker   celery -A config worker
#   beat     celery -A config beat                                       (exactly one)
#   migrate  python manage.py migrate --noinput                          (one-shot, before the rest)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed uid/gid so volume permissions are the same on every machine that runs the image.
RUN groupadd --system --gid 10001 chairside \
    && useradd --system --uid 10001 --gid chairside --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin chairside

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. Every runtime dependency
# ships a manylinux wheel (psycopg2-binary, argon2-cffi), so no compiler is needed.
COPY requirements.txt ./
RUN python -m pip install -r requirements.txt

COPY . .

# Static files are collected at build time into the image, hashed and compressed for
# WhiteNoise. Settings refuse to load without a SECRET_KEY and the addresses of the database,
# the broker and the mail server when DEBUG is off; these throwaway values exist only for this
# build step (collectstatic contacts none of them) and are not kept in the image.
RUN DEBUG=0 SECRET_KEY=collectstatic-at-build-time-only CHAIRSIDE_VAR_DIR=/tmp/chairside-build \
    DATABASE_URL=postgres://collectstatic@127.0.0.1:5432/unused \
    REDIS_URL=redis://127.0.0.1:6379/0 EMAIL_URL=smtp://localhost:25 \
    python manage.py collectstatic --noinput \
    && rm -rf /tmp/chairside-build \
    && mkdir -p /app/var \
    && chown chairside:chairside /app/var

# The application code stays owned by root and read-only to the process; only var/ (the
# beat schedule) is writable.
ENV DJANGO_SETTINGS_MODULE=config.settings \
    CHAIRSIDE_VAR_DIR=/app/var \
    PORT=8000

USER chairside:chairside
EXPOSE 8000

# Overridden per service in docker-compose.yml; the web process is the default.
CMD ["gunicorn", "--config", "python:config.gunicorn_conf", "config.wsgi"]
