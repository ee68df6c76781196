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

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
)

// AllowLoopback is the AllowedURLs entry that allows any loopback host (localhost, 127.0.0.0/8, ::1) on any port,
// over http or https: a simulator or a sidecar proxy in the manager's pod.
const AllowLoopback = "loopback"

// DefaultAllowedURLs are the entries of --allowed-api-urls by default: the real API and loopback.
var DefaultAllowedURLs = []string{DefaultBaseURL, AllowLoopback}

// AllowedURLs are the API base URLs the operator may send an API key to. The zero value allows none.
//
// An entry is AllowLoopback or a base URL: scheme://host[:port][/path] (a bare host means https://host). A URL
// matches it when its scheme, host (case-insensitive) and port (the scheme's default when absent) are the entry's
// exactly and, if the entry has a path, the URL's path is that path or below it, segment-wise (/burner allows
// /burner/v2, not /burnerx). A URL whose path has "." or ".." segments matches no entry with a path: the sessions
// path is joined to it, and the server could resolve them out of the prefix.
type AllowedURLs struct {
	entries  []allowedURL
	loopback bool
}

type allowedURL struct{ scheme, host, port, path string }

// ParseAllowedURLs parses entries (blank ones are skipped); each URL must pass ValidateBaseURL, so plain http is
// allowed for loopback hosts only.
func ParseAllowedURLs(entries ...string) (AllowedURLs, error) {
	var a AllowedURLs
	for _, e := range entries {
		switch e = strings.TrimSpace(e); {
		case e == "":
			continue
		case strings.EqualFold(e, AllowLoopback):
			a.loopback = true
			continue
		case !strings.Contains(e, "://"):
			e = "https://" + e
		}
		u, err := ValidateBaseURL(e)
		if err != nil {
			return AllowedURLs{}, fmt.Errorf("allowed API URL %q: %w", e, err)
		}
		a.entries = append(a.entries, allowedURL{scheme: u.Scheme, host: strings.ToLower(u.Hostname()),
			port: portOf(u), path: strings.TrimSuffix(path.Clean("/"+u.Path), "/")})
	}
	return a, nil
}

// Allows reports whether an API key may be sent to u, a URL that passed ValidateBaseURL.
func (a AllowedURLs) Allows(u *url.URL) bool {
	if a.loopback && isLoopback(u.Hostname()) {
		return true
	}
	p := path.Clean("/" + u.Path)
	canonical := !slices.ContainsFunc(strings.Split(u.Path, "/"), func(s string) bool { return s == "." || s == ".." })
	return slices.ContainsFunc(a.entries, func(e allowedURL) bool {
		return e.scheme == u.Scheme && e.host == strings.ToLower(u.Hostname()) && e.port == portOf(u) &&
			(e.path == "" || canonical && (p == e.path || strings.HasPrefix(p, e.path+"/")))
	})
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}
