# syntax=docker/dockerfile:1
#
# The image the reference's Helm chart runs: port 8080, uid/gid 1000, read-only root filesystem
# with only /tmp writable (mobu's data_dir then defaults to /tmp/mobu-1000).
#
#   builder  python:3.13-slim plus a compiler, builds a virtual environment in /opt/mobu
#            from the pinned constraints and the project's wheel, and vendors the dashboard's
#            htmx and uPlot from the npm registry into /opt/mobu/ui-assets (Debian's npm,
#            scripts/install/ui-assets.sh; pinned versions).
#   runtime  python:3.13-slim plus git and git-lfs (the notebook runners clone repositories,
#            GitLFS pushes through git-lfs); only the virtual environment is copied in.
#
# See docs/deployment.md.

FROM python:3.13-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only for the wheels that have no binary for this platform; none of it leaves this stage.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential npm \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/mobu

# The dashboard's front-end pieces: served from the image, never from a CDN.
COPY scripts/install/ui-assets.sh /tmp/ui-assets.sh
RUN MOBU_PLATFORM_DIR=/opt/mobu bash /tmp/ui-assets.sh \
    && rm -rf /opt/mobu/ui-assets/node_modules /root/.npm \
    && test -f /opt/mobu/ui-assets/vendor/htmx.min.js

WORKDIR /src
COPY constraints.txt pyproject.toml README.md ./
COPY src ./src
# pip compiles the bytecode as it installs: nothing is compiled at run time.
RUN /opt/mobu/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
    && /opt/mobu/bin/pip install --constraint constraints.txt /tmp/wheels/mobu-*.whl

FROM python:3.13-slim AS runtime

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git git-lfs \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 mobu \
    && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin mobu

COPY --from=builder /opt/mobu /opt/mobu

# The root filesystem is read-only at run time: no bytecode is written, HOME does not exist.
ENV PATH="/opt/mobu/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MOBU_CONFIG_PATH=/etc/mobu/config.yaml \
    MOBU_UI_ASSETS_DIR=/opt/mobu/ui-assets/vendor

USER 1000:1000
WORKDIR /opt/mobu
EXPOSE 8080

# SIGTERM: every flock stops within its grace, then the process exits 0.
CMD ["mobu", "serve", "--host", "0.0.0.0", "--port", "8080"]
