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

// Package tokensecret builds and reads the Secret a BurnerSession writes its token to. The Secret is the source of
// truth: besides the token it records what it was issued for (a hash of the spec and the handled force-refresh
// value), so the controller can decide from it alone whether a new token is needed.
package tokensecret

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
)

// Data keys of the token Secret. token and expiresAt are part of the contract; the others help consumers.
const (
	KeyToken         = "token"
	KeyExpiresAt     = "expiresAt"
	KeyIssuedAt      = "issuedAt"
	KeyWalletAddress = "walletAddress"
	KeyScopes        = "scopes"
)

// Labels and annotations on the token Secret.
const (
	// ManagedByLabel marks token Secrets; the manager's Secret cache only holds Secrets with this label.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "burner-operator"
	// SpecHashAnnotation records SpecHash of the spec the token was issued for.
	SpecHashAnnotation = "burner.aerosol.com/spec-hash"
	// ForceRefreshAnnotation records the session's force-refresh value this token answered. It is written in the
	// same update as the token, so a retry or a restart still yields exactly one new token per value.
	ForceRefreshAnnotation = burnerv1alpha1.ForceRefreshAnnotation
)

// Token is a token with what it was issued for: what Write stores and Parse reads back.
type Token struct {
	Value     string
	IssuedAt  time.Time
	ExpiresAt time.Time
	Scopes    []string
	// SpecHash is SpecHash of the spec the token was issued for.
	SpecHash string
	// ForceRefresh is the session's force-refresh value the token answers ("" for none).
	ForceRefresh string
}

// Errors Parse returns; the policy package turns them into condition reasons.
var (
	ErrMissingData        = errors.New("secret is missing token data")
	ErrExpiresAtMalformed = errors.New("secret has an unparsable expiresAt or issuedAt")
)

// Parse reads a token Secret. Its errors never include the Secret's values.
func Parse(s *corev1.Secret) (Token, error) {
	for _, k := range []string{KeyToken, KeyExpiresAt, KeyIssuedAt} {
		if len(s.Data[k]) == 0 {
			return Token{}, fmt.Errorf("%w: key %q is empty or absent", ErrMissingData, k)
		}
	}
	expiresAt, err := time.Parse(time.RFC3339, string(s.Data[KeyExpiresAt]))
	if err != nil {
		return Token{}, ErrExpiresAtMalformed
	}
	issuedAt, err := time.Parse(time.RFC3339, string(s.Data[KeyIssuedAt]))
	if err != nil || !issuedAt.Before(expiresAt) {
		return Token{}, ErrExpiresAtMalformed
	}
	if expiresAt.Sub(issuedAt) > burnerapi.MaxPlausibleLifetime {
		// Longer than the API could ever grant: damaged or forged, and trusting it would leave an expired token in
		// place until that far-away time.
		return Token{}, fmt.Errorf("%w: expiresAt is more than %s after issuedAt", ErrExpiresAtMalformed,
			burnerapi.MaxPlausibleLifetime)
	}
	return Token{
		Value:        string(s.Data[KeyToken]),
		IssuedAt:     issuedAt,
		ExpiresAt:    expiresAt,
		Scopes:       strings.Fields(string(s.Data[KeyScopes])),
		SpecHash:     s.Annotations[SpecHashAnnotation],
		ForceRefresh: s.Annotations[ForceRefreshAnnotation],
	}, nil
}

// Write puts t into s (new or existing), with the labels and annotations that Parse and the cache rely on. Labels
// and annotations the user added are kept; the data is replaced as a whole.
func Write(s *corev1.Secret, wallet string, t Token) {
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Labels[ManagedByLabel] = ManagedByValue
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[SpecHashAnnotation] = t.SpecHash
	if t.ForceRefresh != "" {
		s.Annotations[ForceRefreshAnnotation] = t.ForceRefresh
	} else {
		delete(s.Annotations, ForceRefreshAnnotation)
	}
	s.Type = corev1.SecretTypeOpaque
	s.Data = map[string][]byte{
		KeyToken:         []byte(t.Value),
		KeyIssuedAt:      []byte(t.IssuedAt.UTC().Format(time.RFC3339)),
		KeyExpiresAt:     []byte(t.ExpiresAt.UTC().Format(time.RFC3339)),
		KeyWalletAddress: []byte(wallet),
		KeyScopes:        []byte(strings.Join(t.Scopes, " ")),
	}
}

// WritePatch is a strategic merge patch that writes t into the Secret at version as Write does, from what the
// manager's cache keeps of it: the data replaced whole, the operator's label and annotations set (force-refresh
// removed when t answers none), and the labels, annotations and owner references others set left as they are. A
// Secret changed since version is a conflict.
func WritePatch(version, wallet string, t Token) []byte {
	s := &corev1.Secret{}
	Write(s, wallet, t)
	annotations := map[string]any{SpecHashAnnotation: t.SpecHash, ForceRefreshAnnotation: nil}
	if t.ForceRefresh != "" {
		annotations[ForceRefreshAnnotation] = t.ForceRefresh
	}
	data := map[string]any{"$patch": "replace"}
	for k, v := range s.Data {
		data[k] = v // base64, as the API has Secret data
	}
	patch, _ := json.Marshal(map[string]any{ // maps of strings and bytes always marshal
		"metadata": map[string]any{"resourceVersion": version, "labels": s.Labels, "annotations": annotations},
		"type":     s.Type, "data": data,
	})
	return patch
}

