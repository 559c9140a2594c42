# syntax=docker/dockerfile:1
# The Refit operator image: `refit operator` (kopf controllers, /healthz on 8080, /metrics on
# 9090). Build with `make images` (needs Docker); the Helm chart runs it as uid 10001 with a
# read-only root filesystem.
#
# Dependencies come from requirements/operator.lock (runtime only, every file hashed, the
# same versions as the tested dev lock); the operator itself is built into a wheel here.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
# The lock first: code changes do not invalidate the dependency layer.
COPY requirements/operator.lock requirements/operator.lock
RUN python -m venv /opt/refit \
    && /opt/refit/bin/pip install --no-cache-dir --disable-pip-version-check \
        --require-hashes --no-deps -r requirements/operator.lock
COPY pyproject.toml README.md ./
COPY operator ./operator
# --no-deps: every dependency is already installed from the hashed lock above.
RUN /opt/refit/bin/pip wheel --no-cache-dir --disable-pip-version-check --no-deps -w /tmp/wheels . \
    && /opt/refit/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps /tmp/wheels/refit-*.whl

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="refit-operator" \
      org.opencontainers.image.description="Refit: continuous training operator for Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0"
# Same base image in both stages, so the venv's interpreter links stay valid.
COPY --from=build /opt/refit /opt/refit
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin refit
ENV PATH=/opt/refit/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 8080 9090
ENTRYPOINT ["refit"]
CMD ["operator"]
