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

// Command demo runs burner-operator end to end on this machine: the project's single-node cluster (test/realnode)
// where the machine can run containers (Linux, root, containerd), otherwise a kube-apiserver and etcd alone
// (envtest); the Burner API simulator and the operator as real processes; and the platform layout: a
// ClusterBurnerIssuer whose key lives in the operator's namespace, a session in an app team's namespace, a session
// its policy refuses, and a consumer: on the node a real pod that mounts the token Secret and prints the expiry it
// reads (never the token), otherwise a reader of the Secret through the API. It runs until Ctrl-C, or with
// DEMO_DURATION set exits 0 as soon as the consumer saw a refresh (non-zero if it did not within that time).
// DEMO_API_FAULT names a simulator fault for every call, e.g. clock-behind (the API's clock 10 minutes behind the
// cluster's: tokens are still accepted, their expiry on the cluster's clock) or stretched-lifetime (refused).
// Everything it starts and every file it writes is removed on exit.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/testenv"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

const (
	demoKey = "ak_test_demo"
	// The session's lifetime: on the node the shortest safe for a mounted Secret (its refresh reaches the pod 2 to 3.5
	// minutes in); without a node, the minimum, for a refresh within a minute.
	nodeTTL     = 240
	nodelessTTL = 60
	wallet      = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"
	session     = "demo"
	refused     = "too-broad"
	keyName     = "burner-api-key"
	issuerName  = "platform"
	platformNS  = "burner-system" // the operator's namespace: the cluster resource namespace
	demoNS      = "payments"      // an app team's namespace
	tenantLabel = "burner.aerosol.com/tenant"
	labelTrue   = "true"
	tokenKey    = tokensecret.KeyToken
)

func main() {
	if err := run(); err != nil {
		say("demo failed: %v", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) {
	fmt.Printf("%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run() error {
	var duration time.Duration
	if d := os.Getenv("DEMO_DURATION"); d != "" {
		var err error
		if duration, err = time.ParseDuration(d); err != nil {
			return fmt.Errorf("DEMO_DURATION: %w", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}

	dir, err := os.MkdirTemp("", "burner-demo-")
	if err != nil {
		return err
	}
	defer func() {
		_ = os.RemoveAll(dir)
		say("cleaned up: processes stopped, %s removed", dir)
	}()

	cl, err := startCluster(ctx, dir)
	if err != nil {
		return err
	}
	defer cl.stop()
	kubeconfig := cl.kubeconfig
	say("CRDs installed. Talk to the cluster with:")
	say("    export KUBECONFIG=%s", kubeconfig)
	say("    %s get clusterburnerissuers,burnersessions,secrets,pods -A",
		filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"))

	simAddr, err := testenv.FreeAddr()
	if err != nil {
		return err
	}
	simArgs := []string{"--listen", simAddr, "--api-keys", demoKey}
	if fault := os.Getenv("DEMO_API_FAULT"); fault != "" {
		simArgs = append(simArgs, "--fault", fault)
	}
	sim, err := start(dir, "burner-sim", "bin/burner-sim", simArgs...)
	if err != nil {
		return err
	}
	defer sim.Stop(10 * time.Second)
	if err := waitListening(ctx, simAddr); err != nil {
		return err
	}
	say("Burner API simulator listening on http://%s (log: %s)", simAddr, sim.Log)
	if fault := os.Getenv("DEMO_API_FAULT"); fault != "" {
		say("the simulator answers every call with fault %s (DEMO_API_FAULT)", fault)
	}

	mgr, err := start(dir, "manager", "bin/manager", "--kubeconfig", kubeconfig,
		"--burner-api-url", "http://"+simAddr, "--cluster-resource-namespace", platformNS,
		"--health-probe-bind-address", "0", "--metrics-bind-address", "0")
	if err != nil {
		return err
	}
	defer mgr.Stop(10 * time.Second)
	say("operator started (log: %s)", mgr.Log)

	c := cl.client
	if err := applyPlatform(ctx, c); err != nil {
		return err
	}
	say("platform team: Secret/%s in namespace %s (opted in), ClusterBurnerIssuer/%s for namespaces labelled %s, "+
		"scopes wallet:read and transactions:build", keyName, platformNS, issuerName, tenantLabel)
	if err := waitIssuerReady(ctx, c); err != nil {
		return err
	}
	if err := applySessions(ctx, c, cl.ttl); err != nil {
		return err
	}
	say("app team: BurnerSession/%s in namespace %s (wallet %s…, ttl %ds), and BurnerSession/%s asking for "+
		"transactions:submit too", session, demoNS, wallet[:8], cl.ttl, refused)
	go reportRefusal(ctx, c)

	var refreshed bool
	if cl.pods != nil {
		refreshed, err = watchPod(ctx, cl.pods, duration > 0)
	} else {
		refreshed, err = watch(ctx, c, duration > 0)
	}
	switch {
	case refreshed && duration > 0:
		say("the consumer saw a refresh: demo passed")
		return nil
	case duration > 0:
		return fmt.Errorf("no refresh observed within DEMO_DURATION=%s", duration)
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		say("interrupted")
		return nil
	default:
		return err
	}
}

// applyPlatform creates what the platform team owns: the operator's namespace with the API key Secret, opted in, and
// a ClusterBurnerIssuer whose policy admits labelled namespaces and two of the three scopes.
func applyPlatform(ctx context.Context, c client.Client) error {
	return create(ctx, c,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: platformNS}},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: keyName,
				Labels: map[string]string{burnerv1alpha1.APIKeyLabel: labelTrue}},
			StringData: map[string]string{burnerv1alpha1.DefaultAPIKeySecretKey: demoKey},
		},
		&burnerv1alpha1.ClusterBurnerIssuer{
			ObjectMeta: metav1.ObjectMeta{Name: issuerName},
			Spec: burnerv1alpha1.BurnerIssuerSpec{
				APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: keyName},
				Policy: &burnerv1alpha1.IssuerPolicy{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{tenantLabel: labelTrue}},
					AllowedScopes:     []burnerv1alpha1.Scope{burnerv1alpha1.ScopeWalletRead, burnerv1alpha1.ScopeTransactionsBuild},
				},
			},
		})
}