// digestPrefix starts the digest that Compact puts in place of a token, and every other digest the cached copy
// holds (Capped, TemplateState). An API token is a JWT (base64url segments joined by dots), which never contains a
// colon, and a template record is JSON.
var digestPrefix = []byte("sha256:")

// MaxKeptValue is the longest label, annotation or data value the manager's cache keeps as it is; a longer one is
// kept as its digest (Capped). It is above a digest's own length, so a capped value stays the same when capped again.
const MaxKeptValue = 128

// Capped is v, or its digest when v is longer than MaxKeptValue: what the cache keeps of a value that decisions only
// compare. A capped value compared with a capped value decides as the values would.
func Capped(v string) string {
	if len(v) <= MaxKeptValue {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return string(digestPrefix) + hex.EncodeToString(sum[:])
}

// Compact reduces a token Secret to what decisions read, for the manager's cache, so that what anyone who can edit
// the Secret puts on it costs a bounded amount of memory (about a kilobyte). Of the data it keeps the times and
// scopes (Capped) and a digest of the whole data in place of the token: Parse still finds a token, and SameData
// still tells whether the data changed. Of the labels it keeps the managed-by label, of the annotations the spec hash
// and the force-refresh value answered (Capped), and TemplateState in place of the template record. A compacted
// Secret is never written back: writes start from the Secret read from the apiserver.
func Compact(s *corev1.Secret) {
	if len(s.Data[KeyToken]) > 0 {
		s.Data[KeyToken] = dataDigest(s.Data)
	}
	for k, v := range s.Data { // in place: a new map would cost more than the bytes it saves
		switch k {
		case KeyToken:
		case KeyExpiresAt, KeyIssuedAt, KeyScopes:
			if len(v) > MaxKeptValue {
				s.Data[k] = []byte(Capped(string(v)))
			}
		default:
			delete(s.Data, k)
		}
	}
	s.StringData = nil
	state := TemplateState(s) // of the labels and annotations as they are
	s.Labels = Kept(s.Labels, ManagedByLabel)
	s.Annotations = Kept(s.Annotations, SpecHashAnnotation, ForceRefreshAnnotation)
	if state != "" {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[TemplateKeysAnnotation] = state
	}
}

// Kept is m reduced to the keys given, their values Capped; nil when none is there. It is what the cache keeps of
// labels and annotations that decisions read.
func Kept(m map[string]string, keys ...string) map[string]string {
	var kept map[string]string
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if kept == nil {
				kept = make(map[string]string, len(keys))
			}
			kept[k] = Capped(v)
		}
	}
	return kept
}

// SameData says whether two token Secrets hold the same data, either of them compacted.
func SameData(a, b *corev1.Secret) bool { return bytes.Equal(dataDigest(a.Data), dataDigest(b.Data)) }

// dataDigest is the digest of a token Secret's data, or the digest a compacted Secret holds.
func dataDigest(data map[string][]byte) []byte {
	if t := data[KeyToken]; bytes.HasPrefix(t, digestPrefix) {
		return t
	}
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(data)) {
		h.Write([]byte(k))
		h.Write(binary.BigEndian.AppendUint64([]byte{0}, uint64(len(data[k]))))
		h.Write(data[k])
	}
	return h.Sum(append(make([]byte, 0, len(digestPrefix)+sha256.Size), digestPrefix...))
}

// SpecHash fingerprints everything a token depends on: the wallet, the scopes (order-insensitive), the ttl and where
// the key comes from (the API key reference, or the issuer). Labels, annotations and other metadata are deliberately
// left out. The issuer is appended only when set, so the hashes of sessions with an inline key stay as they were.
func SpecHash(spec burnerv1alpha1.BurnerSessionSpec) string {
	scopes := make([]string, 0, len(spec.Scopes))
	for _, s := range spec.Scopes {
		scopes = append(scopes, string(s))
	}
	slices.Sort(scopes)
	parts := []string{
		spec.WalletAddress, strings.Join(scopes, ","), strconv.Itoa(int(spec.TTLSeconds)),
		spec.APIKeySecretRef.Name, spec.APIKeySecretRef.Key,
	}
	if ref := spec.IssuerRef; ref != nil {
		parts = append(parts, ref.Kind, ref.Name)
	}
	return ShortHash(parts...)
}

// ShortHash is the first 16 hex digits of the SHA-256 digest of parts, each ended by a NUL: enough to tell inputs
// apart, short enough to keep in an annotation or a status field.
func ShortHash(parts ...string) string {
	h := sha256.New()
	for _, part := range parts {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8]) // without keeping all 64 digits alive
}
