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

package v1alpha1_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

const wallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"

// session returns a valid BurnerSession as the YAML a user would apply, with edit applied to its spec.
func session(edit func(spec map[string]any)) *unstructured.Unstructured {
	spec := map[string]any{
		"walletAddress":   wallet,
		"apiKeySecretRef": map[string]any{"name": "burner-api-key"},
	}
	if edit != nil {
		edit(spec)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "burner.aerosol.com/v1alpha1", "kind": "BurnerSession",
		"metadata": map[string]any{"generateName": "bs-"},
		"spec":     spec,
	}}
	return u
}

// withTemplate sets spec.secretTemplate's labels and annotations (nil: absent).
func withTemplate(labels, annotations map[string]any) func(spec map[string]any) {
	return func(spec map[string]any) {
		tmpl := map[string]any{}
		if labels != nil {
			tmpl["labels"] = labels
		}
		if annotations != nil {
			tmpl["annotations"] = annotations
		}
		spec["secretTemplate"] = tmpl
	}
}

// numbered is n labels k0: v ... k(n-1): v.
func numbered(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

// longPrefix is a DNS subdomain of 254 characters, one more than a key's prefix may have.
var longPrefix = strings.Repeat(strings.Repeat("p", 62)+".", 4) + "ab"

func TestValidation(t *testing.T) {
	ns := env.Namespace(t)
	cases := []struct {
		name string
		edit func(spec map[string]any)
		// wantErr lists substrings of the apiserver's message; empty means the object is accepted.
		wantErr []string
	}{
		{name: "minimal", edit: nil},
		{name: "all fields", edit: func(s map[string]any) {
			s["scopes"] = []any{"wallet:read", "transactions:build", "transactions:submit"}
			s["ttlSeconds"] = int64(3600)
			s["apiKeySecretRef"] = map[string]any{"name": "key", "key": "my.key_1"}
			s["secretName"] = "token-secret"
		}},
		{name: "all-ones address", edit: func(s map[string]any) { s["walletAddress"] = "11111111111111111111111111111111" }},
		{name: "ttl minimum", edit: func(s map[string]any) { s["ttlSeconds"] = int64(60) }},
		{name: "missing wallet", edit: func(s map[string]any) { delete(s, "walletAddress") },
			wantErr: []string{"spec.walletAddress", "Required"}},
		{name: "wallet too short", edit: func(s map[string]any) { s["walletAddress"] = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRM" },
			wantErr: []string{"spec.walletAddress", "at least 32"}},
		{name: "wallet too long", edit: func(s map[string]any) { s["walletAddress"] = wallet + "DRpbCBMxV" },
			wantErr: []string{"spec.walletAddress", "more than 44"}},
		{name: "wallet not base58", edit: func(s map[string]any) { s["walletAddress"] = "0OIl" + wallet[4:] },
			wantErr: []string{"spec.walletAddress", "should match"}},
		{name: "unknown scope", edit: func(s map[string]any) { s["scopes"] = []any{"root:all"} },
			wantErr: []string{"spec.scopes[0]", "Unsupported value"}},
		{name: "duplicate scope", edit: func(s map[string]any) { s["scopes"] = []any{"wallet:read", "wallet:read"} },
			wantErr: []string{"spec.scopes[1]", "Duplicate value"}},
		{name: "empty scopes", edit: func(s map[string]any) { s["scopes"] = []any{} },
			wantErr: []string{"spec.scopes", "at least 1"}},
		{name: "ttl too long", edit: func(s map[string]any) { s["ttlSeconds"] = int64(4000) },
			wantErr: []string{"spec.ttlSeconds", "less than or equal to 3600"}},
		{name: "ttl too short", edit: func(s map[string]any) { s["ttlSeconds"] = int64(59) },
			wantErr: []string{"spec.ttlSeconds", "greater than or equal to 60"}},
		{name: "ttl not an integer", edit: func(s map[string]any) { s["ttlSeconds"] = "300" },
			wantErr: []string{"spec.ttlSeconds", "integer"}},
		{name: "neither key ref nor issuer", edit: func(s map[string]any) { delete(s, "apiKeySecretRef") },
			wantErr: []string{"exactly one of issuerRef and apiKeySecretRef"}},
		{name: "both key ref and issuer", edit: func(s map[string]any) {
			s["issuerRef"] = map[string]any{"kind": "ClusterBurnerIssuer", "name": "platform"}
		}, wantErr: []string{"exactly one of issuerRef and apiKeySecretRef"}},
		{name: "issuer", edit: func(s map[string]any) {
			delete(s, "apiKeySecretRef")
			s["issuerRef"] = map[string]any{"kind": "ClusterBurnerIssuer", "name": "platform"}
		}},
		{name: "issuer of an unknown kind", edit: func(s map[string]any) {
			delete(s, "apiKeySecretRef")
			s["issuerRef"] = map[string]any{"kind": "Issuer", "name": "platform"}
		}, wantErr: []string{"spec.issuerRef.kind", "Unsupported value"}},
		{name: "key ref without name", edit: func(s map[string]any) { s["apiKeySecretRef"] = map[string]any{"key": "k"} },
			wantErr: []string{"spec.apiKeySecretRef.name", "Required"}},
		{name: "key ref bad key", edit: func(s map[string]any) {
			s["apiKeySecretRef"] = map[string]any{"name": "k", "key": "a/b"}
		}, wantErr: []string{"spec.apiKeySecretRef.key", "should match"}},
		{name: "bad secretName", edit: func(s map[string]any) { s["secretName"] = "Not_A_Name" },
			wantErr: []string{"spec.secretName", "should match"}},
		{name: "unknown field", edit: func(s map[string]any) { s["tttl"] = int64(5) },
			wantErr: []string{"unknown field", "spec.tttl"}},
		{name: "secret template", edit: withTemplate(map[string]any{
			"example.com/cost-centre": "cc-1234", "app.kubernetes.io/part-of": "payments", "velero.io/exclude-from-backup": "true",
			"empty": "", "Mixed_Case.9": "A-b_c.9",
		}, map[string]any{
			"argocd.argoproj.io/compare-options": "IgnoreExtraneous", "Example.COM/Mixed": strings.Repeat("x", 10000),
		})},
		{name: "reserved label key", edit: withTemplate(map[string]any{"burner.aerosol.com/api-key": "true"}, nil),
			wantErr: []string{"spec.secretTemplate.labels", "label key burner.aerosol.com/api-key is reserved"}},
		{name: "the operator's own label", edit: withTemplate(map[string]any{"app.kubernetes.io/managed-by": "me"}, nil),
			wantErr: []string{"label key app.kubernetes.io/managed-by is reserved"}},
		{name: "reserved annotation key", edit: withTemplate(nil, map[string]any{"burner.aerosol.com/spec-hash": "x"}),
			wantErr: []string{"spec.secretTemplate.annotations", "annotation key burner.aerosol.com/spec-hash is reserved"}},
		{name: "bad label key", edit: withTemplate(map[string]any{"a/b/c": "x"}, nil),
			wantErr: []string{"label key a/b/c is not a valid label key"}},
		{name: "label key name too long", edit: withTemplate(map[string]any{strings.Repeat("n", 64): "x"}, nil),
			wantErr: []string{"is not a valid label key"}},
		{name: "label key prefix too long", edit: withTemplate(map[string]any{longPrefix + "/n": "x"}, nil),
			wantErr: []string{"is not a valid label key"}},
		{name: "uppercase label key prefix", edit: withTemplate(map[string]any{"Example.com/n": "x"}, nil),
			wantErr: []string{"label key Example.com/n is not a valid label key"}},
		{name: "label value too long", edit: withTemplate(map[string]any{"team": strings.Repeat("v", 64)}, nil),
			wantErr: []string{"the value of label team is longer than 63 characters"}},
		{name: "bad annotation key", edit: withTemplate(nil, map[string]any{"-bad": "x"}),
			wantErr: []string{"annotation key -bad is not a valid annotation key"}},
		{name: "65 labels", edit: withTemplate(numbered(65), nil),
			wantErr: []string{"spec.secretTemplate.labels", "must have at most 64 items"}},
		{name: "annotations over 64 KiB", edit: withTemplate(nil, map[string]any{
			"a": strings.Repeat("x", 40000), "b": strings.Repeat("x", 40000)}),
			wantErr: []string{"keys and values together must not exceed 65536 characters"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := session(tc.edit)
			u.SetNamespace(ns)
			err := env.Client.Create(context.Background(), u, client.FieldValidation("Strict"))
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("want accepted, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want rejected with %q, was accepted", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// TestIssuerValidation: what an issuer's schema refuses at admission.
func TestIssuerValidation(t *testing.T) {
	ns := env.Namespace(t)
	issuer := func(kind string, spec map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "burner.aerosol.com/v1alpha1", "kind": kind,
			"metadata": map[string]any{"generateName": "issuer-"}, "spec": spec,
		}}
		if kind == "BurnerIssuer" {
			u.SetNamespace(ns)
		}
		return u
	}
	key := map[string]any{"name": "platform-key"}
	selector := map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"team": "a"}}}
	for _, tc := range []struct {
		name    string
		obj     *unstructured.Unstructured
		wantErr string
	}{
		{"cluster issuer with every rule", issuer("ClusterBurnerIssuer", map[string]any{
			"url": "https://api.aerosol.com", "apiKeySecretRef": key, "policy": map[string]any{
				"namespaceSelector": selector["namespaceSelector"], "allowedWallets": []any{wallet},
				"allowedScopes": []any{"wallet:read"}, "maxTTLSeconds": int64(600),
				"maxSessionsPerNamespace": int64(20)}}), ""},
		{"no session allowed per namespace", issuer("BurnerIssuer", map[string]any{"apiKeySecretRef": key,
			"policy": map[string]any{"maxSessionsPerNamespace": int64(0)}}), "spec.policy.maxSessionsPerNamespace"},
		{"loopback http", issuer("ClusterBurnerIssuer", map[string]any{"url": "http://127.0.0.1:8089",
			"apiKeySecretRef": key}), ""},
		{"plain http elsewhere", issuer("ClusterBurnerIssuer", map[string]any{"url": "http://api.aerosol.com",
			"apiKeySecretRef": key}), "url must be https://"},
		{"namespace selector on a BurnerIssuer", issuer("BurnerIssuer", map[string]any{"apiKeySecretRef": key,
			"policy": selector}), "namespaceSelector applies to a ClusterBurnerIssuer only"},
		{"namespace weights", issuer("ClusterBurnerIssuer", map[string]any{"apiKeySecretRef": key,
			"namespaceWeights": map[string]any{"payments": int64(3)}}), ""},
		{"namespace weight out of range", issuer("ClusterBurnerIssuer", map[string]any{"apiKeySecretRef": key,
			"namespaceWeights": map[string]any{"payments": int64(0)}}), "namespace weights are 1 to 100"},
		{"namespace weights on a BurnerIssuer", issuer("BurnerIssuer", map[string]any{"apiKeySecretRef": key,
			"namespaceWeights": map[string]any{ns: int64(100)}}), "namespaceWeights applies to a ClusterBurnerIssuer only"},
		{"no key", issuer("BurnerIssuer", map[string]any{}), "spec.apiKeySecretRef"},
		{"ttl above the API's maximum", issuer("BurnerIssuer", map[string]any{"apiKeySecretRef": key,
			"policy": map[string]any{"maxTTLSeconds": int64(7200)}}), "spec.policy.maxTTLSeconds"},
		{"unknown scope", issuer("BurnerIssuer", map[string]any{"apiKeySecretRef": key,
			"policy": map[string]any{"allowedScopes": []any{"root"}}}), "spec.policy.allowedScopes[0]"},
		{"secret template", issuer("ClusterBurnerIssuer", map[string]any{"apiKeySecretRef": key,
			"secretTemplate": map[string]any{"labels": map[string]any{"velero.io/exclude-from-backup": "true"}}}), ""},
		{"reserved key in a template", issuer("BurnerIssuer", map[string]any{"apiKeySecretRef": key,
			"secretTemplate": map[string]any{"annotations": map[string]any{"burner.aerosol.com/x": ""}}}),
			"annotation key burner.aerosol.com/x is reserved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := env.Client.Create(context.Background(), tc.obj, client.FieldValidation("Strict"))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	ns := env.Namespace(t)
	u := session(nil)
	u.SetNamespace(ns)
	ctx := context.Background()
	if err := env.Client.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	var bs burnerv1alpha1.BurnerSession
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(u), &bs); err != nil {
		t.Fatal(err)
	}
	if bs.Spec.TTLSeconds != 300 || bs.Spec.APIKeySecretRef.Key != "apiKey" || bs.Spec.Scopes != nil ||
		bs.Spec.SecretName != "" || bs.TokenSecretName() != bs.Name {
		t.Fatalf("defaults not applied as documented: %+v", bs.Spec)
	}
}

func TestSecretNameIsImmutable(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	for _, tc := range []struct{ from, to string }{{"a", "b"}, {"", "b"}, {"a", ""}} {
		u := session(func(s map[string]any) {
			if tc.from != "" {
				s["secretName"] = tc.from
			}
		})
		u.SetNamespace(ns)
		if err := env.Client.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		if tc.to == "" {
			unstructured.RemoveNestedField(u.Object, "spec", "secretName")
		} else {
			_ = unstructured.SetNestedField(u.Object, tc.to, "spec", "secretName")
		}
		err := env.Client.Update(ctx, u)
		if err == nil || !strings.Contains(err.Error(), "secretName is immutable") {
			t.Errorf("%q -> %q: want immutability error, got %v", tc.from, tc.to, err)
		}
	}
}

func TestStatusSubresource(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	bs := &burnerv1alpha1.BurnerSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "status"},
		Spec: burnerv1alpha1.BurnerSessionSpec{
			WalletAddress: wallet, APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: "k"},
		},
	}
	if err := env.Client.Create(ctx, bs); err != nil {
		t.Fatal(err)
	}
	// A status written through the main resource is dropped; through the subresource it sticks and does not bump
	// the generation.
	bs.Status.SecretName = "ignored"
	if err := env.Client.Update(ctx, bs); err != nil {
		t.Fatal(err)
	}
	if bs.Status.SecretName != "" {
		t.Fatalf("status written through the main resource: %+v", bs.Status)
	}
	gen := bs.Generation
	bs.Status.SecretName = "status"
	bs.Status.ObservedGeneration = gen
	if err := env.Client.Status().Update(ctx, bs); err != nil {
		t.Fatal(err)
	}
	var got burnerv1alpha1.BurnerSession
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(bs), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status.SecretName != "status" || got.Generation != gen {
		t.Fatalf("status subresource: got %+v generation %d", got.Status, got.Generation)
	}
}

