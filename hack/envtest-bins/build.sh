#!/usr/bin/env bash
# Builds Kubernetes v1.37.2 binaries from source into the directory setup-envtest reads, skipping the ones already
# there, so a second run costs well under a second. The default set is the envtest control plane; the real node
# (hack/realnode) adds kubelet, kube-controller-manager and kube-scheduler from the same pinned module.
# Usage: build.sh <dest-dir> [binary...]
set -euo pipefail
dest=$1
shift
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(etcd kubectl kube-apiserver)
cd "$(dirname "$0")"
mkdir -p "$dest"
declare -A pkgs=(
  [etcd]=go.etcd.io/etcd/server/v3
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kubelet]=k8s.io/kubernetes/cmd/kubelet
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
)
# Kubernetes' release builds stamp the version (the kubelet reports it on its Node; clients check skew against it).
k8s=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
minor=${k8s#v1.}
version="-X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1"
version+=" -X k8s.io/component-base/version.gitMinor=${minor%%.*} -X k8s.io/component-base/version.gitTreeState=clean"
for bin in "${bins[@]}"; do
  if [ -x "$dest/$bin" ]; then continue; fi
  echo "building $bin from source (minutes on a cold cache)..."
  start=$SECONDS
  ldflags='-s -w'
  [[ ${pkgs[$bin]} != k8s.io/kubernetes/* ]] || ldflags+=" $version"
  # Build to a temporary name and rename, so an interrupted build never leaves a half-written binary behind.
  go build -trimpath -ldflags="$ldflags" -o "$dest/.$bin.tmp" "${pkgs[$bin]}"
  mv "$dest/.$bin.tmp" "$dest/$bin"
  echo "built $bin in $((SECONDS - start))s"
done
