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
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// CAKey is the key of the CA certificate in the cert Secret (cert-controller's layout) and in the published
// ConfigMap the node plugins mount.
const CAKey = "ca.crt"

// CertOptions says where the mint endpoint's serving certificate lives.
type CertOptions struct {
	// Secret holds the CA and serving key pairs (cert-controller's ca.crt, ca.key, tls.crt, tls.key). It must
	// exist (the manifests ship it empty) and only the manager may read it: the node plugins get CAConfigMap.
	Secret types.NamespacedName
	// CertDir is where Secret is mounted in the manager's pod.
	CertDir string
	// DNSName is the name the node plugins dial, the Service's: e.g. burner-operator-mint.NAMESPACE.svc.
	DNSName       string
	ExtraDNSNames []string
	// CAConfigMap receives the CA certificate alone, for the node plugins' --mint-ca-file.
	CAConfigMap types.NamespacedName
}

// AddCertRotator adds open-policy-agent/cert-controller's rotator to mgr, which creates and renews a self-signed CA
// and the serving certificate in opts.Secret, and a runnable that publishes the CA certificate (never a key) to
// opts.CAConfigMap. The returned channel closes once the certificate files are in opts.CertDir: pass it as
// Server.Ready.
func AddCertRotator(mgr manager.Manager, opts CertOptions) (<-chan struct{}, error) {
	ready := make(chan struct{})
	err := rotator.AddRotator(mgr, &rotator.CertRotator{
		SecretKey:      opts.Secret,
		CertDir:        opts.CertDir,
		CAName:         "burner-operator-mint-ca",
		CAOrganization: "burner-operator",
		DNSName:        opts.DNSName,
		ExtraDNSNames:  opts.ExtraDNSNames,
		IsReady:        ready,
		ControllerName: "mint-cert-rotator",
	})
	if err != nil {
		return nil, fmt.Errorf("adding the mint endpoint's certificate rotator: %w", err)
	}
	publisher := &caPublisher{reader: mgr.GetAPIReader(), writer: mgr.GetClient(), secret: opts.Secret,
		configMap: opts.CAConfigMap, ready: ready, every: time.Minute, log: mgr.GetLogger().WithName("mint-ca")}
	return ready, mgr.Add(publisher)
}

// caPublisher copies the CA certificate from the cert Secret to a ConfigMap, now and after each rotation. It reads
// with the uncached reader: the manager caches neither these Secrets nor any ConfigMap.
type caPublisher struct {
	reader            client.Reader
	writer            client.Client
	secret, configMap types.NamespacedName
	ready             <-chan struct{}
	every             time.Duration
	log               logr.Logger
}

func (p *caPublisher) NeedLeaderElection() bool { return false }

func (p *caPublisher) Start(ctx context.Context) error {
	select {
	case <-p.ready:
	case <-ctx.Done():
		return nil
	}
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		if err := p.publish(ctx); err != nil {
			p.log.Error(err, "publishing the mint endpoint's CA certificate failed", "configMap", p.configMap)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *caPublisher) publish(ctx context.Context) error {
	var secret corev1.Secret
	if err := p.reader.Get(ctx, p.secret, &secret); err != nil {
		return err
	}
	ca := secret.Data[CAKey]
	if len(ca) == 0 {
		return fmt.Errorf("secret %s has no %s yet", p.secret, CAKey)
	}
	var cm corev1.ConfigMap
	err := p.reader.Get(ctx, p.configMap, &cm)
	if apierrors.IsNotFound(err) {
		cm = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: p.configMap.Namespace, Name: p.configMap.Name},
			Data: map[string]string{CAKey: string(ca)}}
		return p.writer.Create(ctx, &cm)
	}
	if err != nil || bytes.Equal([]byte(cm.Data[CAKey]), ca) {
		return err
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[CAKey] = string(ca)
	return p.writer.Update(ctx, &cm)
}
