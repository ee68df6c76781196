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

package mintserver

import (
	"errors"
	"flag"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/burner-operator/burner-operator/internal/mintapi"
)

// Options are the manager's flags of the mint endpoint; the manifests (config/csi, the chart's csiDriver) set them.
type Options struct {
	// BindAddress is where the endpoint listens; "0" (the default) serves no endpoint.
	BindAddress string
	Audience    string
	CertDir     string
	// CertSecret and CAConfigMap are names in Namespace (the manager's).
	CertSecret, CAConfigMap, Namespace string
	DNSName                            string
}

// BindFlags registers the --mint-* flags; namespace is the manager's own.
func (o *Options) BindFlags(fs *flag.FlagSet, namespace string) {
	o.Namespace = namespace
	fs.StringVar(&o.BindAddress, "mint-bind-address", "0",
		"Address of the mint endpoint the CSI node plugins call, e.g. :9443 (0 serves none).")
	fs.StringVar(&o.Audience, "mint-audience", mintapi.AudienceDefault,
		"Audience the pods' ServiceAccount tokens must carry (the CSIDriver's tokenRequests).")
	fs.StringVar(&o.CertDir, "mint-cert-dir", "/tmp/k8s-mint-server/serving-certs",
		"Where --mint-cert-secret is mounted: the endpoint's tls.crt and tls.key.")
	fs.StringVar(&o.CertSecret, "mint-cert-secret", "",
		"Secret (in the manager's namespace) in which cert-controller keeps the endpoint's CA and certificate.")
	fs.StringVar(&o.CAConfigMap, "mint-ca-configmap", "",
		"ConfigMap (in the manager's namespace) to publish the CA certificate to, for the node plugins.")
	fs.StringVar(&o.DNSName, "mint-dns-name", "",
		"Name of the endpoint's certificate: its Service's, e.g. burner-operator-mint.NAMESPACE.svc.")
}

// Enabled says whether the endpoint is to be served.
func (o Options) Enabled() bool { return o.BindAddress != "" && o.BindAddress != "0" }

// Add serves the mint endpoint from mgr: the certificate rotator, the CA publisher and the TLS server, with mint as
// the mint path behind the pods' authentication.
func Add(mgr manager.Manager, o Options, mint MintFunc) error {
	if o.CertSecret == "" || o.CAConfigMap == "" || o.DNSName == "" || o.Namespace == "" {
		return errors.New("the mint endpoint needs --mint-cert-secret, --mint-ca-configmap, --mint-dns-name and the " +
			"manager's namespace")
	}
	kube, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	ready, err := AddCertRotator(mgr, CertOptions{
		Secret:  types.NamespacedName{Namespace: o.Namespace, Name: o.CertSecret},
		CertDir: o.CertDir, DNSName: o.DNSName,
		CAConfigMap: types.NamespacedName{Namespace: o.Namespace, Name: o.CAConfigMap},
	})
	if err != nil {
		return err
	}
	log := mgr.GetLogger().WithName("mint")
	return mgr.Add(&Server{Addr: o.BindAddress, CertDir: o.CertDir, Ready: ready, Log: log,
		Handler: NewHandler(kube, o.Audience, mint, log)})
}
