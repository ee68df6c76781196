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

package v1alpha1

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// GenericIssuer is either kind of issuer (cert-manager's GenericIssuer): they share a spec and a status, and code
// that serves both asks which kind it has only through IssuerKind.
// +kubebuilder:object:generate=false
type GenericIssuer interface {
	runtime.Object
	metav1.Object

	GetObjectMeta() *metav1.ObjectMeta
	GetSpec() *BurnerIssuerSpec
	GetStatus() *BurnerIssuerStatus
	// IssuerKind is ClusterBurnerIssuerKind or BurnerIssuerKind (TypeMeta is empty on objects read from a cache).
	IssuerKind() string
}

var (
	_ GenericIssuer = &ClusterBurnerIssuer{}
	_ GenericIssuer = &BurnerIssuer{}
)

func (i *ClusterBurnerIssuer) GetObjectMeta() *metav1.ObjectMeta { return &i.ObjectMeta }
func (i *ClusterBurnerIssuer) GetSpec() *BurnerIssuerSpec        { return &i.Spec }
func (i *ClusterBurnerIssuer) GetStatus() *BurnerIssuerStatus    { return &i.Status }
func (i *ClusterBurnerIssuer) IssuerKind() string                { return ClusterBurnerIssuerKind }

func (i *BurnerIssuer) GetObjectMeta() *metav1.ObjectMeta { return &i.ObjectMeta }
func (i *BurnerIssuer) GetSpec() *BurnerIssuerSpec        { return &i.Spec }
func (i *BurnerIssuer) GetStatus() *BurnerIssuerStatus    { return &i.Status }
func (i *BurnerIssuer) IssuerKind() string                { return BurnerIssuerKind }

// NewIssuer returns an empty issuer of the kind an IssuerReference names ("" is BurnerIssuer, the reference's
// default); an unknown kind is an error, which admission rules out.
func NewIssuer(kind string) (GenericIssuer, error) {
	switch kind {
	case ClusterBurnerIssuerKind:
		return &ClusterBurnerIssuer{}, nil
	case BurnerIssuerKind, "":
		return &BurnerIssuer{}, nil
	}
	return nil, fmt.Errorf("unknown issuer kind %q", kind)
}
