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

// Package consumer is the pod side of the token promise: a pod that mounts a token Secret and reads its expiresAt
// every 500 ms, the Secret's changes as the apiserver saw them, and what the two say together: reads of an expired
// token, and how long each new token took to reach the pod. The e2e tests, the node benchmark and the demo use it.
package consumer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

const (
	// Image is a busybox image (make node-images) that is never pulled.
	Image = "localhost/consumer:e2e"
	// MountPath is where the token Secret is mounted; the pod reads MountPath/expiresAt, never the token.
	MountPath = "/var/run/burner"
	// keyExpiresAt is the token Secret's expiry key (CONTRACT.md).
	keyExpiresAt = "expiresAt"
)

// Pod mounts secretName and prints its expiresAt every 500 ms. It runs on the host network (the project's node has
// no pod network), unprivileged and read-only.
func Pod(namespace, name, secretName string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{"app": "burner-consumer"}},
		Spec: corev1.PodSpec{
			HostNetwork:                   true,
			TerminationGracePeriodSeconds: new(int64(1)),
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: new(true), RunAsUser: new(int64(65534)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "reader", Image: Image, ImagePullPolicy: corev1.PullNever,
				Command: []string{"/bin/sh", "-c",
					"while true; do echo \"$(cat " + MountPath + "/" + keyExpiresAt + ")\"; sleep 0.5; done"},
				VolumeMounts: []corev1.VolumeMount{{Name: "token", MountPath: MountPath, ReadOnly: true}},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: new(false),
					ReadOnlyRootFilesystem: new(true),
					Capabilities:           &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
			Volumes: []corev1.Volume{{Name: "token",
				VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secretName}}}},
		},
	}
}

// Read is one line of the pod: when the kubelet logged it, and the expiresAt the pod read.
type Read struct {
	At        time.Time
	ExpiresAt string
}

// Reads is every read the pod has logged so far (from the kubelet, through the apiserver).
func Reads(ctx context.Context, cs kubernetes.Interface, namespace, pod string) ([]Read, error) {
	raw, err := cs.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Timestamps: true}).DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	var reads []Read
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		ts, value, _ := strings.Cut(sc.Text(), " ")
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			continue
		}
		reads = append(reads, Read{At: at, ExpiresAt: strings.TrimSpace(value)})
	}
	return reads, sc.Err()
}

// Change is a new expiresAt in a token Secret, at the time the watch delivered it.
type Change struct {
	At        time.Time
	ExpiresAt string
}

// Secrets records every change of expiresAt in the token Secrets of a namespace.
type Secrets struct {
	mu      sync.Mutex
	changes map[string][]Change // by Secret name
}

// WatchSecrets starts recording the namespace's Secrets until ctx ends; it returns once the watch is synced.
func WatchSecrets(ctx context.Context, cs kubernetes.Interface, namespace string) (*Secrets, error) {
	s := &Secrets{changes: map[string][]Change{}}
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace))
	inf := f.Core().V1().Secrets().Informer()
	record := func(obj any) {
		if sec, ok := obj.(*corev1.Secret); ok {
			s.record(sec.Name, string(sec.Data[keyExpiresAt]))
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: record, UpdateFunc: func(_, obj any) { record(obj) },
	}); err != nil {
		return nil, err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("watching Secrets in %s: %w", namespace, ctx.Err())
	}
	return s, nil
}

func (s *Secrets) record(name, expiresAt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.changes[name]
	if expiresAt == "" || (len(cs) > 0 && cs[len(cs)-1].ExpiresAt == expiresAt) {
		return
	}
	s.changes[name] = append(cs, Change{At: time.Now(), ExpiresAt: expiresAt})
}

// Changes is what the watch saw of one Secret so far.
func (s *Secrets) Changes(name string) []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Change(nil), s.changes[name]...)
}

// Result is what a pod's reads say about one Secret.
type Result struct {
	Reads int
	// Expired are the reads of a token already past its expiresAt.
	Expired []Read
	// Seen is how many different tokens (expiresAt values) the pod read.
	Seen int
	// Delays: for each refresh (every change after the first), from the Secret's change to the pod's first read
	// of it.
	Delays []time.Duration
	// Missed are refreshes the pod never read (a later token reached it first, or none yet).
	Missed int
}

// Analyse compares a pod's reads with its Secret's changes. A change after the pod's last read is not counted as
// missed: the pod may yet read it.
func Analyse(reads []Read, changes []Change) Result {
	r := Result{Reads: len(reads)}
	firstRead := map[string]time.Time{}
	for _, rd := range reads {
		if exp, err := time.Parse(time.RFC3339, rd.ExpiresAt); err == nil && rd.At.After(exp) {
			r.Expired = append(r.Expired, rd)
		}
		if _, ok := firstRead[rd.ExpiresAt]; !ok {
			firstRead[rd.ExpiresAt] = rd.At
		}
	}
	r.Seen = len(firstRead)
	for i, c := range changes {
		if i == 0 {
			continue // the first token was there before the pod started
		}
		if at, ok := firstRead[c.ExpiresAt]; ok {
			r.Delays = append(r.Delays, at.Sub(c.At))
		} else if len(reads) > 0 && c.At.Before(reads[len(reads)-1].At) && i < len(changes)-1 {
			r.Missed++
		}
	}
	return r
}

// Percentile is the p-th percentile (0-100) of ds, nearest rank; 0 for none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
