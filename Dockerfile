# Fieldwork: docker build -t fieldwork . && docker run -p 8000:8000 -v fieldwork-data:/data fieldwork
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FIELDWORK_DATA_DIR=/data \
    FIELDWORK_SHOPPER_APP_DIR=/app/shopper_app

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY api ./api
COPY briefings ./briefings
COPY scoring ./scoring
COPY migrations ./migrations
COPY shopper_app ./shopper_app
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data fieldwork \
    && mkdir -p /data && chown fieldwork /data

USER fieldwork
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health')"
CMD ["fieldwork", "serve", "--host", "0.0.0.0", "--port", "8000"]
