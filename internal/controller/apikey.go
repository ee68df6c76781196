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

package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// secretReader reads the Secrets the main cache does not hold whole: their metadata from the caches, and API keys
// from the apiserver. The session and issuer reconcilers share one, so a key is read once for both.
type secretReader struct {
	// cache is the main cache (Secrets with the managed-by label; data only of those a session controls),
	// otherSecrets a metadata-only cache of every other Secret, apiServer a direct reader.
	cache, otherSecrets, apiServer client.Reader
	clock                          clock.PassiveClock
	// memo holds the API keys read, by resourceVersion, and reads joins concurrent reads of one key.
	memo  keyMemo
	reads singleflight.Group
}

// meta returns a Secret's metadata as the caches know it (the metadata cache keeps only identity, ownership and
// the opt-in label), or nil when there is no such Secret.
func (s *secretReader) meta(ctx context.Context, key client.ObjectKey) *metav1.PartialObjectMetadata {
	if m := s.unmanagedMeta(ctx, key); m != nil {
		return m
	}
	m := secretMetadata()
	secret := &corev1.Secret{}
	if err := s.cache.Get(ctx, key, secret); err == nil {
		m.ObjectMeta = secret.ObjectMeta
		return m
	}
	return nil
}

// unmanagedMeta returns the metadata of a Secret without the managed-by label (the main cache holds the others), or
// nil when there is no such Secret.
func (s *secretReader) unmanagedMeta(ctx context.Context, key client.ObjectKey) *metav1.PartialObjectMetadata {
	m := secretMetadata()
	if err := s.otherSecrets.Get(ctx, key, m); err != nil {
		return nil
	}
	return m
}

// apiKey returns the API key in field of the Secret key and that Secret's resourceVersion, so that a failure can
// wait for the key to change. The value is read only from a Secret that opts in with the burner.aerosol.com/api-key
// label, straight from the apiserver (key Secrets are not cached), and only that field is kept in memory, while the
// caches show the Secret at the same resourceVersion: a burst of mints costs one read per key.
func (s *secretReader) apiKey(ctx context.Context, key client.ObjectKey, field string) (string, string, *failure) {
	now := s.clock.Now()
	if m := s.meta(ctx, key); m != nil {
		if read, ok := s.memo.get(key, field, m.ResourceVersion, now); ok {
			return keyIn(read, key, field)
		}
	}
	// Workers that miss together (every session of a key is due at start-up) share one read.
	v, err, _ := s.reads.Do(key.String()+"/"+field, func() (any, error) {
		secret := &corev1.Secret{}
		if err := s.apiServer.Get(ctx, key, secret); err != nil {
			return nil, err
		}
		read := readKey{version: secret.ResourceVersion, labelled: optedIn(secret)}
		if read.labelled {
			read.value = strings.TrimSpace(string(secret.Data[field]))
		}
		s.memo.put(key, field, read, now)
		return read, nil
	})
	if err != nil {
		if client.IgnoreNotFound(err) == nil {
			return "", "", &failure{Reason: burnerv1alpha1.ReasonAPIKeySecretNotFound,
				Message: fmt.Sprintf("API key Secret %q not found%s", key.Name, inNamespace(key))}
		}
		return "", "", &failure{Reason: burnerv1alpha1.ReasonAPIKeySecretUnreadable,
			Message: fmt.Sprintf("cannot read API key Secret %q%s: %s", key.Name, inNamespace(key), apiStatusReason(err))}
	}
	return keyIn(v.(readKey), key, field)
}

// optedIn says whether a Secret carries the label that lets the operator read it as an API key.
func optedIn(o metav1.Object) bool { return o.GetLabels()[burnerv1alpha1.APIKeyLabel] == "true" }

// notLabelled is the failure of a key Secret that does not opt in.
func notLabelled(key client.ObjectKey) *failure {
	return &failure{Reason: burnerv1alpha1.ReasonAPIKeySecretNotLabelled, Message: fmt.Sprintf(
		"API key Secret %q%s does not carry the label %s: \"true\"; the operator reads only key Secrets that opt in",
		key.Name, inNamespace(key), burnerv1alpha1.APIKeyLabel)}
}

func inNamespace(key client.ObjectKey) string { return fmt.Sprintf(" (namespace %q)", key.Namespace) }

// keyIn checks the key read. Surrounding whitespace was dropped: a Secret made from a file (`kubectl create secret
// --from-file`) usually ends in a newline, which no API key contains.
func keyIn(read readKey, key client.ObjectKey, field string) (string, string, *failure) {
	switch {
	case !read.labelled:
		return "", read.version, notLabelled(key)
	case read.value == "":
		return "", read.version, &failure{Reason: burnerv1alpha1.ReasonAPIKeyMissing,
			Message: fmt.Sprintf("API key Secret %q%s has no data under key %q", key.Name, inNamespace(key), field)}
	}
	return read.value, read.version, nil
}

// readKey is one field of an API key Secret as read at one resourceVersion; value is read only if labelled.
type readKey struct {
	version  string
	value    string
	labelled bool
}

// keyMemo holds the API keys read, one entry per Secret and field. An entry unused for memoIdle is dropped, so the
// keys of Secrets no session uses any more (deleted, or no longer referenced) do not stay in memory.
type keyMemo struct {
	mu        sync.Mutex
	entries   map[memoKey]*memoEntry
	lastSweep time.Time
}

type memoKey struct {
	secret client.ObjectKey
	field  string
}

type memoEntry struct {
	read     readKey
	lastUsed time.Time
}

const memoIdle = 10 * time.Minute

func (m *keyMemo) get(secret client.ObjectKey, field, version string, now time.Time) (readKey, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[memoKey{secret, field}]
	if !ok || e.read.version != version {
		return readKey{}, false
	}
	e.lastUsed = now
	return e.read, true
}

func (m *keyMemo) put(secret client.ObjectKey, field string, read readKey, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = map[memoKey]*memoEntry{}
	}
	if now.Sub(m.lastSweep) >= memoIdle {
		for k, e := range m.entries {
			if now.Sub(e.lastUsed) >= memoIdle {
				delete(m.entries, k)
			}
		}
		m.lastSweep = now
	}
	m.entries[memoKey{secret, field}] = &memoEntry{read: read, lastUsed: now}
}
