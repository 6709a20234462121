# demographer's prediction API in a container.
#   docker build -t demographer .
#   docker run -p 8080:8080 -v "$PWD/models:/models:ro" -v "$PWD/data:/data:ro" demographer
# /models holds predictions.csv (demographer's predictions file), which the
# server answers GET /v1/devices/{device_id} from; /data is the data set, for
# the other demographer commands run in the same image.
# tests/docker_cmd.py runs this file's CMD and HEALTHCHECK outside Docker;
# scripts/image-check.sh builds the image for real (podman) and runs them from
# the image's own root.

FROM debian:bookworm-slim AS build
WORKDIR /src
# The build dependencies first, so that a source change reuses this layer.
# No test package: the tests are not configured here (-Dtests=disabled).
COPY scripts/deps.sh scripts/deps.sh
RUN bash scripts/deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN rm -rf build && meson setup build --prefix=/usr -Dtests=disabled \
 && meson compile -C build \
 && DESTDIR=/install meson install -C build --strip

FROM debian:bookworm-slim
# Only the shared libraries the binary links (readelf -d: NEEDED), checked by
# tests/docker_cmd.py.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libjansson4 libcurl4 ca-certificates libcairo2 libpango-1.0-0 \
      libpangocairo-1.0-0 libglib2.0-0 libfontconfig1 libmariadb3 libinih1 libncursesw6 \
      libtinfo6 liblbfgs0 liblinear4 libsvm3 libxgboost0 libxxhash0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 demographer \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin \
      demographer
COPY --from=build /install/usr/ /usr/
VOLUME ["/data", "/models"]
EXPOSE 8080
USER demographer
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["demographer", "health", "http://127.0.0.1:8080/health"]
CMD ["demographer", "serve", "--predictions", "/models/predictions.csv", "--bind", "0.0.0.0", "--port", "8080"]
