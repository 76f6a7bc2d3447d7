# Runtime image: detector, stream workers and alerting service (no torch, no ultralytics).
#   docker build -t pinewatch .
#   docker run -p 8000:8000 -v $PWD/cameras.yaml:/etc/pinewatch.yaml pinewatch serve --config /etc/pinewatch.yaml
#   docker run -v $PWD/cameras.yaml:/etc/pinewatch.yaml pinewatch run --config /etc/pinewatch.yaml
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*

# Built as a wheel and installed like any user's `pip install .`: the models and sample clips
# travel as package data (setup.py), so nothing reads the source tree, which is removed.
WORKDIR /opt/pinewatch
COPY pyproject.toml setup.py README.md ./
COPY pinewatch ./pinewatch
COPY detector ./detector
COPY streams ./streams
COPY alerting ./alerting
COPY models ./models
COPY sample_videos ./sample_videos
RUN pip install --no-cache-dir ".[postgres]" \
    && cd / && rm -rf /opt/pinewatch \
    && useradd --system --home /var/lib/pinewatch pinewatch \
    && mkdir -p /var/lib/pinewatch && chown pinewatch /var/lib/pinewatch

USER pinewatch
WORKDIR /var/lib/pinewatch
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
ENTRYPOINT ["pinewatch"]
CMD ["demo", "--no-browser", "--port", "8000"]
