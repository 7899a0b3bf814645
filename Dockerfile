# syntax=docker/dockerfile:1
#
# MOLT LMS image: the molt-lms proxy, molt-lms-orchestrator and molt-lms-cli executables on a
# distroless base, running as the non-root user 65532 ("nonroot").
#
#   docker build -t <registry>/molt-lms:<version> .
#
# The build stage compiles with `deno task compile`, which downloads the npm dependencies and
# the matching Deno runtime (denort), so the build needs network access. The build stage runs on
# the build machine's platform and cross-compiles for the requested one, so
# `docker buildx build --platform linux/amd64,linux/arm64` builds both without emulation.

FROM --platform=$BUILDPLATFORM denoland/deno:2.9.6 AS build
WORKDIR /src
# Dependencies first, so editing the sources does not refetch them.
COPY deno.json deno.lock* ./
RUN deno install
COPY shared ./shared
COPY proxy ./proxy
COPY orchestrator ./orchestrator
COPY cli ./cli
ARG TARGETARCH
RUN case "${TARGETARCH}" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "molt-lms images are built for amd64 and arm64, not ${TARGETARCH}" >&2; exit 1 ;; \
    esac \
    && deno task compile --target "${target}" --out-dir /out

# cc-debian12 carries the glibc and libgcc that deno-compiled executables link against, and
# nothing else: no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/molt-lms /out/molt-lms-orchestrator /out/molt-lms-cli /usr/local/bin/
USER nonroot
WORKDIR /app
EXPOSE 9043 9044 4200 4201
ENTRYPOINT ["/usr/local/bin/molt-lms"]
