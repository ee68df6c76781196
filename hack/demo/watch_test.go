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

package main

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/testenv"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// TestDemoPrintsExpiryNotToken: the demo's consumer shows the expiry of each token it reads, and no part of the
// token (its last characters are signature bytes).
func TestDemoPrintsExpiryNotToken(t *testing.T) {
	ctx := t.Context()
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNS}}); err != nil {
		t.Fatal(err)
	}
	bs := &burnerv1alpha1.BurnerSession{ObjectMeta: metav1.ObjectMeta{Namespace: demoNS, Name: session},
		Spec: burnerv1alpha1.BurnerSessionSpec{WalletAddress: wallet,
			APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: keyName}}}
	if err := env.Client.Create(ctx, bs); err != nil {
		t.Fatal(err)
	}
	tokens := []string{"header.payload.FIRSTsignatureAAAA", "header.payload.SECONDsignatureBBBB"}
	expiries := []string{time.Now().Add(4 * time.Minute).UTC().Format(time.RFC3339),
		time.Now().Add(5 * time.Minute).UTC().Format(time.RFC3339)}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: demoNS, Name: bs.TokenSecretName()},
		Data: map[string][]byte{tokensecret.KeyToken: []byte(tokens[0]), tokensecret.KeyExpiresAt: []byte(expiries[0])}}
	if err := env.Client.Create(ctx, s); err != nil {
		t.Fatal(err)
	}

	out, stop := captureStdout(t)
	done := make(chan error, 1)
	go func() { _, err := watch(ctx, env.Client, true); done <- err }()
	waitFor(t, func() bool { return strings.Contains(out(), "valid until "+expiries[0]) })
	s.Data = map[string][]byte{tokensecret.KeyToken: []byte(tokens[1]), tokensecret.KeyExpiresAt: []byte(expiries[1])}
	if err := env.Client.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the demo did not see the refresh")
	}
	stop()
	printed := out()
	for i, tok := range tokens {
		if !strings.Contains(printed, "valid until "+expiries[i]) {
			t.Errorf("the demo did not print the expiry %s:\n%s", expiries[i], printed)
		}
		if sig := tok[strings.LastIndex(tok, ".")+1:]; strings.Contains(printed, sig[len(sig)-4:]) {
			t.Errorf("the demo printed part of a token's signature:\n%s", printed)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// captureStdout sends stdout to a buffer until stop is called; out is what was printed so far.
func captureStdout(t *testing.T) (out func() string, stop func()) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	var mu sync.Mutex
	var b bytes.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			mu.Lock()
			b.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	out = func() string {
		mu.Lock()
		defer mu.Unlock()
		return b.String()
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			os.Stdout = stdout
			_ = w.Close()
			<-copied
		})
	}
	t.Cleanup(stop)
	return out, stop
}
