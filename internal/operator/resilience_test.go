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

package operator_test

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// TestManagerKilledDuringRefresh: a manager stopped while its API call is in flight loses at most that one token;
// the next manager answers the force-refresh with exactly one more, and the Secret is never without a token.
func TestManagerKilledDuringRefresh(t *testing.T) {
	f := newFlow(t)
	stop := f.startManager(nil)
	f.createSession("pay", 300)
	f.waitReady("pay")
	first := string(f.tokenSecret("pay").Data[tokensecret.KeyToken])

	f.sim.SetLatency(2 * time.Second)
	f.forceRefresh("pay", "1")
	f.eventually(5*time.Second, "the refresh call in flight", func() bool {
		c := f.sim.Calls()
		return c.Received > c.Total
	})
	stop()
	if got := string(f.tokenSecret("pay").Data[tokensecret.KeyToken]); got != first {
		t.Fatal("the token changed although the refresh never completed")
	}
	f.sim.SetLatency(0)
	mark := f.logMark()
	f.startManager(nil)
	f.eventually(15*time.Second, "the force-refresh answered", func() bool {
		s := f.tokenSecret("pay")
		return s.Annotations[tokensecret.ForceRefreshAnnotation] == "1"
	})
	// The reconcile that answered it, and the one its write brings: a second mint would come from either.
	f.waitReconciled(mark, 2, "pay")
	// 1 issue + at most 1 lost in flight + 1 refresh.
	if got := f.sim.TotalMints(); got > 3 {
		t.Fatalf("%d mints: more than one extra for a refresh interrupted by a restart", got)
	}
	f.waitReady("pay")
}

// TestAPIServerOutage: the apiserver disappears under a running manager (every connection cut, nothing listening)
// and comes back. The manager recovers on its own, the token Secret is intact, and the session keeps working.
func TestAPIServerOutage(t *testing.T) {
	f := newFlow(t)
	p := newProxy(t, env.Config.Host)
	cfg := rest.CopyConfig(env.Config)
	cfg.Host = p.url()
	f.startManagerWithConfig(cfg, nil)
	f.createSession("pay", 300)
	f.waitReady("pay")
	before := f.tokenSecret("pay")

	failedRequests := map[string]string{"host": strings.TrimPrefix(p.url(), "https://"), "code": "<error>"}
	failedBefore := metricSum(t, "rest_client_requests_total", failedRequests)
	p.down()
	f.createSession("during", 300) // through the direct client: the apiserver itself is fine
	f.eventually(30*time.Second, "the manager to find the apiserver gone", func() bool {
		return metricSum(t, "rest_client_requests_total", failedRequests) > failedBefore
	})
	if s := f.tokenSecret("pay"); s.ResourceVersion != before.ResourceVersion {
		t.Fatal("the token Secret changed during the outage")
	}
	p.up(t)

	f.waitReady("during")
	f.forceRefresh("pay", "after-outage")
	f.eventually(30*time.Second, "refresh after the outage", func() bool {
		return f.tokenSecret("pay").Annotations[tokensecret.ForceRefreshAnnotation] == "after-outage"
	})
	if c := f.condition("pay", burnerv1alpha1.ConditionReady); c == nil || c.Reason != "TokenValid" {
		t.Fatalf("Ready after the outage: %+v", c)
	}
	// 3 (pay, during, pay's force-refresh); a reconcile racing the caches' relist after the outage may cost one more.
	if got := f.sim.TotalMints(); got < 3 || got > 4 {
		for _, e := range f.events() {
			t.Logf("event %s %s: %s", e.Regarding.Name, e.Reason, e.Note)
		}
		t.Fatalf("%d mints, want 3 (at most 4)", got)
	}
}

// proxy forwards TCP to the apiserver and can play its outage: down closes the listener and every connection.
type proxy struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func newProxy(t *testing.T, host string) *proxy {
	t.Helper()
	u, err := url.Parse(host)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{target: u.Host, addr: "127.0.0.1:0"}
	p.up(t)
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) url() string { return "https://" + p.addr }

func (p *proxy) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *proxy) forward(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, c, s)
	p.mu.Unlock()
	go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
	_, _ = io.Copy(c, s)
	_ = c.Close()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}
