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

// Command burner-sim serves a simulator of the Burner API's session endpoint on a loopback address, for the demo
// and for trying the operator locally (make sim). Admin endpoints under /admin/ steer it; see burnersim.AdminHandler.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/burner-operator/burner-operator/internal/burnersim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8089", "address to serve on")
	keys := flag.String("api-keys", envOr("BURNER_SIM_API_KEYS", "ak_test_demo"), "comma-separated API keys to accept")
	latency := flag.Duration("latency", 0, "delay every response by this much")
	maxLifetime := flag.Duration("max-lifetime", 0, "grant at most this lifetime, whatever ttl is asked (0: no cap)")
	rateLimit := flag.Float64("rate-limit", 0, "requests per second allowed per key, beyond which 429 (0: no limit)")
	burst := flag.Int("rate-limit-burst", 1, "burst of the per-key rate limit (a token bucket of this size)")
	retryAfter := flag.Duration("rate-limit-retry-after", time.Second,
		"Retry-After sent with a 429, rounded down to whole seconds (0: no header)")
	faultName := flag.String("fault", "none", "answer requests with this fault: 500, 503, timeout, malformed, "+
		"past-expiry, reset, stretched-lifetime, clock-behind (the API's clock 10 minutes behind)")
	faultShare := flag.Float64("fault-share", 1, "share of requests --fault answers, 0 to 1")
	flag.Parse()

	accepted := strings.FieldsFunc(*keys, func(r rune) bool { return r == ',' || r == ' ' })
	if len(accepted) == 0 {
		fmt.Fprintln(os.Stderr, "burner-sim: --api-keys is empty")
		os.Exit(2)
	}
	sim := burnersim.New(burnersim.WithKeys(accepted...), burnersim.WithLatency(*latency),
		burnersim.WithMaxLifetime(*maxLifetime))
	for _, k := range accepted {
		sim.SetRateLimit(k, *rateLimit, *burst, *retryAfter)
	}
	fault, err := burnersim.ParseFault(*faultName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "burner-sim: --fault:", err)
		os.Exit(2)
	}
	if fault != burnersim.FaultNone {
		sim.FailRandomly(*faultShare, fault)
	}
	url, err := sim.Listen(*listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "burner-sim:", err)
		os.Exit(1)
	}
	fmt.Printf("burner-sim listening on %s (api keys: %d)\n", url, len(accepted))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sim.Close()
	fmt.Println("burner-sim stopped")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
