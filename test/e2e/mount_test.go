//go:build e2e

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

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/burner-operator/burner-operator/test/consumer"
)

// mountLifetimes are the ttlSeconds the README promises safe for a mounted Secret: the shortest one and the default.
// Longer lifetimes only add lead (a third of the lifetime, beyond 120 s).
var mountLifetimes = []int32{240, 300}

// refreshesToSee: each pod must read the first token and this many refreshes.
const refreshesToSee = 2

// mounts are sessions each read by a consumer pod, and the watch of their Secrets.
type mounts struct {
	ns       string
	secrets  *consumer.Secrets
	sessions []mountSession
}

type mountSession struct {
	name, key string
	ttl       int32
}

// startMounts creates a session per lifetime, and a pod mounting each token Secret.
func startMounts(t *testing.T, lifetimes []int32) *mounts {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := &mounts{ns: namespace(t, "e2e-mount")}
	var err error
	if m.secrets, err = consumer.WatchSecrets(ctx, cs, m.ns); err != nil {
		t.Fatal(err)
	}
	for _, ttl := range lifetimes {
		s := mountSession{name: fmt.Sprintf("ttl-%d", ttl), ttl: ttl}
		s.key = newSession(t, m.ns, s.name, ttl)
		if _, err := cs.CoreV1().Pods(m.ns).Create(ctx, consumer.Pod(m.ns, "reader-"+s.name, s.name),
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		m.sessions = append(m.sessions, s)
	}
	return m
}

// check follows each pod until it has read refreshesToSee refreshes, then asserts that it never read an expired
// token, that every refresh reached it, and that every token minted was written once. The reads and the delays go
// to the artifacts.
func (m *mounts) check(t *testing.T) {
	var mu sync.Mutex
	var all []time.Duration
	t.Cleanup(func() {
		t.Logf("Secret-to-pod delay over %d refreshes: p50 %s, max %s", len(all),
			consumer.Percentile(all, 50).Round(time.Second), consumer.Percentile(all, 100).Round(time.Second))
	})
	for _, s := range m.sessions {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			res := m.follow(t, s)
			mu.Lock()
			all = append(all, res.Delays...)
			mu.Unlock()
			t.Logf("ttl %ds: %d reads, %d tokens seen, delays %v", s.ttl, res.Reads, res.Seen, rounded(res.Delays))
			if len(res.Expired) > 0 {
				t.Errorf("%d reads of an expired token, first %+v", len(res.Expired), res.Expired[0])
			}
			if res.Missed > 0 {
				t.Errorf("%d refreshes never reached the pod", res.Missed)
			}
			if n, written := mints(s.key), len(m.secrets.Changes(s.name)); n != written {
				t.Errorf("%d tokens minted, %d written to the Secret: a token was minted twice", n, written)
			}
		})
	}
}

// follow polls the pod's reads until it has seen the first token and refreshesToSee more, or fails at two
// lifetimes plus four minutes (pod start, a handover, a busy machine).
func (m *mounts) follow(t *testing.T, s mountSession) consumer.Result {
	pod := "reader-" + s.name
	deadline := time.Now().Add(2*time.Duration(s.ttl)*time.Second + 4*time.Minute)
	for {
		reads, err := consumer.Reads(context.Background(), cs, m.ns, pod)
		changes := m.secrets.Changes(s.name)
		res := consumer.Analyse(reads, changes)
		if err == nil {
			writeReads(t, s.name, reads, changes, res)
		}
		switch {
		case err == nil && res.Seen > refreshesToSee:
			return res
		case time.Now().After(deadline):
			t.Fatalf("pod %s read %d tokens (want %d) by the deadline; last error: %v", pod, res.Seen,
				refreshesToSee+1, err)
		}
		time.Sleep(15 * time.Second)
	}
}

// writeReads keeps what a pod read and what its Secret held, for a human to check a failure.
func writeReads(t *testing.T, name string, reads []consumer.Read, changes []consumer.Change, res consumer.Result) {
	var b strings.Builder
	for _, c := range changes {
		fmt.Fprintf(&b, "secret %s expiresAt=%s\n", c.At.UTC().Format(time.RFC3339Nano), c.ExpiresAt)
	}
	for _, r := range reads {
		fmt.Fprintf(&b, "read   %s expiresAt=%s\n", r.At.UTC().Format(time.RFC3339Nano), r.ExpiresAt)
	}
	fmt.Fprintf(&b, "expired reads %d, missed refreshes %d, delays %v\n", len(res.Expired), res.Missed,
		rounded(res.Delays))
	if err := os.WriteFile(filepath.Join(artifacts, "reads-"+name+".txt"), []byte(b.String()), 0o644); err != nil {
		t.Log(err)
	}
}

func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(100 * time.Millisecond)
	}
	return out
}