// applySessions creates what the app team owns: its namespace (labelled by the platform team) and two sessions
// that name the issuer, the second asking for a scope the policy does not allow.
func applySessions(ctx context.Context, c client.Client, ttl int32) error {
	sessionAsking := func(name string, scopes ...burnerv1alpha1.Scope) *burnerv1alpha1.BurnerSession {
		return &burnerv1alpha1.BurnerSession{
			ObjectMeta: metav1.ObjectMeta{Namespace: demoNS, Name: name},
			Spec: burnerv1alpha1.BurnerSessionSpec{WalletAddress: wallet, TTLSeconds: ttl, Scopes: scopes,
				IssuerRef: &burnerv1alpha1.IssuerReference{Kind: burnerv1alpha1.ClusterBurnerIssuerKind, Name: issuerName}},
		}
	}
	return create(ctx, c,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNS, Labels: map[string]string{tenantLabel: labelTrue}}},
		sessionAsking(session, burnerv1alpha1.ScopeWalletRead, burnerv1alpha1.ScopeTransactionsBuild),
		sessionAsking(refused, burnerv1alpha1.ScopeWalletRead, burnerv1alpha1.ScopeTransactionsSubmit))
}

func create(ctx context.Context, c client.Client, objs ...client.Object) error {
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// waitIssuerReady waits for the operator to check the issuer (no API call: the key Secret opts in and holds a key).
func waitIssuerReady(ctx context.Context, c client.Client) error {
	for {
		ci := &burnerv1alpha1.ClusterBurnerIssuer{}
		if err := c.Get(ctx, client.ObjectKey{Name: issuerName}, ci); err == nil {
			if cond := meta.FindStatusCondition(ci.Status.Conditions, burnerv1alpha1.ConditionReady); cond != nil {
				say("ClusterBurnerIssuer/%s Ready=%s (%s): %s", issuerName, cond.Status, cond.Reason, cond.Message)
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// reportRefusal prints the refused session's Ready condition once the operator has set it.
func reportRefusal(ctx context.Context, c client.Client) {
	for ctx.Err() == nil {
		bs := &burnerv1alpha1.BurnerSession{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: demoNS, Name: refused}, bs); err == nil {
			if cond := meta.FindStatusCondition(bs.Status.Conditions, burnerv1alpha1.ConditionReady); cond != nil {
				say("BurnerSession/%s Ready=%s (%s): %s", refused, cond.Status, cond.Reason, cond.Message)
				return
			}
		}
		time.Sleep(time.Second)
	}
}

// watch prints the session's progress and, like a pod reading its mounted Secret, the expiry of the token it would
// use. It returns once a refresh was seen when stopAtRefresh is set, or when ctx ends.
func watch(ctx context.Context, c client.Client, stopAtRefresh bool) (bool, error) {
	var lastReady, firstToken, lastToken string
	refreshed := false
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return refreshed, ctx.Err()
		case <-tick.C:
		}
		bs := &burnerv1alpha1.BurnerSession{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: demoNS, Name: session}, bs); err != nil {
			continue
		}
		if cond := meta.FindStatusCondition(bs.Status.Conditions, burnerv1alpha1.ConditionReady); cond != nil &&
			string(cond.Status)+cond.Reason != lastReady {
			lastReady = string(cond.Status) + cond.Reason
			say("BurnerSession/%s Ready=%s (%s): %s", session, cond.Status, cond.Reason, cond.Message)
		}
		s := &corev1.Secret{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: demoNS, Name: bs.TokenSecretName()}, s); err != nil {
			continue
		}
		token := string(s.Data[tokenKey])
		if token == "" || token == lastToken {
			continue
		}
		if firstToken == "" {
			firstToken = token
			say("Secret/%s written: keys %s", s.Name, strings.Join(keys(s.Data), ", "))
		} else {
			refreshed = true
			say("refresh: the Secret now holds a new token")
		}
		lastToken = token
		// The expiry, not any part of the token: its last characters are signature bytes.
		say("consumer reads a token valid until %s (%s left)", s.Data[tokensecret.KeyExpiresAt],
			untilRFC3339(string(s.Data[tokensecret.KeyExpiresAt])))
		if refreshed && stopAtRefresh {
			return true, nil
		}
	}
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func untilRFC3339(s string) time.Duration {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0
	}
	return time.Until(t).Round(time.Second)
}

// start runs a binary built by `make demo`, logging to dir/name.log.
func start(dir, name, bin string, args ...string) (*testenv.Process, error) {
	p, err := testenv.StartProcess(filepath.Join(dir, name+".log"), nil, bin, args...)
	if err != nil {
		return nil, fmt.Errorf("%w (run through `make demo`, which builds it)", err)
	}
	return p, nil
}

func waitListening(ctx context.Context, addr string) error {
	for range 100 {
		if conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("nothing listening on %s", addr)
}
