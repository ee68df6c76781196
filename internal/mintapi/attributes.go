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

// Package mintapi is the wire between the CSI node plugin and the manager's mint endpoint: the volume attributes a
// pod writes (CONTRACT.md, "Per-pod delivery"), the request the plugin sends on the pod's behalf, the answer, and the
// client. Both sides parse the attributes with the same function, so the manager never trusts the node's reading.
package mintapi

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
)

// DriverName is the CSI driver's name (CONTRACT.md).
const DriverName = "csi.burner.aerosol.com"

// The volume attributes a pod sets; every key under AttributePrefix is one of these.
const (
	AttributePrefix        = DriverName + "/"
	AttributeIssuerKind    = AttributePrefix + "issuer-kind"
	AttributeIssuerName    = AttributePrefix + "issuer-name"
	AttributeWalletAddress = AttributePrefix + "wallet-address"
	AttributeScopes        = AttributePrefix + "scopes"
	AttributeTTLSeconds    = AttributePrefix + "ttl-seconds"
)

// Bounds of ttl-seconds, the same as a BurnerSession's spec.ttlSeconds.
const (
	MinTTLSeconds     = 60
	DefaultTTLSeconds = burnerapi.DefaultTTLSeconds
	MaxTTLSeconds     = burnerapi.MaxTTLSeconds
)

var knownAttributes = []string{
	AttributeIssuerKind, AttributeIssuerName, AttributeWalletAddress, AttributeScopes, AttributeTTLSeconds,
}

// Spec is what a volume asks for: the same fields as a BurnerSession that names an issuer.
type Spec struct {
	IssuerKind    string
	IssuerName    string
	WalletAddress string
	// Scopes is nil when the attribute is omitted (all scopes).
	Scopes     []burnerv1alpha1.Scope
	TTLSeconds int32
}

// SessionSpec is the BurnerSession spec that asks for the same token, so the mint path applies one policy to both.
func (s Spec) SessionSpec() burnerv1alpha1.BurnerSessionSpec {
	return burnerv1alpha1.BurnerSessionSpec{
		WalletAddress: s.WalletAddress,
		Scopes:        slices.Clone(s.Scopes),
		TTLSeconds:    s.TTLSeconds,
		IssuerRef:     &burnerv1alpha1.IssuerReference{Kind: s.IssuerKind, Name: s.IssuerName},
	}
}

// OwnAttributes returns the attributes under AttributePrefix, leaving out the kubelet's csi.storage.k8s.io/ keys
// (among them the pod's ServiceAccount token).
func OwnAttributes(volumeContext map[string]string) map[string]string {
	own := make(map[string]string, len(knownAttributes))
	for k, v := range volumeContext {
		if strings.HasPrefix(k, AttributePrefix) {
			own[k] = v
		}
	}
	return own
}

// ParseAttributes validates a volume's attributes as CONTRACT.md says and returns its Spec. Keys outside
// AttributePrefix are ignored; an unknown key inside it is an error (a typo must not silently mean a default). The
// error names the attribute and never quotes a value longer than a wallet address.
func ParseAttributes(attrs map[string]string) (Spec, error) {
	spec := Spec{IssuerKind: burnerv1alpha1.BurnerIssuerKind, TTLSeconds: DefaultTTLSeconds}
	var unknown []string
	for k := range attrs {
		if strings.HasPrefix(k, AttributePrefix) && !slices.Contains(knownAttributes, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return Spec{}, fmt.Errorf("unknown volume attribute %s (known: %s)", quoted(unknown), strings.Join(knownAttributes, ", "))
	}
	if kind, ok := attrs[AttributeIssuerKind]; ok {
		if kind != burnerv1alpha1.BurnerIssuerKind && kind != burnerv1alpha1.ClusterBurnerIssuerKind {
			return Spec{}, fmt.Errorf("%s must be %s or %s, got %s", AttributeIssuerKind,
				burnerv1alpha1.BurnerIssuerKind, burnerv1alpha1.ClusterBurnerIssuerKind, short(kind))
		}
		spec.IssuerKind = kind
	}
	spec.IssuerName = attrs[AttributeIssuerName]
	if spec.IssuerName == "" {
		return Spec{}, fmt.Errorf("%s is required", AttributeIssuerName)
	}
	if errs := validation.IsDNS1123Subdomain(spec.IssuerName); len(errs) > 0 {
		return Spec{}, fmt.Errorf("%s %s is not a valid name: %s", AttributeIssuerName, short(spec.IssuerName), errs[0])
	}
	spec.WalletAddress = attrs[AttributeWalletAddress]
	if spec.WalletAddress == "" {
		return Spec{}, fmt.Errorf("%s is required", AttributeWalletAddress)
	}
	if err := burnerapi.ValidateWalletAddress(spec.WalletAddress); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", AttributeWalletAddress, err)
	}
	if raw, ok := attrs[AttributeScopes]; ok {
		scopes, err := parseScopes(raw)
		if err != nil {
			return Spec{}, fmt.Errorf("%s: %w", AttributeScopes, err)
		}
		spec.Scopes = scopes
	}
	if raw, ok := attrs[AttributeTTLSeconds]; ok {
		ttl, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 32)
		if err != nil || ttl < MinTTLSeconds || ttl > MaxTTLSeconds {
			return Spec{}, fmt.Errorf("%s must be a whole number of seconds from %d to %d, got %s",
				AttributeTTLSeconds, MinTTLSeconds, MaxTTLSeconds, short(raw))
		}
		spec.TTLSeconds = int32(ttl)
	}
	return spec, nil
}

// parseScopes reads a comma-separated list: each a known scope, no duplicates, at least one.
func parseScopes(raw string) ([]burnerv1alpha1.Scope, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("is empty; omit it to ask for all scopes")
	}
	var scopes []burnerv1alpha1.Scope
	for part := range strings.SplitSeq(raw, ",") {
		s := strings.TrimSpace(part)
		switch {
		case s == "":
			return nil, fmt.Errorf("has an empty entry")
		case !slices.Contains(burnerapi.AllScopes, s):
			return nil, fmt.Errorf("unknown scope %s (known: %s)", short(s), strings.Join(burnerapi.AllScopes, ", "))
		case slices.Contains(scopes, burnerv1alpha1.Scope(s)):
			return nil, fmt.Errorf("scope %q is listed twice", s)
		}
		scopes = append(scopes, burnerv1alpha1.Scope(s))
	}
	return scopes, nil
}

// maxQuoted bounds what of a user's value goes into a message (a wallet address is the longest valid value).
const maxQuoted = 44

func short(v string) string {
	if len(v) > maxQuoted {
		return strconv.Quote(v[:maxQuoted]) + "..."
	}
	return strconv.Quote(v)
}

func quoted(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = short(v)
	}
	return strings.Join(q, ", ")
}
