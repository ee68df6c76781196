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

// startMounts creates, in namespace ns, a session per lifetime and a pod mounting each token Secret.
func startMounts(t *testing.T, ns string, lifetimes []int32) *mounts {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := &mounts{ns: namespace(t, ns)}
	var err error
	if m.secrets, err = consumer.WatchSecrets(ctx, cs, m.ns); err != nil {
		t.Fatal(err)
	}
	for i, ttl := range lifetimes {
		s := mountSession{name: fmt.Sprintf("s%03d-ttl%d", i, ttl), ttl: ttl}
		s.key = newSession(t, m.ns, s.name, ttl)
		if _, err := cs.CoreV1().Pods(m.ns).Create(ctx, consumer.Pod(m.ns, s.name, s.name),
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		m.sessions = append(m.sessions, s)
	}
	return m
}

// check follows the pods until each has read refreshesToSee refreshes, then asserts that none read an expired
// token, that every refresh reached its pod, and that every token minted was written once.
func (m *mounts) check(t *testing.T) {
	results := m.follow(t)
	var all []time.Duration
	for _, s := range m.sessions {
		res := results[s.name]
		all = append(all, res.Delays...)
		t.Logf("%s: %d reads, %d tokens seen, delays %v", s.name, res.Reads, res.Seen, rounded(res.Delays))
		if len(res.Expired) > 0 {
			t.Errorf("%s: %d reads of an expired token, first %+v", s.name, len(res.Expired), res.Expired[0])
		}
		if res.Missed > 0 {
			t.Errorf("%s: %d refreshes never reached the pod", s.name, res.Missed)
		}
		if n, written := mints(s.key), len(m.secrets.Changes(s.name)); n != written {
			t.Errorf("%s: %d tokens minted, %d written to the Secret: a token was minted twice", s.name, n, written)
		}
	}
	t.Logf("Secret-to-pod delay over %d refreshes: p50 %s, max %s", len(all),
		consumer.Percentile(all, 50).Round(time.Second), consumer.Percentile(all, 100).Round(time.Second))
}

// follow polls every pod's reads until each has seen the first token and refreshesToSee more, writing them to the
// artifacts as it goes; it fails at two of the longest lifetimes plus four minutes (pod start, a handover, a busy
// machine).
func (m *mounts) follow(t *testing.T) map[string]consumer.Result {
	var longest int32
	for _, s := range m.sessions {
		longest = max(longest, s.ttl)
	}
	deadline := time.Now().Add(2*time.Duration(longest)*time.Second + 4*time.Minute)
	results := map[string]consumer.Result{}
	for {
		done := 0
		var lastErr error
		for _, s := range m.sessions {
			if results[s.name].Seen > refreshesToSee {
				done++
				continue
			}
			reads, err := consumer.Reads(context.Background(), cs, m.ns, s.name)
			if err != nil {
				lastErr = err
				continue
			}
			changes := m.secrets.Changes(s.name)
			results[s.name] = consumer.Analyse(reads, changes)
			writeReads(t, s.name, reads, changes, results[s.name])
		}
		if done == len(m.sessions) {
			return results
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pods read %d tokens by the deadline; last error: %v", done, len(m.sessions),
				refreshesToSee+1, lastErr)
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
