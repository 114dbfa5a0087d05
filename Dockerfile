# syntax=docker/dockerfile:1
# Build: a Swift toolchain with the C libraries' headers.
FROM swift:6.3-bookworm AS build
# Versions are not pinned (DL3008): bookworm-security keeps only the newest build of a package,
# so a pinned version stops installing at its next security update.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libsqlite3-dev libpq-dev libcmark-gfm-dev libcmark-gfm-extensions-dev libargon2-dev libcurl4-openssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Resolve dependencies first so source edits reuse this layer; Package.resolved, where the
# context has one, pins the versions (the glob lets a checkout without it build too).
COPY Package.* ./
RUN swift package resolve
# Every target the manifest declares must exist on disk, test targets included.
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product trainyard --static-swift-stdlib \
 && cp "$(swift build -c release --show-bin-path)/trainyard" /trainyard

# Run: slim Debian with only the shared libraries Trainyard links.
FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata libsqlite3-0 libpq5 libargon2-1 libcurl4 \
      libcmark-gfm0.29.0.gfm.6 libcmark-gfm-extensions0.29.0.gfm.6 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 trainyard \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin trainyard
WORKDIR /app
COPY --from=build /trainyard /usr/local/bin/trainyard
# The installed layout: the binary finds its assets in ../share/trainyard, whatever the directory.
COPY Public /usr/local/share/trainyard/Public
COPY Templates /usr/local/share/trainyard/Templates
COPY Docs /usr/local/share/trainyard/Docs
RUN mkdir -p /app/data && chown 10001:10001 /app/data
# Numeric, so Kubernetes' runAsNonRoot can check it (DL3066).
USER 10001:10001
ENV TRAINYARD_DATA_DIR=/app/data
VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '^ok' <&3"]
ENTRYPOINT ["trainyard"]
CMD ["serve", "--host", "0.0.0.0"]
