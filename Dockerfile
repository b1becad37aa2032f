# The worker image (and the Prefect server's): the application, tesseract with its language packs, and pg_dump.
FROM python:3.11-slim-bookworm

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    OMP_THREAD_LIMIT=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-nld \
      postgresql-client-15 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir uv \
 && useradd --create-home --uid 1000 app \
 && mkdir -p /data/documents /data/inbox /data/task-runs /backups \
 && chown app:app /data /data/documents /data/inbox /data/task-runs /backups
# Every volume path exists here and belongs to the worker's uid 1000, so that a named volume
# mounted on it is created with that owner (Docker copies the image's owner into a new volume).

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev && chown -R app:app /app

ENV PATH=/app/.venv/bin:$PATH \
    INVOICES_APP_DIR=/app \
    INVOICES_DATA_DIR=/data \
    INVOICES_BACKUP__BACKUP_DIR=/backups
USER app
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s CMD ["invoices", "doctor", "--only", "database,storage,tesseract,prefect,scheduler"]
ENTRYPOINT ["tini", "--"]
CMD ["deployments/worker-entrypoint.sh"]
