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

package metrics

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

const wallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"

// TestStandbyExportsNoSessionSeries: only the elected leader exports per-session series (a standby's cache holds
// the same sessions; its series would double every alert).
func TestStandbyExportsNoSessionSeries(t *testing.T) {
	standby := &SessionCollector{}
	standby.Use(env.Client, make(chan struct{}))
	if n := testutil.CollectAndCount(standby); n != 0 {
		t.Fatalf("a standby exports %d per-session series", n)
	}
}

// TestReadyStatusAndNextRefreshSeries: like cert-manager's ready_status, each session has one series per condition
// status with 1 on the current one; the next refresh time and the failure's reason come from status.
func TestReadyStatusAndNextRefreshSeries(t *testing.T) {
	ns := env.Namespace(t)
	refreshAt := metav1.NewTime(time.Unix(1_900_000_000, 0))
	for name, st := range map[string]burnerv1alpha1.BurnerSessionStatus{
		"ok": {RefreshAt: &refreshAt, Conditions: []metav1.Condition{{Type: burnerv1alpha1.ConditionReady,
			Status: metav1.ConditionTrue, Reason: burnerv1alpha1.ReasonTokenValid, LastTransitionTime: refreshAt}}},
		"limited": {Conditions: []metav1.Condition{{Type: burnerv1alpha1.ConditionSynced,
			Status: metav1.ConditionFalse, Reason: burnerv1alpha1.ReasonRateLimited, LastTransitionTime: refreshAt}}},
	} {
		bs := &burnerv1alpha1.BurnerSession{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: burnerv1alpha1.BurnerSessionSpec{WalletAddress: wallet,
				APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: "key"}},
		}
		if err := env.Client.Create(t.Context(), bs); err != nil {
			t.Fatal(err)
		}
		bs.Status = st
		if err := env.Client.Status().Update(t.Context(), bs); err != nil {
			t.Fatal(err)
		}
	}
	c := &SessionCollector{}
	elected := make(chan struct{})
	close(elected)
	c.Use(client.NewNamespacedClient(env.Client, ns), elected)

	want := fmt.Sprintf(`
# HELP burner_session_ready_status The session's Ready condition: 1 for the series whose condition label is the current status, 0 for the others.
# TYPE burner_session_ready_status gauge
burner_session_ready_status{condition="False",name="limited",namespace="%[1]s"} 0
burner_session_ready_status{condition="True",name="limited",namespace="%[1]s"} 0
burner_session_ready_status{condition="Unknown",name="limited",namespace="%[1]s"} 1
burner_session_ready_status{condition="False",name="ok",namespace="%[1]s"} 0
burner_session_ready_status{condition="True",name="ok",namespace="%[1]s"} 1
burner_session_ready_status{condition="Unknown",name="ok",namespace="%[1]s"} 0
# HELP burner_session_next_refresh_timestamp_seconds Unix time at which the operator plans to replace the session's token (status.refreshAt).
# TYPE burner_session_next_refresh_timestamp_seconds gauge
burner_session_next_refresh_timestamp_seconds{name="ok",namespace="%[1]s"} 1.9e+09
# HELP burner_session_refresh_failing 1 while the session's last attempt to issue or refresh its token failed, with the failure's reason; absent otherwise.
# TYPE burner_session_refresh_failing gauge
burner_session_refresh_failing{name="limited",namespace="%[1]s",reason="RateLimited"} 1
`, ns)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "burner_session_ready_status",
		"burner_session_next_refresh_timestamp_seconds", "burner_session_refresh_failing"); err != nil {
		t.Fatal(err)
	}
}

// TestBuildInfo: one series, whichever replica is the leader, naming the build.
func TestBuildInfo(t *testing.T) {
	if err := testutil.CollectAndCompare(buildInfo(), strings.NewReader(fmt.Sprintf(`
# HELP burner_operator_build_info Always 1; the labels say which build of the manager runs.
# TYPE burner_operator_build_info gauge
burner_operator_build_info{goversion=%q,revision="unknown",version="(devel)"} 1
`, runtime.Version()))); err != nil {
		t.Fatal(err)
	}
}
