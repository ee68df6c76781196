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

package operator_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/mint"
	"github.com/burner-operator/burner-operator/internal/operator"
	"github.com/burner-operator/burner-operator/internal/operator/operatortest"
)

// TestKeyGoesOnlyToAllowedURLs runs the manager with --allowed-api-urls empty (only its own --burner-api-url) and a
// ClusterBurnerIssuer pointing elsewhere: the issuer is not Ready (URLNotAllowed), its session is IssuerNotReady,
// and the listener at that URL never sees a connection. An issuer whose Ready condition is stale (set before the
// allowlist changed) is refused by the mint path itself, the one the pods' volumes use too.
func TestKeyGoesOnlyToAllowedURLs(t *testing.T) {
	f := operatortest.NewFlow(t, env)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var dialled atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			dialled.Add(1)
			_ = conn.Close()
		}
	}()
	platform := env.Namespace(t)
	key := f.CreateKeySecret(platform, "platform-key")
	ci := operatortest.ClusterIssuer("elsewhere-"+f.NS, "http://"+ln.Addr().String(), key.Name)
	if err := env.Client.Create(f.Ctx, ci); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(f.Ctx, ci) })
	stop := f.StartManager(func(o *operator.Options) {
		o.ClusterResourceNamespace, o.AllowedAPIURLs = platform, []string{}
	})
	f.CreateClusterIssuerSession("pay", ci.Name)

	f.Eventually(30*time.Second, "the issuer URLNotAllowed", func() bool {
		if err := env.Client.Get(f.Ctx, client.ObjectKeyFromObject(ci), ci); err != nil {
			return false
		}
		c := meta.FindStatusCondition(ci.Status.Conditions, burnerv1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == burnerv1alpha1.ReasonURLNotAllowed
	})
	f.WaitReason("pay", burnerv1alpha1.ConditionReady, burnerv1alpha1.ReasonIssuerNotReady)
	if c := f.Condition("pay", burnerv1alpha1.ConditionReady); c == nil || !strings.Contains(c.Message, "URLNotAllowed") {
		t.Errorf("session's Ready = %+v, want the issuer's reason named", c)
	}
	stop()

	// A stale Ready=True: the mint path checks the URL itself.
	meta.SetStatusCondition(&ci.Status.Conditions, metav1.Condition{Type: burnerv1alpha1.ConditionReady,
		Status: metav1.ConditionTrue, Reason: burnerv1alpha1.ReasonKeyAvailable, Message: "stale"})
	if err := env.Client.Status().Update(f.Ctx, ci); err != nil {
		t.Fatal(err)
	}
	allowed, err := burnerapi.ParseAllowedURLs(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	m := &mint.Minter{Issuers: issuer.Resolver{Reader: env.Client, ClusterResourceNamespace: platform, URLs: allowed}}
	_, err = m.Admit(f.Ctx, mint.Request{Namespace: f.NS, WalletAddress: operatortest.Wallet,
		IssuerRef: &burnerv1alpha1.IssuerReference{Kind: burnerv1alpha1.ClusterBurnerIssuerKind, Name: ci.Name}})
	var fe *failure.Error
	if !errors.As(err, &fe) || fe.Reason != burnerv1alpha1.ReasonURLNotAllowed {
		t.Errorf("Admit with a stale Ready issuer = %v, want URLNotAllowed", err)
	}
	if n := dialled.Load(); n != 0 {
		t.Fatalf("the disallowed URL was dialled %d times", n)
	}
}

// TestKeyIDIsKeyedPerInstall: the manager keeps a key_id secret in the cluster resource namespace, created on
// first start and reused after a restart; the key_id label of its metrics is the keyed hash under that secret,
// not the key's unkeyed SHA-256 prefix, which anyone reading the metrics could match against a guessed key.
func TestKeyIDIsKeyedPerInstall(t *testing.T) {
	f := operatortest.NewFlow(t, env)
	platform := env.Namespace(t)
	withPlatform := func(o *operator.Options) { o.ClusterResourceNamespace = platform }
	stop := f.StartManager(withPlatform)
	f.CreateSession("pay", 300)
	f.WaitReady("pay")
	stop()
	secret := &corev1.Secret{}
	if err := env.Client.Get(f.Ctx, clientKey(platform, operator.KeyIDSecret), secret); err != nil {
		t.Fatalf("the key_id secret: %v", err)
	}
	ids, err := burnerapi.NewKeyIDs(secret.Data["hmacKey"])
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(operatortest.APIKey))
	unkeyed := hex.EncodeToString(digest[:4])
	id := ids.Of(operatortest.APIKey)
	if id == unkeyed {
		t.Fatal("the key id is the unkeyed digest prefix")
	}
	if text := metricsText(t); !strings.Contains(text, `key_id="`+id+`"`) ||
		strings.Contains(text, `key_id="`+unkeyed+`"`) {
		t.Errorf("metrics name the key other than by %s:\n%s", id, text)
	}

	f.StartManager(withPlatform)
	f.ForceRefresh("pay", "1")
	f.Eventually(30*time.Second, "the restarted manager's metrics name the key "+id, func() bool {
		return strings.Contains(metricsText(t), `key_id="`+id+`"`)
	})
	again := &corev1.Secret{}
	if err := env.Client.Get(f.Ctx, clientKey(platform, operator.KeyIDSecret), again); err != nil {
		t.Fatal(err)
	}
	if again.UID != secret.UID {
		t.Fatal("the restarted manager replaced the key_id secret")
	}
}
