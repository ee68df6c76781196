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

package burnersim

import (
	"encoding/json"
	"net/http"
	"time"
)

// AdminHandler serves the endpoints that steer a running simulator (for the binary; tests use the Go methods):
//
//	POST   /admin/keys          {"key": "..."}                add or re-enable a key
//	DELETE /admin/keys/{key}                                  revoke a key
//	POST   /admin/faults        {"fault": "503", "count": 3}  fail the next requests (count 0 clears); faults: 500,
//	                                                          503, timeout, malformed, past-expiry, reset,
//	                                                          stretched-lifetime, clock-behind
//	POST   /admin/latency       {"latency": "200ms"}          delay every response
//	POST   /admin/rate-limit    {"key": "...", "perSecond": 1, "burst": 1, "retryAfter": "5s"}
//	GET    /admin/stats                                       the call counters
//	POST   /admin/reset                                       zero the counters
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/keys", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Key string }
		if decode(w, r, &body) && body.Key != "" {
			s.AddKey(body.Key)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("DELETE /admin/keys/{key}", func(w http.ResponseWriter, r *http.Request) {
		s.RevokeKey(r.PathValue("key"))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /admin/faults", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Fault string
			Count int
		}
		if !decode(w, r, &body) {
			return
		}
		f, err := ParseFault(body.Fault)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.FailNext(body.Count, f)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /admin/latency", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Latency string }
		if d, ok := decodeDuration(w, r, &body, &body.Latency); ok {
			s.SetLatency(d)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /admin/rate-limit", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Key        string
			PerSecond  float64
			Burst      int
			RetryAfter string
		}
		if d, ok := decodeDuration(w, r, &body, &body.RetryAfter); ok {
			s.SetRateLimit(body.Key, body.PerSecond, body.Burst, d)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("GET /admin/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Calls())
	})
	mux.HandleFunc("POST /admin/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		http.Error(w, "invalid JSON: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// decodeDuration decodes v and parses *field as a duration ("" is 0).
func decodeDuration(w http.ResponseWriter, r *http.Request, v any, field *string) (time.Duration, bool) {
	if !decode(w, r, v) {
		return 0, false
	}
	if *field == "" {
		return 0, true
	}
	d, err := time.ParseDuration(*field)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return 0, false
	}
	return d, true
}
