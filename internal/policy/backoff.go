package policy

import (
	"time"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// Retry says how a failure is retried.
type Retry int

const (
	// RetryOnChange: the same attempt cannot succeed; wait until the spec, the force-refresh value or the API key
	// Secret changes (the watches bring the session back then).
	RetryOnChange Retry = iota
	// RetryWithBackoff: retry after an exponential backoff, recorded in status so a restart does not retry early.
	RetryWithBackoff
	// RetryAfterServer: the API rate-limited the key; retry after its Retry-After, or the backoff if it gave none.
	// The per-key limiter holds every session of the key back until then, so the status record holds back nothing.
	RetryAfterServer
)

// retries is the one table from failure reason to how it is retried; reasons not in it back off.
var retries = map[string]Retry{
	burnerv1alpha1.ReasonInvalidSpec:          RetryOnChange,
	burnerv1alpha1.ReasonInvalidRequest:       RetryOnChange,
	burnerv1alpha1.ReasonInvalidAPIKey:        RetryOnChange,
	burnerv1alpha1.ReasonAPIKeyMissing:        RetryOnChange,
	burnerv1alpha1.ReasonAPIKeySecretNotFound: RetryOnChange,
	burnerv1alpha1.ReasonSecretNotOwned:       RetryOnChange,
	burnerv1alpha1.ReasonRateLimited:          RetryAfterServer,
}

// RetryOf returns how a failure with this reason is retried.
func RetryOf(reason string) Retry {
	if r, ok := retries[reason]; ok {
		return r
	}
	return RetryWithBackoff
}

// RetryDelay is how long after the failedAttempts-th consecutive failure with this reason to try again, given the
// server's Retry-After if any; 0 means not on a timer.
func RetryDelay(reason string, failedAttempts int32, retryAfter time.Duration, seed string) time.Duration {
	switch RetryOf(reason) {
	case RetryOnChange:
		return 0
	case RetryAfterServer:
		if retryAfter > 0 {
			return retryAfter
		}
	}
	return Backoff(failedAttempts, seed)
}

// Held says whether the failure recorded in st still holds back an attempt whose inputs have this fingerprint, and
// for how long (0 while held: until something changes). A new fingerprint (spec, force-refresh value or key) is
// never held.
func Held(st burnerv1alpha1.BurnerSessionStatus, fingerprint, seed string, now time.Time) (time.Duration, bool) {
	if st.FailedAttempts == 0 || st.LastFailureTime == nil || st.LastFailureInputs != fingerprint {
		return 0, false
	}
	switch RetryOf(st.LastFailureReason) {
	case RetryOnChange:
		return 0, true
	case RetryAfterServer:
		return 0, false
	}
	if left := st.LastFailureTime.Add(Backoff(st.FailedAttempts, seed)).Sub(now); left > 0 {
		return left, true
	}
	return 0, false
}

// Backoff after consecutive failures: 10s doubling to a 5 minute cap, plus 0 to 20% deterministic jitter so that
// sessions failing together do not retry together.
const (
	backoffBase = 10 * time.Second
	backoffCap  = 5 * time.Minute
)

// Backoff is how long to wait after the failedAttempts-th consecutive failure before trying again.
func Backoff(failedAttempts int32, seed string) time.Duration {
	if failedAttempts <= 0 {
		return 0
	}
	d := backoffCap
	if failedAttempts < 16 {
		d = min(backoffBase<<(failedAttempts-1), backoffCap)
	}
	return d + time.Duration(fraction(seed, int64(failedAttempts))*float64(d)/5)
}
