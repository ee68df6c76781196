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

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

func labelSelector() labels.Selector {
	return labels.SelectorFromSet(labels.Set{tokensecret.ManagedByLabel: tokensecret.ManagedByValue})
}

// requestCounts is apiserver_request_total by verb, resource, subresource and code.
type requestCounts map[[4]string]float64

var writeVerbs = []string{"POST", "PUT", "PATCH", "DELETE", "APPLY"}

// apiserverRequests reads the apiserver's own request counters: every request any client made, by verb and
// resource, so writes are counted where they land rather than estimated.
func (h *harness) apiserverRequests(ctx context.Context) (requestCounts, error) {
	raw, err := h.kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	families, err := parse(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	counts := requestCounts{}
	for _, m := range families["apiserver_request_total"].GetMetric() {
		l := m.GetLabel()
		counts[[4]string{label(l, "verb"), label(l, "resource"), label(l, "subresource"), label(l, "code")}] +=
			m.GetCounter().GetValue()
	}
	return counts, nil
}

func (c requestCounts) minus(before requestCounts) requestCounts {
	d := requestCounts{}
	for k, v := range c {
		d[k] = v - before[k]
	}
	return d
}

// String lists the non-zero counts, for the log; codes other than 200 and 201 are named.
func (c requestCounts) String() string {
	sums := map[string]float64{}
	for k, v := range c {
		name := fmt.Sprintf("%s %s/%s", k[0], k[1], k[2])
		if k[3] != "200" && k[3] != "201" {
			name += " " + k[3]
		}
		sums[name] += v
	}
	var parts []string
	for name, v := range sums {
		if v != 0 {
			parts = append(parts, fmt.Sprintf("%s=%.0f", name, v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// writes counts the write requests to resource/subresource, whatever their answer.
func (c requestCounts) writes(resource, subresource string) int {
	n := 0.0
	for k, v := range c {
		if slices.Contains(writeVerbs, k[0]) && k[1] == resource && k[2] == subresource {
			n += v
		}
	}
	return int(n)
}

// conflicts counts the requests answered 409: a create of an object that exists, an update of a stale one.
func (c requestCounts) conflicts() int {
	n := 0.0
	for k, v := range c {
		if k[3] == "409" {
			n += v
		}
	}
	return int(n)
}

func (c requestCounts) total() int {
	n := 0.0
	for _, v := range c {
		n += v
	}
	return int(n)
}

// learnedRate is the highest per-key rate the manager's adaptive limiter allows now (0: not reported).
func (h *harness) learnedRate() float64 {
	families, err := scrape(h.mgrMetrics)
	if err != nil {
		return 0
	}
	rate := 0.0
	for _, m := range families["burner_api_key_rate_limit"].GetMetric() {
		rate = max(rate, m.GetGauge().GetValue())
	}
	return rate
}

func scrape(url string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(url) //nolint:gosec // the manager's metrics endpoint on loopback
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return parse(resp.Body)
}

func parse(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}

func label(pairs []*dto.LabelPair, name string) string {
	for _, p := range pairs {
		if p.GetName() == name {
			return p.GetValue()
		}
	}
	return ""
}
