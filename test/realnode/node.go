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

// Package realnode runs a single-node Kubernetes v1.37.2 cluster on this machine: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, a private containerd and a kubelet, all bound to 127.0.0.1, with pods on
// the host network. Everything runs inside its own mount and PID namespaces: the pods' mounts never reach the
// machine's mount table, and stopping the namespace's first process ends every process of the node.
package realnode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Config says where the node lives and what it runs.
type Config struct {
	// Dir holds the node's state, logs and kubeconfig; it is removed by Down.
	Dir string
	// Bins holds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubelet (make node-bins).
	Bins string
	// Self is the realnode binary (hack/realnode), which runs the node inside its namespaces.
	Self string
	// Images are docker-archive tarballs imported into the node's containerd (make node-images).
	Images []string
}

// Node is a running node.
type Node struct {
	Dir string
	// Kubeconfig is an admin kubeconfig for the node.
	Kubeconfig string
	// Started is how long Up took.
	Started time.Duration
}

// state is what Down needs to undo Up, kept in the node's directory.
type state struct {
	Pid         int               `json:"pid"`
	CreatedDirs []string          `json:"createdDirs"`
	Sysctls     map[string]string `json:"sysctls"`
}

// kubeletSysctls are the kernel settings the kubelet changes at start (protectKernelDefaults false); Down puts back
// the machine's values.
var kubeletSysctls = []string{"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes"}

// Supported says why this machine cannot run the node, or nil: it needs Linux, root, containerd, runc and ctr.
func Supported() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("a real node needs Linux, this is %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return errors.New("a real node needs root (containerd and the kubelet mount and create cgroups)")
	}
	for _, bin := range []string{containerd, "runc", "ctr"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("a real node needs %s (make node-deps installs containerd and runc)", bin)
		}
	}
	return nil
}

// Up starts the node and waits until it is Ready with a default ServiceAccount, so pods can be created at once.
func Up(ctx context.Context, cfg Config) (*Node, error) {
	start := time.Now()
	if err := Supported(); err != nil {
		return nil, err
	}
	d := paths(cfg.Dir)
	if st, err := readState(d); err == nil && alive(st.Pid) {
		return nil, fmt.Errorf("a node is already running from %s (pid %d): stop it first", cfg.Dir, st.Pid)
	}
	// The node's ports are fixed: a node of another checkout (or another program) holding them would make this one
	// fail half-started.
	for _, port := range []int{APIServerPort, etcdPort, etcdPeerPort, kubeletPort} {
		ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", nodeName, port))
		if err != nil {
			return nil, fmt.Errorf("port %d is taken (another node? stop it with make node-down where it was started): %w",
				port, err)
		}
		_ = ln.Close()
	}
	for _, bin := range []string{"etcd", kubeAPIServer, "kube-controller-manager", "kube-scheduler", kubelet} {
		if _, err := os.Stat(filepath.Join(cfg.Bins, bin)); err != nil {
			return nil, fmt.Errorf("%w (make node-bins builds it)", err)
		}
	}
	if err := os.RemoveAll(cfg.Dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.logs(), 0o755); err != nil {
		return nil, err
	}
	if err := writePKI(d.join("pki")); err != nil {
		return nil, err
	}
	if err := writeConfigs(d); err != nil {
		return nil, err
	}
	st := state{Sysctls: map[string]string{}}
	for _, k := range kubeletSysctls {
		if v, err := os.ReadFile("/proc/sys/" + k); err == nil {
			st.Sysctls[k] = strings.TrimSpace(string(v))
		}
	}
	for _, dir := range hostDirs {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			st.CreatedDirs = append(st.CreatedDirs, dir)
		}
		if err := errors.Join(os.MkdirAll(dir, 0o755), os.MkdirAll(d.hostDir(dir), 0o755)); err != nil {
			return nil, err
		}
	}
	if err := writeState(d, st); err != nil {
		return nil, err
	}
	pid, err := startSupervisor(d, cfg)
	if err != nil {
		_ = Down(cfg.Dir)
		return nil, err
	}
	st.Pid = pid
	if err := writeState(d, st); err != nil {
		return nil, err
	}
	n := &Node{Dir: cfg.Dir, Kubeconfig: d.kubeconfig()}
	if err := n.waitReady(ctx, pid, cfg.Images); err != nil {
		return n, fmt.Errorf("%w (logs: %s)", err, d.logs())
	}
	n.Started = time.Since(start)
	return n, nil
}

// startSupervisor runs `Self supervise` as the first process of new mount and PID namespaces, in its own session so
// that it outlives the command that started it.
func startSupervisor(d paths, cfg Config) (int, error) {
	log, err := os.Create(filepath.Join(d.logs(), "supervisor.log"))
	if err != nil {
		return 0, err
	}
	defer func() { _ = log.Close() }()
	cmd := exec.Command(cfg.Self, "supervise", "-dir", string(d), "-bins", cfg.Bins)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w (make node-up builds it)", cfg.Self, err)
	}
	pid := cmd.Process.Pid
	// Reap it when it ends, so that alive() sees a stopped node as gone rather than a zombie.
	go func() { _ = cmd.Wait() }()
	return pid, nil
}

