// Tools module that builds container images as docker-archive tarballs without a registry or a Docker daemon, for
// the real node (hack/realnode): the manager, a busybox consumer and the pause image. Kept apart from the main go.mod
// so the operator does not depend on go-containerregistry.
module github.com/burner-operator/burner-operator/hack/images

go 1.26.0

require github.com/google/go-containerregistry v0.22.1

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
)
