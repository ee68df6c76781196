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
	"context"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/burner-operator/burner-operator/internal/mintapi"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// A pod event is accepted by a real apiserver (events.k8s.io/v1 validates every field) and says what happened.
func TestPodEventsRecordAWarning(t *testing.T) {
	ns := env.Namespace(t)
	p, err := NewPodEvents(env.Config, "burner-csi", "node-a", logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	go p.Run(t.Context())
	p.Warn(mintapi.PodRef{Namespace: ns, Name: "app-0", UID: "uid-1"}, "UpstreamError", "RefreshToken", "it failed")
	var list eventsv1.EventList
	for deadline := time.Now().Add(10 * time.Second); len(list.Items) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no event recorded")
		}
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
	}
	ev := list.Items[0]
	if ev.Type != "Warning" || ev.Reason != "UpstreamError" || ev.Action != "RefreshToken" || ev.Note != "it failed" ||
		ev.Regarding.Kind != "Pod" || ev.Regarding.Name != "app-0" || ev.Regarding.UID != "uid-1" ||
		ev.ReportingController != "burner-csi" || ev.ReportingInstance != "node-a" {
		t.Fatalf("event %+v", ev)
	}
}
