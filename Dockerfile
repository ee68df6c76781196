# syntax=docker/dockerfile:1
# Multi-stage build of the manager (and the CSI node plugin, /burner-csi, which the csiDriver DaemonSet runs from the
# same image) into a distroless, non-root image.
ARG GO_VERSION=1.26
# The build image, without its tag; `make docker-build BASE_IMAGE=...` picks another registry's copy.
ARG BASE_IMAGE=golang
FROM ${BASE_IMAGE}:${GO_VERSION} AS builder
ARG TARGETOS
ARG TARGETARCH
# Reported by the burner_operator_build_info metric.
ARG VERSION=dev
ARG REVISION=unknown
WORKDIR /workspace
# Modules first, so source changes do not invalidate the download layer.
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/main.go cmd/main.go
COPY cmd/burner-csi/ cmd/burner-csi/
COPY internal/ internal/
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath \
    -ldflags="-s -w -X github.com/burner-operator/burner-operator/internal/metrics.buildVersion=${VERSION} -X github.com/burner-operator/burner-operator/internal/metrics.buildRevision=${REVISION}" \
    -o manager ./cmd
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath \
    -ldflags="-s -w -X main.version=${VERSION}" -o burner-csi ./cmd/burner-csi

FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager /workspace/burner-csi ./
USER 65532:65532
ENTRYPOINT ["/manager"]
