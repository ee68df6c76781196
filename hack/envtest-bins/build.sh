#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl from source into the directory setup-envtest reads, skipping the ones
# already there, so a second run costs well under a second.
# Usage: build.sh <dest-dir>
set -euo pipefail
dest=$1
cd "$(dirname "$0")"
mkdir -p "$dest"
declare -A pkgs=(
  [etcd]=go.etcd.io/etcd/server/v3
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
)
for bin in etcd kubectl kube-apiserver; do
  if [ -x "$dest/$bin" ]; then continue; fi
  echo "building $bin from source (minutes on a cold cache)..."
  start=$SECONDS
  # Build to a temporary name and rename, so an interrupted build never leaves a half-written binary behind.
  go build -trimpath -ldflags='-s -w' -o "$dest/.$bin.tmp" "${pkgs[$bin]}"
  mv "$dest/.$bin.tmp" "$dest/$bin"
  echo "built $bin in $((SECONDS - start))s"
done
