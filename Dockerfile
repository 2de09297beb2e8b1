# syntax=docker/dockerfile:1
# One image for every ECS process (api, worker, stream, migrate, model-server); compose picks the
# subcommand. Production extras only: no embedded Temporal/Redis binaries, no dev tools.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Alembic's migrations/ and alembic.ini are located relative to the ecs package
    # (ecs/db/migrate.py), and they are not part of the wheel: run the code from /app.
    PYTHONPATH=/app \
    ECS_STATE_DIR=/tmp/ecs \
    ECS_API_PORT=8000

WORKDIR /app

# Dependencies first, so editing code does not reinstall them (layer cache).
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY alembic.ini worker.py ./
COPY migrations ./migrations
COPY ecs ./ecs
COPY api ./api
COPY workflows ./workflows
COPY activities ./activities
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin ecs

USER ecs
EXPOSE 8000

# Liveness of the API (the default command). Compose disables it for the worker and consumer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ECS_API_PORT', '8000'), timeout=2)"

CMD ["ecs", "api", "--host", "0.0.0.0"]
