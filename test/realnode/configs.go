/*
Copyright 2026.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package realnode

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The node's fixed addresses, all on loopback. Pods use the host network, so an in-cluster client reaches the
// apiserver at 127.0.0.1:APIServerPort (the kubernetes Service's ClusterIP is not routed: no kube-proxy).
const (
	nodeName = "127.0.0.1" // --hostname-override: the node's name and address
	// Component names: their binaries and logs.
	kubeAPIServer = "kube-apiserver"
	kubelet       = "kubelet"
	containerd    = "containerd"
	serviceIP     = "10.0.0.1" // the kubernetes Service, first address of serviceRange
	serviceRange  = "10.0.0.0/24"
	APIServerPort = 16443
	etcdPort      = 12379
	etcdPeerPort  = 12380
	kubeletPort   = 10250 // the kubelet's default
	// PauseImage is the sandbox image containerd runs for every pod; `make node-images` builds it.
	PauseImage = "localhost/pause:e2e"
)

// paths under the node's directory.
type paths string

func (d paths) join(p ...string) string { return filepath.Join(append([]string{string(d)}, p...)...) }
func (d paths) pki(f string) string     { return d.join("pki", f) }
func (d paths) socket() string          { return d.join("containerd", "containerd.sock") }
func (d paths) logs() string            { return d.join("logs") }
func (d paths) kubeconfig() string      { return d.join("kubeconfig") }
func (d paths) componentKubeconfig(name string) string {
	return d.join("kubeconfigs", name+".kubeconfig")
}

// hostDirs are the paths the kubelet and containerd use whatever their flags say; inside the node's mount namespace
// each is a bind mount of a directory under the node's, so nothing is written to the machine's own.
var hostDirs = []string{"/var/lib/kubelet", "/var/log/pods", "/var/log/containers", "/run/containerd"}

func (d paths) hostDir(p string) string { return d.join("host", p) }

// writeConfigs writes the kubeconfigs, containerd's config, the CNI config and the kubelet's config.
func writeConfigs(d paths) error {
	for _, id := range identities {
		if id.server {
			continue
		}
		path := d.componentKubeconfig(id.name)
		if id.name == "admin" {
			path = d.kubeconfig()
		}
		if err := writeKubeconfig(d, path, id.name); err != nil {
			return err
		}
	}
	files := map[string]string{
		d.join("containerd", "config.toml"): containerdConfig(d),
		d.join("cni", "net.d", "10-loopback.conf"): `{"cniVersion": "0.3.1", "name": "burner-node", "type": "loopback"}` +
			"\n",
		d.join("kubelet-config.yaml"): kubeletConfig(d),
	}
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return err
		}
	}
	return os.MkdirAll(d.join("cni", "bin"), 0o755)
}

func writeKubeconfig(d paths, path, id string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["burner-node"] = &clientcmdapi.Cluster{
		Server:               fmt.Sprintf("https://%s:%d", nodeName, APIServerPort),
		CertificateAuthority: d.pki("ca.crt"),
	}
	cfg.AuthInfos[id] = &clientcmdapi.AuthInfo{ClientCertificate: d.pki(id + ".crt"), ClientKey: d.pki(id + ".key")}
	cfg.Contexts["burner-node"] = &clientcmdapi.Context{Cluster: "burner-node", AuthInfo: id, Namespace: "default"}
	cfg.CurrentContext = "burner-node"
	return clientcmd.WriteToFile(*cfg, path)
}

// containerdConfig: a private instance (own root, state, socket and opt dir) whose CRI runs runc with cgroupfs,
// never asks for a negative oom_score_adj (root here lacks CAP_SYS_RESOURCE) and uses the locally built pause image.
func containerdConfig(d paths) string {
	return strings.NewReplacer("DIR", string(d), "PAUSE", PauseImage).Replace(`version = 2
root = "DIR/containerd/root"
state = "DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "DIR/containerd/containerd.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "DIR/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "PAUSE"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "DIR/cni/bin"
    conf_dir = "DIR/cni/net.d"
`)
}

// kubeletConfig: kubelet defaults (syncFrequency 1m, Secret changes detected by Watch: the delays a user's node
// has), bound to loopback, with client-certificate and webhook auth so that the apiserver can reach it for logs.
// maxPods is raised from 110 for the CSI benchmark's 500 pods (make bench-csi).
func kubeletConfig(d paths) string {
	return strings.NewReplacer("DIR", string(d), "NODE", nodeName).Replace(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: NODE
healthzBindAddress: NODE
readOnlyPort: 0
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://DIR/containerd/containerd.sock
tlsCertFile: DIR/pki/kubelet.crt
tlsPrivateKeyFile: DIR/pki/kubelet.key
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: DIR/pki/ca.crt
authorization:
  mode: Webhook
clusterDomain: cluster.local
maxPods: 600
resolvConf: /etc/resolv.conf
evictionHard:
  memory.available: 100Mi
  nodefs.available: 5%
  imagefs.available: 5%
`)
}
