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
	"os"
	"path/filepath"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

// TestScopeEnumIsTheAPIsList: the CRD's enum of scopes (a marker, which cannot name a Go constant) is burnerapi's
// list, the one source of the scopes the API knows.
func TestScopeEnumIsTheAPIsList(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "crd", "bases",
		"burner.aerosol.com_burnersessions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties map[string]struct {
							Properties map[string]struct {
								Items struct {
									Enum []string `json:"enum"`
								} `json:"items"`
							} `json:"properties"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	enum := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["scopes"].Items.Enum
	if !slices.Equal(enum, burnerapi.AllScopes) {
		t.Fatalf("CRD enum of spec.scopes %v, burnerapi.AllScopes %v: update the Enum marker on Scope", enum,
			burnerapi.AllScopes)
	}
	for i, s := range burnerv1alpha1.AllScopes() {
		if string(s) != burnerapi.AllScopes[i] {
			t.Fatalf("AllScopes()[%d] = %q", i, s)
		}
	}
}
