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
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

// restarts deletes the manager's pod, then adds a standby replica and deletes the leader: each time a new leader
// takes over and, every token being valid for an hour, mints nothing.
func restarts(t *testing.T) {
	ns := namespace(t, "e2e-restart")
	keys := make([]string, 0, 3)
	for i := range cap(keys) {
		keys = append(keys, newSession(t, ns, fmt.Sprintf("valid-%d", i), 3600))
	}
	mintsOf := func() []int {
		n := make([]int, 0, len(keys))
		for _, k := range keys {
			n = append(n, mints(k))
		}
		return n
	}
	for i := range keys {
		waitReady(t, ns, fmt.Sprintf("valid-%d", i), 2*time.Minute)
	}
	before := mintsOf()
	handover := func(what string) {
		old := leader(t)
		if err := cs.CoreV1().Pods(operatorNS).Delete(context.Background(), leaderPod(t),
			metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		eventually(t, 2*time.Minute, time.Second, what+": a new leader", func() error {
			if l := leader(t); l == old {
				return fmt.Errorf("%s still leads", l)
			}
			return nil
		})
		t.Logf("%s: a new leader after %s", what, time.Since(start).Round(100*time.Millisecond))
		// Long enough for the new leader to have reconciled every session.
		time.Sleep(15 * time.Second)
		if after := mintsOf(); !slices.Equal(before, after) {
			t.Errorf("%s: mints went from %v to %v with every token valid", what, before, after)
		}
	}
	handover("the manager's pod deleted")
	standby(t)
	handover("the leader deleted with a standby running")
}

// garbageCollection: the token Secret is owned by its session, so the controller-manager's garbage collector
// deletes it with the session.
func garbageCollection(t *testing.T) {
	ns := namespace(t, "e2e-gc")
	newSession(t, ns, "gc", 3600)
	waitReady(t, ns, "gc", 2*time.Minute)
	ctx := context.Background()
	bs := &burnerv1alpha1.BurnerSession{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gc"}}
	if err := k8s.Delete(ctx, bs); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eventually(t, 2*time.Minute, 100*time.Millisecond, "the token Secret collected", func() error {
		if _, err := tokenSecret(ctx, ns, "gc"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (%v)", err)
		}
		return nil
	})
	t.Logf("the token Secret was deleted %s after its session", time.Since(start).Round(10*time.Millisecond))
}

// kubectlBurner runs the plugin as users do (`kubectl burner`, found on PATH): status, inspect (never the token),
// refresh (exactly one new token), and inspect of a session that does not exist (an error).
func kubectlBurner(t *testing.T) {
	ns := namespace(t, "e2e-cli")
	key := newSession(t, ns, "cli", 3600)
	waitReady(t, ns, "cli", 2*time.Minute)
	// kubectl finds the plugin on PATH (runTool adds bin/); flags go after the plugin's name.
	kubectlBin, err := testenv.Kubectl()
	if err != nil {
		t.Fatal(err)
	}
	burner := func(args ...string) (string, error) {
		return runTool(nil, kubectlBin, append([]string{"burner"}, append(args, "-n", ns, "--kubeconfig", kubeconfig)...)...)
	}
	ctx := context.Background()
	secret, err := tokenSecret(ctx, ns, "cli")
	if err != nil {
		t.Fatal(err)
	}
	token := string(secret.Data["token"])
	out, err := burner("status")
	if err != nil || !strings.Contains(out, "cli") {
		t.Errorf("status: %v\n%s", err, out)
	}
	out, err = burner("inspect", "cli")
	if err != nil || !strings.Contains(out, string(secret.Data["expiresAt"])) {
		t.Errorf("inspect: %v; want the expiry %s in\n%s", err, secret.Data["expiresAt"], out)
	}
	if signature := token[strings.LastIndex(token, ".")+1:]; strings.Contains(out, token) ||
		strings.Contains(out, signature) {
		t.Error("inspect printed the token or its signature")
	}
	if _, err := burner("refresh", "cli"); err != nil {
		t.Fatal(err)
	}
	// The token is seconds old: the refresh is answered --force-refresh-min-interval (60 s) after it was issued.
	eventually(t, 2*time.Minute, 500*time.Millisecond, "a new token after refresh", func() error {
		s, err := tokenSecret(ctx, ns, "cli")
		if err == nil && string(s.Data["token"]) == token {
			err = errors.New("the same token")
		}
		return err
	})
	time.Sleep(5 * time.Second)
	if n := mints(key); n != 2 {
		t.Errorf("%d tokens minted, want 2 (the first, one refresh)", n)
	}
	if _, err := burner("inspect", "no-such-session"); err == nil {
		t.Error("inspect of a session that does not exist succeeded")
	}
}

// admissionWarning: a lifetime too short for a mounted Secret is accepted with a warning from the apiserver (the
// ValidatingAdmissionPolicy the installer ships), and a safe one without.
func admissionWarning(t *testing.T) {
	ns := namespace(t, "e2e-admission")
	for _, tc := range []struct {
		ttl  int32
		warn bool
	}{{120, true}, {240, false}} {
		var w warnings
		cfg := rest.CopyConfig(restConfig)
		cfg.WarningHandler = &w
		c, err := client.New(cfg, client.Options{Scheme: k8s.Scheme()})
		if err != nil {
			t.Fatal(err)
		}
		bs := &burnerv1alpha1.BurnerSession{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("ttl-%d", tc.ttl)},
			Spec: burnerv1alpha1.BurnerSessionSpec{WalletAddress: wallet, TTLSeconds: tc.ttl,
				APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: "none"}}}
		// The policy's binding may take a moment to reach the apiserver's admission.
		eventually(t, time.Minute, 2*time.Second, fmt.Sprintf("ttlSeconds %d", tc.ttl), func() error {
			_ = c.Delete(context.Background(), bs)
			w.reset()
			if err := c.Create(context.Background(), bs.DeepCopy()); err != nil {
				return err
			}
			if got := w.contains("ttlSeconds"); got != tc.warn {
				return fmt.Errorf("warned %v, want %v (warnings %q)", got, tc.warn, w.list())
			}
			return nil
		})
	}
}

// warnings collects the apiserver's warnings.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) reset() { w.mu.Lock(); w.msgs = nil; w.mu.Unlock() }

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

func (w *warnings) contains(s string) bool {
	for _, m := range w.list() {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}
