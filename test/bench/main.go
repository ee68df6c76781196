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

// Command bench measures burner-operator at scale on envtest and the in-process simulator (50 ms of API latency):
// time until N sessions are Ready against the write floor of this machine, API calls and apiserver writes per
// issue and per refresh, the manager's RSS, the restart (time to steady state, API calls made), and the RSS cost
// of many unrelated large Secrets. Scenarios: one key shared by every session, an upstream rate limit the manager
// must learn, a scaling curve over N, refreshes at the tokens' own time, a chaos soak (SIGKILLs, API faults, an
// apiserver outage), and two tenants sharing one issuer's key. It prints a Markdown report. Run it through `make
// bench`; BENCHMARKS.md has the commands.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/burner-operator/burner-operator/internal/testenv"
)

type config struct {
	sessions, perNamespace, unrelated, unrelatedKB, concurrency int
	hostile                                                     int
	latency                                                     time.Duration
	manager                                                     string
	managerArgs                                                 string
	cpuProfile, heapProfile, apiserverProfile, goMemLimit, goGC string
	ttl                                                         int
	soak, chaos, twoTenants, hung                               time.Duration
	tenantB, tenantBTTL, hungSessions                           int
	phases                                                      map[string]bool
	keys                                                        keyLayout
	upstreamRate                                                float64
	upstreamBurst                                               int
	scaling                                                     []int
}

