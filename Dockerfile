# Parley: the bridge in one image. Build: `docker build -t parley .`
# Runtime layout: /data holds the config `parley init --dir /data` writes, the identity keystore
# and the database; `parley run` reads $PARLEY_CONFIG (default /data/config.toml).

# Pinned to one build of the base image (tag and digest), so that rebuilds are reproducible.
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS build
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

FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin parley \
 && mkdir -p /config /data \
 && chown parley:parley /data \
 && chmod 0700 /data
COPY --from=build /opt/parley /opt/parley
ENV PATH="/opt/parley/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PARLEY_CONFIG=/data/config.toml
USER parley
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# /health answers 200 only when every component is up.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PARLEY_WEB__PORT', '8080') + '/health', timeout=4)"]
ENTRYPOINT ["parley"]
CMD ["run"]
