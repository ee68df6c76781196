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

package mintapi

import (
	"slices"
	"strings"
	"testing"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

const wallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"

func attrs(kv ...string) map[string]string {
	m := map[string]string{AttributeIssuerName: "platform", AttributeWalletAddress: wallet}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "<delete>" {
			delete(m, kv[i])
			continue
		}
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestParseAttributesDefaults(t *testing.T) {
	in := attrs("csi.storage.k8s.io/pod.name", "app-0", "other.example.com/x", "y")
	spec, err := ParseAttributes(in)
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{IssuerKind: burnerv1alpha1.BurnerIssuerKind, IssuerName: "platform", WalletAddress: wallet,
		TTLSeconds: 300}
	if spec.IssuerKind != want.IssuerKind || spec.IssuerName != want.IssuerName ||
		spec.WalletAddress != want.WalletAddress || spec.TTLSeconds != want.TTLSeconds || spec.Scopes != nil {
		t.Fatalf("got %+v, want %+v", spec, want)
	}
	ss := spec.SessionSpec()
	if ss.IssuerRef == nil || ss.IssuerRef.Kind != burnerv1alpha1.BurnerIssuerKind || ss.IssuerRef.Name != "platform" ||
		ss.Scopes != nil || ss.TTLSeconds != 300 || ss.WalletAddress != wallet {
		t.Fatalf("SessionSpec = %+v", ss)
	}
}

func TestParseAttributesAllSet(t *testing.T) {
	spec, err := ParseAttributes(attrs(AttributeIssuerKind, "ClusterBurnerIssuer",
		AttributeScopes, "wallet:read, transactions:build", AttributeTTLSeconds, "120"))
	if err != nil {
		t.Fatal(err)
	}
	if spec.IssuerKind != burnerv1alpha1.ClusterBurnerIssuerKind || spec.TTLSeconds != 120 ||
		!slices.Equal(spec.Scopes, []burnerv1alpha1.Scope{"wallet:read", "transactions:build"}) {
		t.Fatalf("got %+v", spec)
	}
}

func TestParseAttributesRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		in   map[string]string
		want string
	}{
		"unknown attribute in the prefix": {attrs(AttributePrefix+"ttl", "60"), `unknown volume attribute "csi.burner.aerosol.com/ttl"`},
		"issuer name missing":             {attrs(AttributeIssuerName, "<delete>"), AttributeIssuerName + " is required"},
		"issuer name invalid":             {attrs(AttributeIssuerName, "Platform_1"), "is not a valid name"},
		"issuer kind unknown":             {attrs(AttributeIssuerKind, "Issuer"), "must be BurnerIssuer or ClusterBurnerIssuer"},
		"wallet missing":                  {attrs(AttributeWalletAddress, "<delete>"), AttributeWalletAddress + " is required"},
		"wallet not base58":               {attrs(AttributeWalletAddress, "0Rpb"+wallet[4:]), "invalid base58 character '0'"},
		"wallet too short":                {attrs(AttributeWalletAddress, "abc"), "3 characters long"},
		"scopes empty":                    {attrs(AttributeScopes, ""), "omit it to ask for all scopes"},
		"scope unknown":                   {attrs(AttributeScopes, "wallet:read,wallet:write"), `unknown scope "wallet:write"`},
		"scope twice":                     {attrs(AttributeScopes, "wallet:read,wallet:read"), `scope "wallet:read" is listed twice`},
		"scope list with a hole":          {attrs(AttributeScopes, "wallet:read,,transactions:build"), "has an empty entry"},
		"ttl below 60":                    {attrs(AttributeTTLSeconds, "59"), "from 60 to 3600, got \"59\""},
		"ttl above 3600":                  {attrs(AttributeTTLSeconds, "3601"), "from 60 to 3600"},
		"ttl not a number":                {attrs(AttributeTTLSeconds, "5m"), "must be a whole number of seconds"},
		"long value is cut":               {attrs(AttributeIssuerKind, strings.Repeat("x", 500)), `"` + strings.Repeat("x", 44) + `"...`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseAttributes(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestOwnAttributesDropsTheKubeletKeys(t *testing.T) {
	own := OwnAttributes(map[string]string{
		AttributeIssuerName:                        "platform",
		"csi.storage.k8s.io/serviceAccount.tokens": `{"burner.aerosol.com":{"token":"secret"}}`,
		"csi.storage.k8s.io/pod.name":              "app-0",
	})
	if len(own) != 1 || own[AttributeIssuerName] != "platform" {
		t.Fatalf("OwnAttributes = %v", own)
	}
}
