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

package burnerapi

import "testing"

// TestAllowedURLsMatching: scheme, host and port exact (default ports filled in), an entry's path a segment-wise
// prefix, loopback any port, and nothing by default but what the entries name.
func TestAllowedURLsMatching(t *testing.T) {
	a, err := ParseAllowedURLs(DefaultBaseURL, " gw.example.com:8443/burner/ ", "", AllowLoopback)
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]bool{
		"https://api.aerosol.com":                         true,
		"https://API.Aerosol.com:443/":                    true,
		"https://api.aerosol.com/any/path":                true,
		"http://api.aerosol.com":                          false, // not loopback: ValidateBaseURL refuses it anyway
		"https://api.aerosol.com:8443":                    false,
		"https://api.aerosol.com.evil.example":            false,
		"https://evil.example":                            false,
		"https://10.0.0.1":                                false,
		"https://gw.example.com:8443/burner":              true,
		"https://gw.example.com:8443/burner/v2":           true,
		"https://gw.example.com:8443/burnerx":             false,
		"https://gw.example.com:8443/":                    false,
		"https://gw.example.com/burner":                   false,
		"https://gw.example.com:8443/burner/../admin":     false,
		"https://gw.example.com:8443/burner/%2e%2e/admin": false,
		"http://127.0.0.1:8089":                           true,
		"https://localhost:1234/x":                        true,
		"http://[::1]:9":                                  true,
	} {
		u, err := ValidateBaseURL(raw)
		if err != nil {
			if want {
				t.Errorf("%s: %v", raw, err)
			}
			continue
		}
		if got := a.Allows(u); got != want {
			t.Errorf("Allows(%s) = %v, want %v", raw, got, want)
		}
	}
	u, _ := ValidateBaseURL("http://127.0.0.1:8089")
	if (AllowedURLs{}).Allows(u) {
		t.Error("the zero AllowedURLs allows a URL")
	}
	if _, err := ParseAllowedURLs("http://api.internal"); err == nil {
		t.Error("plain http to a non-loopback host accepted as an entry")
	}
}
