# Myodiary web server: gunicorn behind your proxy, migrations applied at start.

# The dashboard's JS libraries from the npm registry, pinned by the lockfile (no CDN at run time).
FROM node:20-slim AS assets
WORKDIR /assets
COPY backend/dashboard/assets/package.json backend/dashboard/assets/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production \
    MYODIARY_INSTANCE_DIR=/app/instance \
    WEB_CONCURRENCY=2

WORKDIR /app
RUN groupadd --system --gid 10001 myodiary \
    && useradd --system --uid 10001 --gid myodiary --home-dir /app --no-create-home myodiary

COPY setup.cfg pyproject.toml constraints.txt README.md ./
COPY backend ./backend
COPY --from=assets /assets/node_modules/chart.js/dist/chart.umd.js /assets/node_modules/chart.js/LICENSE.md \
     ./backend/dashboard/static/vendor/
COPY migrations ./migrations
# Versions are pinned by constraints.txt (the lock file).
# hadolint ignore=DL3013
RUN pip install --constraint constraints.txt --editable '.[tracing]' \
    && pybabel -q compile -d backend/translations \
    && mkdir -p -m 700 instance && chown myodiary:myodiary instance

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["sh", "-c", "flask --app backend db upgrade && exec gunicorn -c python:backend.gunicorn_config --bind 0.0.0.0:8000 --workers \"$WEB_CONCURRENCY\" 'backend:create_app()'"]
