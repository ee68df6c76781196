package controller

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// apiKey returns the API key and the key Secret's resourceVersion, so that a failure can wait for the key to
// change. API key Secrets are not cached: the value is read straight from the apiserver, and kept in memory only
// while the metadata cache shows that Secret at the same resourceVersion, so a burst of mints costs one read per key.
func (r *BurnerSessionReconciler) apiKey(ctx context.Context, bs *burnerv1alpha1.BurnerSession) (string, string, *failure) {
	ref := bs.Spec.APIKeySecretRef
	if ref.Key == "" {
		ref.Key = burnerv1alpha1.DefaultAPIKeySecretKey
	}
	key := client.ObjectKey{Namespace: bs.Namespace, Name: ref.Name}
	if version := r.secretVersion(ctx, key); version != "" {
		if v, ok := r.apiKeys.Load(key); ok && v.(readKey).version == version {
			return keyIn(v.(readKey).data, ref, version)
		}
	}
	// Workers that miss together (every session of a key is due at start-up) share one read.
	v, err, _ := r.keyReads.Do(key.String(), func() (any, error) {
		s := &corev1.Secret{}
		if err := r.APIReader.Get(ctx, key, s); err != nil {
			return nil, err
		}
		read := readKey{version: s.ResourceVersion, data: s.Data}
		r.apiKeys.Store(key, read)
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
	read := v.(readKey)
	return keyIn(read.data, ref, read.version)
}

// readKey is an API key Secret's data as read at one resourceVersion.
type readKey struct {
	version string
	data    map[string][]byte
}

// keyIn takes the key out of the Secret's data. Surrounding whitespace is dropped: a Secret made from a file
// (`kubectl create secret --from-file`) usually ends in a newline, which no API key contains.
func keyIn(data map[string][]byte, ref burnerv1alpha1.SecretKeySelector, version string) (string, string, *failure) {
	key := strings.TrimSpace(string(data[ref.Key]))
	if key == "" {
		return "", version, &failure{Reason: burnerv1alpha1.ReasonAPIKeyMissing,
			Message: fmt.Sprintf("API key Secret %q has no data under key %q", ref.Name, ref.Key)}
	}
	return key, version, nil
}
