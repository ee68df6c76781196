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
	"fmt"
	"strings"
	"time"
)

// Fault is a way for the simulator to fail a request.
type Fault int

// The faults FailNext can inject.
const (
	FaultNone       Fault = iota
	Fault500              // 500 Internal Server Error
	Fault503              // 503 Service Unavailable
	FaultTimeout          // no answer until the client gives up (at most a minute)
	FaultMalformed        // 200 with a body that is not valid JSON
	FaultPastExpiry       // 200 with a real token whose expiresAt is already past
	FaultReset            // the connection is closed without an answer
	// FaultStretchedLifetime answers 200 with a real token valid for MaxTTLSeconds, whatever ttl was asked.
	FaultStretchedLifetime
	// FaultClockBehind answers as an API whose clock is ClockBehind behind (Date, iat, exp and expiresAt), as seen
	// by a cluster whose clock is ahead of the API's.
	FaultClockBehind
)

// ClockBehind is how far behind FaultClockBehind's clock is: more than a default token's lifetime, so a client
// judging expiresAt against its own clock rejects every token.
const ClockBehind = 10 * time.Minute

var faultNames = map[Fault]string{
	FaultNone: "none", Fault500: "500", Fault503: "503", FaultTimeout: "timeout", FaultMalformed: "malformed",
	FaultPastExpiry: "past-expiry", FaultReset: "reset", FaultStretchedLifetime: "stretched-lifetime",
	FaultClockBehind: "clock-behind",
}

func (f Fault) String() string {
	if n, ok := faultNames[f]; ok {
		return n
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// ParseFault reads a fault by its String name.
func ParseFault(s string) (Fault, error) {
	for f, n := range faultNames {
		if strings.EqualFold(n, s) {
			return f, nil
		}
	}
	return FaultNone, fmt.Errorf("unknown fault %q", s)
}
