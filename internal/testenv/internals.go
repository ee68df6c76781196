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

package testenv

import (
	"context"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/keyutil"
)

// ServiceAccountSigner returns the key the apiserver signs ServiceAccount tokens with and the issuer it writes in
// them, for tests that need a token the TokenRequest API never issues (one already expired: it issues none shorter
// than 10 minutes). envtest generates both at start (sa-signer.key in the apiserver's cert directory).
func (e *Env) ServiceAccountSigner() (crypto.Signer, string, error) {
	apiServer := e.env.ControlPlane.GetAPIServer()
	pem, err := os.ReadFile(filepath.Join(apiServer.CertDir, "sa-signer.key"))
	if err != nil {
		return nil, "", err
	}
	key, err := keyutil.ParsePrivateKeyPEM(pem)
	if err != nil {
		return nil, "", err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, "", errors.New("the service account signing key is not a crypto.Signer")
	}
	return signer, apiServer.SecureServing.URL("https", "/").String(), nil
}

// EtcdDataDir is the directory etcd keeps its data in (WAL and database, unencrypted), for tests that prove a value
// never reached storage by searching it byte for byte.
func (e *Env) EtcdDataDir() string { return e.env.ControlPlane.Etcd.DataDir }

// BoundToken is a token of pod's ServiceAccount for audience, bound to the pod: what the kubelet obtains for a CSI
// driver's tokenRequests.
func (e *Env) BoundToken(t testing.TB, pod *corev1.Pod, audience string) string {
	t.Helper()
	kube, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := kube.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(context.Background(),
		pod.Spec.ServiceAccountName, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			Audiences:      []string{audience},
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}
