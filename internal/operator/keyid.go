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

package operator

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/burner-operator/burner-operator/internal/burnerapi"
)

// KeyIDSecret is the Secret, in the cluster resource namespace, that holds the install's key for the key_id metric
// label (burnerapi.KeyIDs). The manager creates it on first start and only reads it after; deleting it renames
// every key in the metrics from the next start on.
const (
	KeyIDSecret    = "burner-operator-key-id"
	keyIDSecretKey = "hmacKey"
	keyIDTimeout   = 10 * time.Second
)

// installKeyIDs names the keys in metrics under the install's secret, creating it if it does not exist yet. If
// the Secret cannot be read or created (no namespace, RBAC), the manager runs on with a secret of this process
// only, and says so: ids then change on restart, which dashboards survive, while a manager that did not start
// would let every token expire.
func installKeyIDs(mgr ctrl.Manager, namespace string, log logr.Logger) burnerapi.KeyIDs {
	ctx, cancel := context.WithTimeout(context.Background(), keyIDTimeout)
	defer cancel()
	secret, err := installSecret(ctx, mgr.GetAPIReader(), mgr.GetClient(), namespace)
	if err == nil {
		var ids burnerapi.KeyIDs
		if ids, err = burnerapi.NewKeyIDs(secret); err == nil {
			return ids
		}
	}
	log.Error(err, "Cannot keep the key_id secret; key ids in metrics will change on restart",
		"namespace", namespace, "secret", KeyIDSecret)
	ids, _ := burnerapi.NewKeyIDs(randomKey())
	return ids
}

// installSecret reads the install's key, creating the Secret with a random one if there is none. It runs before the
// manager's cache starts: the reader is the manager's direct one, and the writer's writes never go through a cache.
func installSecret(ctx context.Context, r client.Reader, w client.Writer, namespace string) ([]byte, error) {
	name := client.ObjectKey{Namespace: namespace, Name: KeyIDSecret}
	s := &corev1.Secret{}
	err := r.Get(ctx, name, s)
	if apierrors.IsNotFound(err) {
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: KeyIDSecret,
				Labels: map[string]string{"app.kubernetes.io/part-of": "burner-operator"}},
			Immutable: new(true),
			Data:      map[string][]byte{keyIDSecretKey: randomKey()},
		}
		if err = w.Create(ctx, s); apierrors.IsAlreadyExists(err) {
			err = r.Get(ctx, name, s) // another replica created it first
		}
	}
	if err != nil {
		return nil, err
	}
	return s.Data[keyIDSecretKey], nil
}

func randomKey() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}
