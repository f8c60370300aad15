# The Scarlog image used by docker-compose.yml for web, worker and beat.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SCARLOG_VAR_DIR=/app/var
WORKDIR /app
# git: shipping evidence is verified against the clones named in SCARLOG_GIT_REPOS
# (mount them read-only into the web and worker containers).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*
# The locked, hash-checked runtime dependencies first: this layer is rebuilt only when
# requirements.lock changes, not on every change to the code.
COPY requirements.lock /app/
RUN pip install --no-cache-dir -r requirements.lock
COPY . /app
# --no-deps: every dependency the project declares is pinned in requirements.lock, so pip
# must not resolve, add or upgrade any here.
RUN pip install --no-cache-dir --no-deps -e . \
    && useradd --system --home /app scarlog \
    && mkdir -p /app/var \
    && chown -R scarlog /app/var
USER scarlog
EXPOSE 8000
