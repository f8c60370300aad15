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
COPY . /app
RUN pip install --no-cache-dir -e . \
    && useradd --system --home /app scarlog \
    && mkdir -p /app/var \
    && chown -R scarlog /app/var
USER scarlog
EXPOSE 8000
