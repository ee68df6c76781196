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

package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/mintapi"
)

// PodEvents records events.k8s.io/v1 Warning events on pods through one authenticated HTTP client. client-go's
// event broadcaster would link its whole clientset, every API group of a cluster, into the node plugin: twice the
// binary and 12 MiB more memory on every node, for one kind of write.
type PodEvents struct {
	http       *http.Client
	host       *url.URL
	controller string
	instance   string
	queue      chan *eventsv1.Event
	clock      clock.PassiveClock
	log        logr.Logger
}

// queueSize bounds the events waiting to be sent; past it an event is dropped (logged), never a refresh held up.
const queueSize = 256

// NewPodEvents returns a recorder for the apiserver of cfg, reporting as controller from instance (the node).
func NewPodEvents(cfg *rest.Config, controller, instance string, log logr.Logger) (*PodEvents, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	host, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, err
	}
	return &PodEvents{http: hc, host: host, controller: controller, instance: instance,
		queue: make(chan *eventsv1.Event, queueSize), clock: clock.RealClock{}, log: log}, nil
}

// Warn queues a Warning event about pod; note must carry no secret.
func (p *PodEvents) Warn(pod mintapi.PodRef, reason, action, note string) {
	now := p.clock.Now()
	ev := &eventsv1.Event{
		TypeMeta: metav1.TypeMeta{APIVersion: eventsv1.SchemeGroupVersion.String(), Kind: "Event"},
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace,
			Name: fmt.Sprintf("%s.%x", pod.Name, now.UnixNano())},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: p.controller,
		ReportingInstance:   p.instance,
		Action:              action,
		Reason:              reason,
		Regarding: corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name,
			UID: types.UID(pod.UID)},
		Note: burnerapi.Truncate(note),
		Type: corev1.EventTypeWarning,
	}
	select {
	case p.queue <- ev:
	default:
		p.log.Info("Dropped a pod event: too many waiting", "pod", pod.String(), "reason", reason)
	}
}

// Run sends the queued events until ctx ends.
func (p *PodEvents) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-p.queue:
			if err := p.send(ctx, ev); err != nil {
				p.log.Info("Recording a pod event failed", "pod", ev.Regarding.Namespace+"/"+ev.Regarding.Name,
					"reason", ev.Reason, "error", err.Error())
			}
		}
	}
}

func (p *PodEvents) send(ctx context.Context, ev *eventsv1.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := p.host.JoinPath("apis", eventsv1.GroupName, eventsv1.SchemeGroupVersion.Version, "namespaces", ev.Namespace,
		"events")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", p.controller)
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the apiserver answered HTTP %d", resp.StatusCode)
	}
	return nil
}
