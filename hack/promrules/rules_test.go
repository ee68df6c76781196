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

// Package promrules checks the operator's alerts with Prometheus' own rule parser and evaluates them with its
// PromQL engine on synthetic series, and checks that the Grafana dashboard's queries parse.
package promrules

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	"sigs.k8s.io/yaml"
)

const root = "../.."

// ruleGroups parses config/prometheus/burner_alerts.yaml (the chart's rules with its defaults; a test in
// internal/operator keeps them equal) with the parser Prometheus loads rule files with.
func ruleGroups(t *testing.T) *rulefmt.RuleGroups {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "config", "prometheus", "burner_alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	spec, err := yaml.JSONToYAML(obj.Spec)
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(spec, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.Default())
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return groups
}

func alert(t *testing.T, name string) rulefmt.Rule {
	t.Helper()
	for _, g := range ruleGroups(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == name {
				return r
			}
		}
	}
	t.Fatalf("no alert %s", name)
	return rulefmt.Rule{}
}

// TestEveryAlertHasARunbookInTheREADME: each runbook_url points to a heading of the README.
func TestEveryAlertHasARunbookInTheREADME(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(readme), -1) {
		anchors[githubAnchor(m[1])] = true
	}
	for _, g := range ruleGroups(t).Groups {
		for _, r := range g.Rules {
			url := r.Annotations["runbook_url"]
			_, anchor, ok := strings.Cut(url, "#")
			if !strings.HasPrefix(url, "https://github.com/burner-operator/burner-operator/blob/main/README.md#") ||
				!ok || !anchors[anchor] {
				t.Errorf("%s: runbook_url %q names no heading of the README", r.Alert, url)
			}
		}
	}
}

// githubAnchor is the id GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	heading = strings.ToLower(strings.TrimSpace(heading))
	var b strings.Builder
	for _, r := range heading {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// firing evaluates the alert every 30s from 0 to until over the series of load (promqltest's load syntax, time 0
// at the Unix epoch) and returns when it first fires.
func firing(t *testing.T, name, load string, until time.Duration) (time.Duration, bool) {
	t.Helper()
	r := alert(t, name)
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
	if err != nil {
		t.Fatal(err)
	}
	storage := promqltest.LoadedStorage(t, load)
	query := rules.EngineQueryFunc(promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery), storage)
	rule := rules.NewAlertingRule(name, expr, time.Duration(r.For), time.Duration(r.KeepFiringFor),
		labels.FromMap(r.Labels), labels.FromMap(r.Annotations), labels.EmptyLabels(), "", false, nil)
	for at := time.Duration(0); at <= until; at += 30 * time.Second {
		if _, err := rule.Eval(context.Background(), 0, time.Unix(0, 0).Add(at), query, nil, 0); err != nil {
			t.Fatal(err)
		}
		// Not rule.State(): that needs the evaluation timestamp a rule group sets.
		for _, a := range rule.ActiveAlerts() {
			if a.State == rules.StateFiring {
				return at, true
			}
		}
	}
	return 0, false
}

// TestExpiringWhileRefreshFailsFiresWithTimeLeft: a token whose refresh fails from its planned refresh time on
// (lifetime/3 before expiry) is alerted on while there is time to act, before BurnerTokenExpired.
func TestExpiringWhileRefreshFailsFiresWithTimeLeft(t *testing.T) {
	for _, tc := range []struct {
		lifetime, minLeft time.Duration
	}{
		{time.Hour, 13 * time.Minute},
		{20 * time.Minute, 5 * time.Minute},
		// The shortest default lifetime: refreshing starts 100 s before expiry, so there is less to act with.
		{5 * time.Minute, 30 * time.Second},
	} {
		t.Run(tc.lifetime.String(), func(t *testing.T) {
			exp := int(tc.lifetime.Seconds())
			steps := exp / 30
			failFrom := steps * 2 / 3
			load := fmt.Sprintf(`load 30s
  burner_token_expiration_timestamp_seconds{namespace="a",name="s"} %dx%d
  burner_session_refresh_failing{namespace="a",name="s",reason="UpstreamError"} _x%d 1x%d
`, exp, steps, failFrom, steps-failFrom)
			at, ok := firing(t, "BurnerTokenExpiringWhileRefreshFails", load, tc.lifetime)
			if !ok {
				t.Fatal("did not fire before the token expired")
			}
			left := tc.lifetime - at
			t.Logf("fires with %s left", left)
			if left < tc.minLeft {
				t.Fatalf("fired with %s left, want at least %s", left, tc.minLeft)
			}
		})
	}

	healthy := `load 30s
  burner_token_expiration_timestamp_seconds{namespace="a",name="s"} 3600x120
`
	if at, ok := firing(t, "BurnerTokenExpiringWhileRefreshFails", healthy, time.Hour); ok {
		t.Fatalf("fired at %s for a session whose refresh is not failing", at)
	}
}

