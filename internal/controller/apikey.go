package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// apiKey returns the API key and the key Secret's resourceVersion, so that a failure can wait for the key to
// change. API key Secrets are not cached: the value is read straight from the apiserver, and the selected key alone
// kept in memory while the caches show that Secret at the same resourceVersion, so a burst of mints costs one read
// per key.
func (r *BurnerSessionReconciler) apiKey(ctx context.Context, bs *burnerv1alpha1.BurnerSession) (string, string, *failure) {
	ref := bs.Spec.APIKeySecretRef
	if ref.Key == "" {
		ref.Key = burnerv1alpha1.DefaultAPIKeySecretKey
	}
	secret := client.ObjectKey{Namespace: bs.Namespace, Name: ref.Name}
	now := r.Clock.Now()
	if version := r.secretVersion(ctx, secret); version != "" {
		if read, ok := r.apiKeys.get(secret, ref.Key, version, now); ok {
			return keyIn(read, ref)
		}
	}
	// Workers that miss together (every session of a key is due at start-up) share one read.
	v, err, _ := r.keyReads.Do(secret.String()+"/"+ref.Key, func() (any, error) {
		s := &corev1.Secret{}
		if err := r.APIReader.Get(ctx, secret, s); err != nil {
			return nil, err
		}
		read := readKey{version: s.ResourceVersion, value: strings.TrimSpace(string(s.Data[ref.Key]))}
		r.apiKeys.put(secret, ref.Key, read, now)
		return read, nil
	})
	if err != nil {
		if client.IgnoreNotFound(err) == nil {
			return "", "", &failure{Reason: burnerv1alpha1.ReasonAPIKeySecretNotFound,
				Message: fmt.Sprintf("API key Secret %q not found", ref.Name)}
		}
		return "", "", &failure{Reason: burnerv1alpha1.ReasonAPIKeySecretUnreadable,
			Message: fmt.Sprintf("cannot read API key Secret %q: %s", ref.Name, apiStatusReason(err))}
	}
	return keyIn(v.(readKey), ref)
}

// keyIn checks the key read. Surrounding whitespace was dropped: a Secret made from a file (`kubectl create secret
// --from-file`) usually ends in a newline, which no API key contains.
func keyIn(read readKey, ref burnerv1alpha1.SecretKeySelector) (string, string, *failure) {
	if read.value == "" {
		return "", read.version, &failure{Reason: burnerv1alpha1.ReasonAPIKeyMissing,
			Message: fmt.Sprintf("API key Secret %q has no data under key %q", ref.Name, ref.Key)}
	}
	return read.value, read.version, nil
}

// readKey is one key of an API key Secret as read at one resourceVersion.
type readKey struct {
	version string
	value   string
}

// keyMemo holds the API keys read, one entry per Secret and data key. An entry unused for memoIdle is dropped, so
// the keys of Secrets no session uses any more (deleted, or no longer referenced) do not stay in memory.
type keyMemo struct {
	mu        sync.Mutex
	entries   map[memoKey]*memoEntry
	lastSweep time.Time
}

type memoKey struct {
	secret  client.ObjectKey
	dataKey string
}

type memoEntry struct {
	read     readKey
	lastUsed time.Time
}

const memoIdle = 10 * time.Minute

func (m *keyMemo) get(secret client.ObjectKey, dataKey, version string, now time.Time) (readKey, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[memoKey{secret, dataKey}]
	if !ok || e.read.version != version {
		return readKey{}, false
	}
	e.lastUsed = now
	return e.read, true
}

func (m *keyMemo) put(secret client.ObjectKey, dataKey string, read readKey, now time.Time) {
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
	m.entries[memoKey{secret, dataKey}] = &memoEntry{read: read, lastUsed: now}
}
