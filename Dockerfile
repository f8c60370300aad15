# The Scarlog image used by docker-compose.yml for web, worker and beat.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SCARLOG_VAR_DIR=/app/var
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -e . \
    && useradd --system --home /app scarlog \
    && mkdir -p /app/var \
    && chown -R scarlog /app/var
USER scarlog
EXPOSE 8000