func main() {
	c := config{keys: perNamespaceKeys}
	flag.IntVar(&c.sessions, "sessions", 1000, "number of BurnerSessions")
	flag.IntVar(&c.perNamespace, "per-namespace", 100, "sessions per namespace (each namespace has its own key Secret)")
	flag.Var(&c.keys, "keys", "API key layout: per-namespace (a distinct key in each namespace), shared (every "+
		"namespace's key Secret holds the same key, so all sessions share one upstream limit) or issuer (one "+
		"ClusterBurnerIssuer, its key in the operator's namespace: the platform layout)")
	flag.Float64Var(&c.upstreamRate, "upstream-rate", 0, "the simulator's limit per API key, calls/s, answered "+
		"beyond with 429 and Retry-After: 1 (0: unlimited); the manager is not told")
	flag.IntVar(&c.upstreamBurst, "upstream-burst", 0, "burst of that limit (0: one second's worth of the rate)")
	flag.IntVar(&c.unrelated, "unrelated-secrets", 0, "unrelated Secrets created in other namespaces for the memory check")
	flag.IntVar(&c.unrelatedKB, "unrelated-kb", 100, "size of each unrelated Secret, in KiB")
	flag.IntVar(&c.hostile, "hostile-objects", 0, "objects near the apiserver's size limits created in another "+
		"namespace for the memory check (Secrets labelled as the operator's, with a forged controller reference or "+
		"neither, and BurnerSessions, in turn: testenv.HostileObjects)")
	flag.IntVar(&c.concurrency, "floor-concurrency", 128,
		"parallel writers of the write-floor baseline (the manager's default concurrency)")
	flag.IntVar(&c.ttl, "ttl", 3600, "ttlSeconds of every session")
	flag.DurationVar(&c.soak, "soak", 0, "instead of the phases, keep the sessions running this long and sample every "+
		"token Secret every 500 ms for expired tokens (use with -ttl 60)")
	flag.DurationVar(&c.chaos, "chaos", 0, "a soak of this length under faults: the manager SIGKILLed every 20-60 s "+
		"and restarted, 5% of API calls answered 503, two 10 s windows of 429s, the apiserver connection cut once "+
		"for 10 s; fails on an expired token or more than 1.02 mints per refresh (use with -ttl 60)")
	flag.DurationVar(&c.twoTenants, "two-tenants", 0, "instead of the phases, two tenants on one ClusterBurnerIssuer "+
		"for this long: namespace tenant-a holds -sessions sessions of -ttl, tenant-b -tenant-b sessions of "+
		"-tenant-b-ttl; reports each tenant's refresh leads, tokens expired and calls/s; fails if one of B's expired "+
		"(use with -upstream-rate 50 -ttl 60)")
	flag.IntVar(&c.tenantB, "tenant-b", 50, "tenant B's sessions in the -two-tenants scenario")
	flag.IntVar(&c.tenantBTTL, "tenant-b-ttl", 300, "ttlSeconds of tenant B's sessions")
	flag.DurationVar(&c.hung, "hung", 0, "a soak of this length beside -hung-sessions sessions of a BurnerIssuer "+
		"whose API (a second simulator) never answers: reports the healthy sessions' expired samples and refresh lead, "+
		"and the calls the hung API held at once; fails on an expired token (use with -ttl 60)")
	flag.IntVar(&c.hungSessions, "hung-sessions", 1000, "sessions of the hung issuer (-hung)")
	flag.DurationVar(&c.latency, "latency", 50*time.Millisecond, "simulated Burner API latency")
	flag.StringVar(&c.manager, "manager", "bin/manager", "manager binary")
	flag.StringVar(&c.managerArgs, "manager-args", "", "extra manager flags, space-separated")
	flag.StringVar(&c.goMemLimit, "gomemlimit", "230MiB", "GOMEMLIMIT of the manager, as in the manifests (empty: unset)")
	flag.StringVar(&c.goGC, "gogc", "40", "GOGC of the manager, as in the manifests (empty: unset)")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the manager's first 20 s to this file")
	flag.StringVar(&c.apiserverProfile, "apiserver-cpuprofile", "",
		"write a CPU profile of the kube-apiserver during the manager's first 20 s to this file")
	flag.StringVar(&c.heapProfile, "heapprofile", "", "write a heap profile of the manager, once all sessions are Ready")
	phases := flag.String("phases", "floor,issue,refresh,restart", "phases to run, comma-separated (issue always "+
		"runs): floor, issue, refresh (forced), template (a secretTemplate label added to every session: no call, one "+
		"Secret write each), natural (wait for every token's own refresh time; use -ttl 300), restart")
	scaling := flag.String("scaling", "", "instead of the phases, the floor and the issue for each N in this "+
		"comma-separated list (e.g. 1000,3000,10000,30000), each on fresh control planes, as one table")
	flag.Parse()
	c.phases = map[string]bool{}
	for p := range strings.SplitSeq(*phases, ",") {
		c.phases[p] = true
	}
	if *scaling != "" {
		for f := range strings.SplitSeq(*scaling, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 {
				fmt.Fprintf(os.Stderr, "bench: -scaling: %q is not a number of sessions\n", f)
				os.Exit(2)
			}
			c.scaling = append(c.scaling, n)
		}
	}
	if c.chaos > 0 {
		c.soak = c.chaos
	}
	if c.twoTenants > 0 {
		c.keys = issuerKey
	}
	if c.hung > 0 {
		c.soak = c.hung
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	// Ctrl-C ends the run through ctx, so the deferred clean-up still stops the manager (its own process group).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctrllog.SetLogger(logr.Discard()) // the harness's own caches and clients are not what is measured
	switch {
	case c.scaling != nil:
		return scalingCurve(ctx, c, os.Stdout)
	case c.twoTenants > 0:
		return withHarness(ctx, c, func(h *harness) error { return h.twoTenants(ctx, os.Stdout) })
	case c.soak > 0:
		return withHarness(ctx, c, func(h *harness) error { return h.soak(ctx, os.Stdout) })
	}
	r, err := runPhases(ctx, c)
	if err != nil {
		return err
	}
	r.print(os.Stdout)
	return r.check()
}

// runPhases measures the floor on a control plane of its own, then the operator's phases on a fresh one.
func runPhases(ctx context.Context, c config) (report, error) {
	r := report{config: c}
	if c.phases["floor"] {
		var err error
		if r.floor, err = measureFloor(ctx, c); err != nil {
			return r, fmt.Errorf("write floor: %w", err)
		}
	}
	err := withHarness(ctx, c, func(h *harness) error { return h.phases(ctx, &r) })
	return r, err
}

func (h *harness) phases(ctx context.Context, r *report) error {
	c := h.c
	if err := h.createSessions(ctx); err != nil {
		return err
	}
	var err error
	if r.issue, err = h.measure(ctx, "issue", h.startManager); err != nil {
		return err
	}
	if c.heapProfile != "" {
		saveProfile(http.DefaultClient, h.pprof+"/debug/pprof/heap?gc=1", c.heapProfile)           // live objects only
		saveProfile(http.DefaultClient, h.pprof+"/debug/pprof/heap?debug=1", c.heapProfile+".txt") // MemStats
	}
	if c.phases["refresh"] {
		if r.refresh, err = h.measure(ctx, "refresh", h.forceRefreshAll); err != nil {
			return err
		}
	}
	if c.phases["template"] {
		if r.template, err = h.measure(ctx, "template", h.templateAll); err != nil {
			return err
		}
	}
	if c.phases["natural"] {
		if r.natural, err = h.measureNatural(ctx); err != nil {
			return err
		}
	}
	r.rss = processRSS(h.mgr.Pid())
	if c.phases["restart"] {
		if r.restart, err = h.restart(ctx); err != nil {
			return err
		}
	}
	if c.unrelated > 0 {
		if r.unrelated, err = h.unrelatedSecrets(ctx); err != nil {
			return err
		}
	}
	if c.hostile > 0 {
		if r.hostile, err = h.hostileObjects(ctx); err != nil {
			return err
		}
	}
	return nil
}

// withHarness runs fn on a fresh control plane and simulator, and stops them after.
func withHarness(ctx context.Context, c config, fn func(*harness) error) error {
	env, err := testenv.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	h, err := newHarness(ctx, env, c)
	if err != nil {
		return err
	}
	defer h.close()
	return fn(h)
}

// measureFloor runs the write floor on a fresh control plane of its own, as the operator's phases then get one:
// neither inherits the other's etcd history and apiserver caches.
func measureFloor(ctx context.Context, c config) (floor time.Duration, err error) {
	err = withHarness(ctx, c, func(h *harness) error {
		floor, err = h.writeFloor(ctx)
		return err
	})
	return floor, err
}
