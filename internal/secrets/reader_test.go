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

package secrets

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// countingReader counts the reads that reach the apiserver.
type countingReader struct {
	client.Reader
	gets atomic.Int32
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.gets.Add(1)
	return c.Reader.Get(ctx, key, obj, opts...)
}

// TestAPIKeyMemoForgetsUnusedKeys: a key is read from the apiserver once per resourceVersion, only its field is
// kept, and a key no one has asked for in a while (a deleted Secret, a session moved to another key) leaves memory
// on its own, with no read after it.
func TestAPIKeyMemoForgetsUnusedKeys(t *testing.T) {
	ctx, ns := t.Context(), env.Namespace(t)
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	apiServer := &countingReader{Reader: env.Client}
	r := NewReader(env.Client, env.Client, apiServer, clk)
	go func() { _ = r.Start(ctx) }()
	key := func(name, value string) client.ObjectKey {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{burnerv1alpha1.APIKeyLabel: "true"}},
			Data: map[string][]byte{"apiKey": []byte(value), "other": []byte("not kept")}}
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		return client.ObjectKeyFromObject(s)
	}
	read := func(k client.ObjectKey, want string) {
		t.Helper()
		if got, _, err := r.APIKey(ctx, k, "apiKey"); err != nil || got != want {
			t.Fatalf("APIKey(%s) = %q, %v; want %q", k.Name, got, err, want)
		}
	}
	// held is what is still in memory: RemoveAll visits every entry, expired or not.
	held := func() []any {
		var keys []any
		r.memo.RemoveAll(func(k any) bool { keys = append(keys, k); return false })
		return keys
	}
	a, b := key("a", "ka"), key("b", "kb")
	read(a, "ka")
	read(a, "ka")
	if n := apiServer.gets.Load(); n != 1 {
		t.Fatalf("two reads of one key version reached the apiserver %d times", n)
	}
	read(b, "kb")
	for !clk.HasWaiters() { // the sweeper's ticker
		time.Sleep(time.Millisecond)
	}
	for range 3 {
		clk.Step(5 * time.Minute)
		read(b, "kb")
	}
	waitFor(t, func() bool { h := held(); return len(h) == 1 && h[0] == memoKey{secret: b, field: "apiKey"} },
		"only the key in use in memory: one unused for 15 minutes stays")

	clk.Step(memoIdle + sweepEvery) // no read at all
	waitFor(t, func() bool { return len(held()) == 0 }, "no key in memory once none is used")
}

// waitFor polls cond for a few seconds (a sweep runs in its own goroutine) and fails with what if it never holds.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
	}
}
