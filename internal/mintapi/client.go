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

package mintapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"

	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/failure"
)

// ClientConfig says where the mint endpoint is and how to verify it.
type ClientConfig struct {
	// URL is the manager's endpoint base, https only (e.g. https://burner-operator-mint.burner-operator-system.svc).
	URL string
	// CAFile is the PEM bundle the server's certificate must chain to. It is read again whenever it changes on disk
	// (a mounted ConfigMap updated after a CA rotation), so a rotation needs no restart.
	CAFile string
	// ServerName, if set, is the name the certificate must carry instead of URL's host (a node that reaches the
	// manager by IP address).
	ServerName string
	// Timeout bounds one call; the default is 30 s, under the kubelet's own NodePublishVolume deadline.
	Timeout time.Duration
}

// DefaultTimeout bounds one call when ClientConfig.Timeout is zero: the manager's API call (10 s) and a wait for the
// per-key limiter fit in it.
const DefaultTimeout = 30 * time.Second

// maxAnswerBytes bounds what is read of an answer: a token and its expiry, or a reason and a short message.
const maxAnswerBytes = 64 << 10

// Client calls the mint endpoint on behalf of pods. It is safe for concurrent use.
type Client struct {
	cfg      ClientConfig
	endpoint string

	mu   sync.Mutex
	ca   caVersion
	http *http.Client
}

// caVersion identifies the CA file's content cheaply, to notice a change.
type caVersion struct {
	modTime time.Time
	size    int64
}

// NewClient checks cfg and reads the CA bundle once, so a wrong flag fails at start rather than at the first mount.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("mint endpoint URL: %w", err)
	case u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("mint endpoint URL must be https://HOST[:PORT], got %q", cfg.URL)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("mint endpoint URL must not contain userinfo, a query or a fragment")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	c := &Client{cfg: cfg, endpoint: strings.TrimSuffix(u.String(), "/") + Path}
	if _, err := c.httpClient(); err != nil {
		return nil, err
	}
	return c, nil
}

// Mint asks for a token for req, presenting podToken (the pod's ServiceAccount token for the manager's audience). A
// refusal, or an endpoint that cannot be asked, is a *failure.Error; the token is never part of an error.
func (c *Client) Mint(ctx context.Context, req Request, podToken string) (Token, error) {
	hc, err := c.httpClient()
	if err != nil {
		return Token{}, unavailable(err.Error())
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Token{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return Token{}, err
	}
	httpReq.Header.Set("Authorization", "Bearer "+podToken)
	httpReq.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(httpReq)
	if err != nil {
		return Token{}, unavailable(fmt.Sprintf("the manager's mint endpoint did not answer: %v", err))
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return Token{}, unavailable(fmt.Sprintf("reading the mint endpoint's answer: %v", err))
	}
	return parseAnswer(resp.StatusCode, data)
}

// reasonPattern is the shape of a condition reason; anything else in an answer is not copied into a message.
var reasonPattern = regexp.MustCompile(`^[A-Z][A-Za-z]{0,63}$`)

func parseAnswer(status int, data []byte) (Token, error) {
	if status == http.StatusOK {
		var t Token
		if err := json.Unmarshal(data, &t); err != nil || t.Value == "" || t.ExpiresAt.IsZero() {
			return Token{}, unavailable("the mint endpoint answered 200 without a token and its expiry")
		}
		return t, nil
	}
	var a FailureAnswer
	if err := json.Unmarshal(data, &a); err != nil || !reasonPattern.MatchString(a.Reason) {
		return Token{}, unavailable(fmt.Sprintf("the mint endpoint answered HTTP %d without a reason", status))
	}
	return Token{}, a.failure()
}

func unavailable(message string) *failure.Error {
	return &failure.Error{Reason: burnerv1alpha1.ReasonMintEndpointUnavailable, Message: burnerapi.Truncate(message)}
}

// httpClient returns the client for the CA file's current content, building a new one when the file changed.
func (c *Client) httpClient() (*http.Client, error) {
	fi, err := os.Stat(c.cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("reading the mint endpoint's CA bundle: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := caVersion{modTime: fi.ModTime(), size: fi.Size()}
	if c.http != nil && v == c.ca {
		return c.http, nil
	}
	pem, err := os.ReadFile(c.cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("reading the mint endpoint's CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the mint endpoint's CA bundle %s holds no PEM certificate", c.cfg.CAFile)
	}
	if c.http != nil {
		c.http.CloseIdleConnections()
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil // the manager is in-cluster: a node's HTTPS_PROXY must not see pod tokens
	transport.TLSClientConfig = &tls.Config{RootCAs: pool, ServerName: c.cfg.ServerName, MinVersion: tls.VersionTLS12}
	c.http = &http.Client{
		Transport: transport,
		// A redirect would resend the pod's token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c.ca = v
	return c.http, nil
}
