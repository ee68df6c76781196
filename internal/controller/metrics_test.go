package controller

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestSessionSeries: the per-session series come from the sessions' status at scrape time, and only from the
// elected leader (a standby's cache holds the same sessions; its series would double every alert).
func TestSessionSeries(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	if got, want := f.sessionSeries("pay")["burner_token_expiration_timestamp_seconds"],
		float64(f.session("pay").Status.ExpiresAt.Unix()); got != want {
		t.Fatalf("burner_token_expiration_timestamp_seconds = %v, want %v", got, want)
	}

	standby := &sessionCollector{}
	standby.use(env.Client, make(chan struct{}))
	if n := testutil.CollectAndCount(standby); n != 0 {
		t.Fatalf("a standby exports %d per-session series", n)
	}
}
