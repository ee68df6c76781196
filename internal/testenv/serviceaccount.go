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
	"crypto"
	"errors"
	"os"
	"path/filepath"

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