// waitReady imports the images once containerd answers, then waits for the node to be Ready and for the default
// namespace's ServiceAccount (pods are refused without it).
func (n *Node) waitReady(ctx context.Context, pid int, images []string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	d := paths(n.Dir)
	imported := false
	return poll(ctx, func() (bool, error) {
		if !alive(pid) {
			return false, errors.New("the node stopped while starting")
		}
		if !imported {
			if _, err := os.Stat(d.socket()); err != nil {
				return false, nil
			}
			if err := ImportImages(n.Dir, images...); err != nil {
				return false, err
			}
			imported = true
		}
		cs, err := n.Clientset()
		if err != nil {
			return false, err
		}
		node, err := cs.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil || !nodeReady(node) {
			return false, nil
		}
		_, err = cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
}

// Clientset is a client for the node with the admin kubeconfig.
func (n *Node) Clientset() (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", n.Kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// ImportImages loads docker-archive tarballs into the node's containerd, under the namespace the CRI uses.
func ImportImages(dir string, tarballs ...string) error {
	for _, t := range tarballs {
		out, err := exec.Command("ctr", "--address", paths(dir).socket(), "-n", "k8s.io", "images", "import",
			"--no-unpack=false", t).CombinedOutput()
		if err != nil {
			return fmt.Errorf("importing %s: %w: %s", t, err, out)
		}
	}
	return nil
}

// Down stops the node started from dir and removes what it left: its processes and mounts (they end with its
// namespaces), the pods' cgroups, the directories Up created, the kernel settings the kubelet changed, and dir.
func Down(dir string) error {
	d := paths(dir)
	st, err := readState(d)
	if errors.Is(err, os.ErrNotExist) {
		return nil // nothing to stop
	}
	if err != nil {
		return err
	}
	if st.Pid > 0 && alive(st.Pid) {
		_ = syscall.Kill(st.Pid, syscall.SIGTERM)
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if poll(ctx, func() (bool, error) { return !alive(st.Pid), nil }) != nil {
			// The kernel ends every process of a PID namespace with its first one.
			_ = syscall.Kill(st.Pid, syscall.SIGKILL)
			time.Sleep(time.Second)
		}
	}
	// The pods' processes end with the namespace, a moment after its first process: until then their cgroups are busy.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	// The pods' cgroups and the kernel settings are the machine's, shared with a node still running from elsewhere:
	// leave them to that node's stop.
	if !supervisorRunning() {
		_ = poll(ctx, func() (bool, error) { return removeCgroups() == nil, nil })
		errs = append(errs, removeCgroups())
		for k, v := range st.Sysctls {
			errs = append(errs, os.WriteFile("/proc/sys/"+k, []byte(v), 0o644))
		}
	}
	for _, dir := range st.CreatedDirs {
		errs = append(errs, os.Remove(dir))
	}
	errs = append(errs, os.RemoveAll(dir))
	return errors.Join(errs...)
}

// removeCgroups removes the kubelet's pod cgroups (kubepods, in every cgroup v1 hierarchy), deepest first; they are
// empty once the node's processes have ended.
func removeCgroups() error {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	var errs []error
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for _, dir := range slices.Backward(dirs) {
			if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func readState(d paths) (state, error) {
	var st state
	data, err := os.ReadFile(d.join("node.json"))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(data, &st)
}

func writeState(d paths, st state) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return os.WriteFile(d.join("node.json"), data, 0o600)
}

// supervisorRunning says whether any node runs on this machine (from any directory).
func supervisorRunning() bool {
	entries, _ := filepath.Glob("/proc/[0-9]*")
	for _, e := range entries {
		if pid, err := strconv.Atoi(filepath.Base(e)); err == nil && alive(pid) {
			return true
		}
	}
	return false
}

// alive says whether pid runs, is not a zombie, and is the supervisor of a node (the state file may be older than
// a reboot, and its pid another process's now).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return !strings.HasPrefix(rest, "Z") && strings.Contains(string(cmdline), "\x00supervise\x00")
}

// poll calls check every 250 ms until it reports done, fails, or ctx ends.
func poll(ctx context.Context, check func() (bool, error)) error {
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Pids are the node's processes by component name (etcd, kube-apiserver, containerd, kubelet, ...), found in /proc
// by their binary's name and an argument under the node's directory.
func (n *Node) Pids() map[string]int {
	pids := map[string]int{}
	entries, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, e := range entries {
		data, err := os.ReadFile(e)
		if err != nil || !strings.Contains(string(data), n.Dir) {
			continue
		}
		argv0, _, _ := strings.Cut(string(data), "\x00")
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(e)))
		if err == nil {
			pids[filepath.Base(argv0)] = pid
		}
	}
	return pids
}