// TestSamplesDryRun applies every sample with kubectl --dry-run=server, and every invalid sample must be refused
// with a message naming the field.
func TestSamplesDryRun(t *testing.T) {
	ns := env.Namespace(t)
	kubeconfig := env.KubeconfigFile(t)
	root := testenv.RepoRoot()
	samples, _ := filepath.Glob(filepath.Join(root, "config", "samples", "*.yaml"))
	for _, f := range samples {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		if out, err := kubectl(kubeconfig, "apply", "--dry-run=server", "-n", ns, "-f", f); err != nil {
			t.Errorf("%s: %v\n%s", filepath.Base(f), err, out)
		}
	}
	for file, field := range map[string]string{
		"ttl-too-long.yaml": "spec.ttlSeconds", "unknown-scope.yaml": "spec.scopes[0]", "missing-wallet.yaml": "spec.walletAddress",
	} {
		out, err := kubectl(kubeconfig, "apply", "--dry-run=server", "-n", ns, "-f",
			filepath.Join(root, "test", "testdata", "invalid", file))
		if err == nil || !strings.Contains(out, field) {
			t.Errorf("%s: want rejection naming %s, got err=%v\n%s", file, field, err, out)
		}
	}
}

func kubectl(kubeconfig string, args ...string) (string, error) {
	path, err := testenv.Kubectl()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(path, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestExpiresColumnIsReadable: kubectl prints a healthy session's expiry as a time, not as the "<invalid>" a date
// column shows for a time in the future.
func TestExpiresColumnIsReadable(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	u := session(nil)
	u.SetNamespace(ns)
	if err := env.Client.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	var bs burnerv1alpha1.BurnerSession
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(u), &bs); err != nil {
		t.Fatal(err)
	}
	expires := metav1.NewTime(time.Now().Add(4 * time.Minute).Truncate(time.Second))
	bs.Status.ExpiresAt = &expires
	if err := env.Client.Status().Update(ctx, &bs); err != nil {
		t.Fatal(err)
	}
	out, err := kubectl(env.KubeconfigFile(t), "get", "bsess", "-n", ns)
	if err != nil || strings.Contains(out, "<invalid>") || !strings.Contains(out, expires.UTC().Format(time.RFC3339)) {
		t.Fatalf("kubectl get bsess (err %v):\n%s", err, out)
	}
}
