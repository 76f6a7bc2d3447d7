# syntax=docker/dockerfile:1
# One runtime image for the stream workers and the alerting service (no torch, no ultralytics):
# the command selects the part.
#   docker build -t pinewatch .                                   # CPU (onnxruntime)
#   docker build --build-arg VARIANT=gpu -t pinewatch:gpu .       # NVIDIA GPU (onnxruntime-gpu with
#                                  # its CUDA 12 / cuDNN 9 wheels; run with --gpus all, detector.provider: cuda)
#   docker run -p 8000:8000 -v $PWD/cameras.yaml:/etc/pinewatch/pinewatch.yaml:ro pinewatch serve --config /etc/pinewatch/pinewatch.yaml
#   docker run -v $PWD/cameras.yaml:/etc/pinewatch/pinewatch.yaml:ro pinewatch run --config /etc/pinewatch/pinewatch.yaml
# tests/reliability/test_deploy_files.py checks this file against the code and lints it (hadolint).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the wheel of this project and of every dependency ---------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG VARIANT=cpu
WORKDIR /src
# Built as a wheel, like any user's `pip install .`: the models and sample clips travel as
# package data (setup.py), so the runtime never reads a source tree.
COPY pyproject.toml setup.py README.md MANIFEST.in ./
COPY pinewatch ./pinewatch
COPY detector ./detector
COPY streams ./streams
COPY alerting ./alerting
COPY models ./models
COPY sample_videos ./sample_videos
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]" \
    && if [ "$VARIANT" = "gpu" ]; then pip wheel --no-cache-dir --wheel-dir /wheels "onnxruntime-gpu[cuda,cudnn]>=1.19"; fi

# --- runtime: installed wheels, a non-root user, nothing else ---------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG VARIANT=cpu
# The wheels arrive through a bind mount, so they never become a layer of the image; their
# versions were resolved once, in the build stage (hence no pins here).
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels "pinewatch[postgres]" \
    && if [ "$VARIANT" = "gpu" ]; then \
         pip uninstall -y onnxruntime \
         && pip install --no-cache-dir --no-index --find-links /wheels "onnxruntime-gpu[cuda,cudnn]"; \
       fi \
    && useradd --system --uid 10001 --home /var/lib/pinewatch pinewatch \
    && mkdir -p /var/lib/pinewatch /etc/pinewatch \
    && chown pinewatch /var/lib/pinewatch

USER 10001
WORKDIR /var/lib/pinewatch
ENV PYTHONUNBUFFERED=1 \
    PINEWATCH_STREAMS__EVIDENCE_DIR=/var/lib/pinewatch/evidence \
    PINEWATCH_REDIS__SPOOL_DIR=/var/lib/pinewatch/spool
EXPOSE 8000
# The API's liveness. A worker serves no HTTP: compose and Kubernetes turn this off for it and
# watch its heartbeats instead (pinewatch_camera_alive); it exits non-zero when it cannot work.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
ENTRYPOINT ["pinewatch"]
CMD ["demo", "--no-browser", "--host", "0.0.0.0", "--port", "8000"]
