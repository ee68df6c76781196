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

// Package secrets reads Secrets safely, for the session and issuer reconcilers and the mint path: it scopes the
// manager's caches so that only the Secrets the operator writes are held (compacted), keeps a metadata-only view of
// every other Secret, and reads an API key only from a Secret that opts in, straight from the apiserver, keeping
// only that field in memory.
package secrets

import (
	"context"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilcache "k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/failure"
)

// Reader reads the Secrets the main cache does not hold whole: their metadata from the caches, and API keys from
// the apiserver. One Reader serves the whole manager, so a key is read once for every caller.
type Reader struct {
	// cache is the main cache (Secrets with the managed-by label; data only of those a session controls), others a
	// metadata-only cache of every other Secret (OthersCache), apiServer a direct reader.
	cache, others, apiServer client.Reader
	// memo holds the API keys read, by Secret, field and resourceVersion; reads joins concurrent reads of one key.
	memo  *utilcache.LRUExpireCache
	reads singleflight.Group
	clock clock.PassiveClock
}

// memoIdle is how long a key no one asks for stays in memory (a deleted Secret, a session moved to another key),
// give or take sweepEvery (Start); memoSize bounds the keys held at once.
const (
	memoIdle   = 10 * time.Minute
	sweepEvery = time.Minute
	memoSize   = 4096
)

// NewReader reads through the main cache, the metadata cache of other Secrets and the apiserver; clk ages the memo.
func NewReader(cache, others, apiServer client.Reader, clk clock.PassiveClock) *Reader {
	return &Reader{cache: cache, others: others, apiServer: apiServer, clock: clk,
		memo: utilcache.NewLRUExpireCacheWithClock(memoSize, clk)}
}

// Start drops from memory, every sweepEvery until ctx ends, the keys no one asked for in memoIdle: the LRU cache
// only stops serving them, and a key must leave memory whether or not anything is read after it. The manager runs
// it (a Runnable); its ticks come from the reader's clock when that clock has tickers (a test's fake clock).
func (s *Reader) Start(ctx context.Context) error {
	var ticks clock.WithTicker = clock.RealClock{}
	if c, ok := s.clock.(clock.WithTicker); ok {
		ticks = c
	}
	ticker := ticks.NewTicker(sweepEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
			s.sweep()
		}
	}
}

// NeedLeaderElection is false: the memo serves every caller of the mint path, the leader's or not.
func (s *Reader) NeedLeaderElection() bool { return false }

// Meta returns a Secret's metadata as the caches know it (the metadata cache keeps only identity, ownership and
// the opt-in label), or nil when there is no such Secret.
func (s *Reader) Meta(ctx context.Context, key client.ObjectKey) *metav1.PartialObjectMetadata {
	if m := s.UnmanagedMeta(ctx, key); m != nil {
		return m
	}
	m := Metadata()
	secret := &corev1.Secret{}
	if err := s.cache.Get(ctx, key, secret); err == nil {
		m.ObjectMeta = secret.ObjectMeta
		return m
	}
	return nil
}

// UnmanagedMeta returns the metadata of a Secret without the managed-by label (the main cache holds the others), or
// nil when there is no such Secret.
func (s *Reader) UnmanagedMeta(ctx context.Context, key client.ObjectKey) *metav1.PartialObjectMetadata {
	m := Metadata()
	if err := s.others.Get(ctx, key, m); err != nil {
		return nil
	}
	return m
}

// APIKey returns the API key in field of the Secret key and that Secret's resourceVersion. The value is read only
// from a Secret that opts in with the burner.aerosol.com/api-key label, straight from the apiserver (key Secrets are
// not cached), and only that field is kept in memory, while the caches show the Secret at the same
// resourceVersion: a burst of mints costs one read per key. Its error is a *failure.Error.
func (s *Reader) APIKey(ctx context.Context, key client.ObjectKey, field string) (string, string, error) {
	id := memoKey{secret: key, field: field}
	if m := s.Meta(ctx, key); m != nil {
		if v, ok := s.memo.Get(id); ok && v.(readKey).version == m.ResourceVersion {
			s.memo.Add(id, v, memoIdle) // in use: keep it
			return keyIn(v.(readKey), key, field)
		}
	}
	// Workers that miss together (every session of a key is due at start-up) share one read.
	v, err, _ := s.reads.Do(key.String()+"/"+field, func() (any, error) {
		secret := &corev1.Secret{}
		if err := s.apiServer.Get(ctx, key, secret); err != nil {
			return nil, err
		}
		read := readKey{version: secret.ResourceVersion, labelled: OptedIn(secret)}
		if read.labelled {
			read.value = strings.TrimSpace(string(secret.Data[field]))
		}
		s.memo.Add(id, read, memoIdle)
		return read, nil
	})
	if err != nil {
		if client.IgnoreNotFound(err) == nil {
			return "", "", failure.New(burnerv1alpha1.ReasonAPIKeySecretNotFound, "API key Secret %q not found%s",
				key.Name, inNamespace(key))
		}
		return "", "", failure.New(burnerv1alpha1.ReasonAPIKeySecretUnreadable, "cannot read API key Secret %q%s: %s",
			key.Name, inNamespace(key), failure.StatusReason(err))
	}
	return keyIn(v.(readKey), key, field)
}

// sweep drops the keys that have expired from memory. Keys lists only the live ones: RemoveAll visits every entry.
func (s *Reader) sweep() {
	live := map[any]bool{}
	for _, k := range s.memo.Keys() {
		live[k] = true
	}
	s.memo.RemoveAll(func(k any) bool { return !live[k] })
}

type memoKey struct {
	secret client.ObjectKey
	field  string
}

// readKey is one field of an API key Secret as read at one resourceVersion; value is read only if labelled.
type readKey struct {
	version  string
	value    string
	labelled bool
}

// keyIn checks the key read. Surrounding whitespace was dropped: a Secret made from a file (`kubectl create secret
// --from-file`) usually ends in a newline, which no API key contains.
func keyIn(read readKey, key client.ObjectKey, field string) (string, string, error) {
	switch {
	case !read.labelled:
		return "", read.version, NotLabelled(key)
	case read.value == "":
		return "", read.version, failure.New(burnerv1alpha1.ReasonAPIKeyMissing,
			"API key Secret %q%s has no data under key %q", key.Name, inNamespace(key), field)
	}
	return read.value, read.version, nil
}

// OptedIn says whether a Secret carries the label that lets the operator read it as an API key.
func OptedIn(o metav1.Object) bool { return o.GetLabels()[burnerv1alpha1.APIKeyLabel] == "true" }

// NotLabelled is the failure of a key Secret that does not opt in.
func NotLabelled(key client.ObjectKey) *failure.Error {
	return failure.New(burnerv1alpha1.ReasonAPIKeySecretNotLabelled,
		"API key Secret %q%s does not carry the label %s: \"true\"; the operator reads only key Secrets that opt in",
		key.Name, inNamespace(key), burnerv1alpha1.APIKeyLabel)
}

func inNamespace(key client.ObjectKey) string { return " (namespace \"" + key.Namespace + "\")" }

// Metadata is an empty Secret metadata object, to read into from a metadata cache.
func Metadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return m
}