func TestOperatorAlerts(t *testing.T) {
	for _, tc := range []struct {
		alert, load string
		firesAt     time.Duration // 0: must not fire within 30 minutes
	}{
		{"BurnerOperatorAbsent", "load 30s\n  up{job=\"other\"} 1x60\n", 10 * time.Minute},
		{"BurnerOperatorAbsent", "load 30s\n  burner_operator_build_info{version=\"v1\"} 1x60\n", 0},
		{"BurnerOperatorNoLeader", `load 30s
  leader_election_master_status{name="burner-operator.burner.aerosol.com",pod="a"} 0x60
  leader_election_master_status{name="burner-operator.burner.aerosol.com",pod="b"} 0x60
`, 5 * time.Minute},
		{"BurnerOperatorNoLeader", `load 30s
  leader_election_master_status{name="burner-operator.burner.aerosol.com",pod="a"} 0x60
  leader_election_master_status{name="burner-operator.burner.aerosol.com",pod="b"} 1x60
`, 0},
		{"BurnerSessionNotReady", `load 30s
  burner_session_ready_status{namespace="a",name="s",condition="True"} 0x60
  burner_session_ready_status{namespace="a",name="s",condition="False"} 1x60
`, 10 * time.Minute},
		{"BurnerSessionNotReady", `load 30s
  burner_session_ready_status{namespace="a",name="s",condition="True"} 1x60
  burner_session_ready_status{namespace="a",name="s",condition="False"} 0x60
`, 0},
		{"BurnerAPIRateLimited", `load 30s
  burner_session_refresh_failing{namespace="a",name="s",reason="RateLimited"} 1x60
  burner_session_refresh_failing{namespace="a",name="t",reason="RateLimited"} 1x60
`, 15 * time.Minute},
		{"BurnerAPIRateLimited", `load 30s
  burner_session_refresh_failing{namespace="a",name="s",reason="UpstreamError"} 1x60
`, 0},
		{"BurnerIssuerOverloaded", `load 30s
  burner_issuer_demand_calls_per_second{kind="ClusterBurnerIssuer",namespace="",name="platform"} 52x60
  burner_issuer_allowed_calls_per_second{kind="ClusterBurnerIssuer",namespace="",name="platform"} 50x60
`, 10 * time.Minute},
		{"BurnerIssuerOverloaded", `load 30s
  burner_issuer_demand_calls_per_second{kind="ClusterBurnerIssuer",namespace="",name="platform"} 48x60
  burner_issuer_allowed_calls_per_second{kind="ClusterBurnerIssuer",namespace="",name="platform"} 50x60
`, 0},
		{"BurnerAPICircuitOpen", `load 30s
  burner_api_upstream_circuit_open{pod="a",upstream="api.example.com:443"} 1x60
  burner_api_upstream_circuit_open{pod="b",upstream="api.example.com:443"} 0x60
`, 5 * time.Minute},
		// A handover: the old leader's pod goes away, the new leader's circuit opens on its first calls, and the
		// alert does not start its 5 minutes again.
		{"BurnerAPICircuitOpen", `load 30s
  burner_api_upstream_circuit_open{pod="a",upstream="api.example.com:443"} 1x6 stale
  burner_api_upstream_circuit_open{pod="b",upstream="api.example.com:443"} _x7 1x53
`, 5 * time.Minute},
		// Open for 4 minutes, then a probe is answered.
		{"BurnerAPICircuitOpen", `load 30s
  burner_api_upstream_circuit_open{pod="a",upstream="api.example.com:443"} 1x8 0x52
`, 0},
		{"BurnerAPIBulkheadFull", `load 30s
  burner_api_upstream_refused_total{upstream="api.example.com:443",reason="in_flight_limit"} 0+20x60
  burner_api_upstream_refused_total{upstream="api.example.com:443",reason="circuit_open"} 0x60
`, 10*time.Minute + 30*time.Second},
		// Refusals for 4 minutes, then the host keeps up.
		{"BurnerAPIBulkheadFull", `load 30s
  burner_api_upstream_refused_total{upstream="api.example.com:443",reason="in_flight_limit"} 0+20x8 160x52
`, 0},
		{"BurnerAPIBulkheadFull", `load 30s
  burner_api_upstream_refused_total{upstream="api.example.com:443",reason="circuit_open"} 0+20x60
  burner_api_upstream_refused_total{upstream="api.example.com:443",reason="in_flight_limit"} 0x60
`, 0},
		{"BurnerTokenExpired", `load 30s
  burner_token_expiration_timestamp_seconds{namespace="a",name="s"} 300x60
`, 6*time.Minute + 30*time.Second},
	} {
		at, ok := firing(t, tc.alert, tc.load, 30*time.Minute)
		switch {
		case tc.firesAt == 0 && ok:
			t.Errorf("%s fired at %s on:\n%s", tc.alert, at, tc.load)
		case tc.firesAt != 0 && (!ok || at != tc.firesAt):
			t.Errorf("%s: fired %v at %s, want at %s, on:\n%s", tc.alert, ok, at, tc.firesAt, tc.load)
		}
	}
}

// TestDashboardQueriesParse: every query of the Grafana dashboard is valid PromQL.
func TestDashboardQueriesParse(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "charts", "burner-operator", "files", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	n := 0
	for _, panel := range dash.Panels {
		for _, target := range panel.Targets {
			n++
			if _, err := p.ParseExpr(strings.ReplaceAll(target.Expr, "$namespace", ".*")); err != nil {
				t.Errorf("panel %q: %v", panel.Title, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no queries in the dashboard")
	}
}
