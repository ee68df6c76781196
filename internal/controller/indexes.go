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
	"errors"

	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/issuer"
)

// Field indexes: sessions by the names of the Secrets they reference in their namespace (an inline API key Secret,
// a token Secret named in spec.secretName), sessions by the issuer they reference (issuer.RefOf), and issuers by
// their key Secret ("namespace/name").
const (
	secretRefsIndex = "burner.aerosol.com/secret-refs"
	issuerRefIndex  = "burner.aerosol.com/issuer-ref"
	keySecretIndex  = "burner.aerosol.com/key-secret"
)

// addIndexes registers the field indexes the watches map through.
func addIndexes(indexer client.FieldIndexer, keys issuer.Resolver) error {
	ctx := context.Background()
	keySecret := func(o client.Object) []string {
		key, _ := keys.KeyOf(o.(burnerv1alpha1.GenericIssuer))
		return []string{key.String()}
	}
	return errors.Join(
		indexer.IndexField(ctx, &burnerv1alpha1.BurnerSession{}, secretRefsIndex, func(o client.Object) []string {
			spec := o.(*burnerv1alpha1.BurnerSession).Spec
			var names []string
			for _, name := range []string{spec.APIKeySecretRef.Name, spec.SecretName} {
				if name != "" {
					names = append(names, name)
				}
			}
			return names
		}),
		indexer.IndexField(ctx, &burnerv1alpha1.BurnerSession{}, issuerRefIndex, func(o client.Object) []string {
			if ref := issuer.RefOf(o.(*burnerv1alpha1.BurnerSession)); ref != "" {
				return []string{ref}
			}
			return nil
		}),
		indexer.IndexField(ctx, &burnerv1alpha1.ClusterBurnerIssuer{}, keySecretIndex, keySecret),
		indexer.IndexField(ctx, &burnerv1alpha1.BurnerIssuer{}, keySecretIndex, keySecret),
	)
}
