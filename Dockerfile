# Parley: the bridge in one image. Build: `docker build -t parley .`
# Runtime layout: /config/config.toml (read-only is fine), /data (database, identity keystore).

FROM python:3.11-slim AS build
WORKDIR /src
# Only what the package needs, so that edits to tests or docs do not bust the cache.
COPY pyproject.toml constraints.txt README.md config.example.toml ./
COPY bridge ./bridge
COPY bots ./bots
COPY crypto ./crypto
COPY contracts ./contracts
RUN python -m venv /opt/parley \
 && /opt/parley/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/parley/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin parley \
 && mkdir -p /config /data \
 && chown parley:parley /data
COPY --from=build /opt/parley /opt/parley
ENV PATH="/opt/parley/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PARLEY_CONFIG=/config/config.toml
USER parley
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# /health answers 200 only when every component is up.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PARLEY_WEB__PORT', '8080') + '/health', timeout=4)"]
ENTRYPOINT ["parley"]
CMD ["run", "--config", "/config/config.toml"]
