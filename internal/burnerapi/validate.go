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
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Known session scopes (CONTRACT.md).
const (
	ScopeWalletRead         = "wallet:read"
	ScopeTransactionsBuild  = "transactions:build"
	ScopeTransactionsSubmit = "transactions:submit"
)

// AllScopes lists every known scope in the order the API documentation uses. It is what the API grants when a
// request names no scopes. Treat it as read-only.
var AllScopes = []string{ScopeWalletRead, ScopeTransactionsBuild, ScopeTransactionsSubmit}

// Limits on Request.TTLSeconds; 0 means "use the API default".
const (
	MaxTTLSeconds     = 3600
	DefaultTTLSeconds = 300
)

// Length bounds of a base58-encoded 32-byte Solana address.
const (
	minWalletAddressLen = 32
	maxWalletAddressLen = 44
	walletAddressBytes  = 32
)

// ValidateBaseURL parses raw as the API base URL. It must be https, or plain http for a loopback host only (a local
// simulator), so an API key never crosses a network in clear text. Userinfo, query and fragment are rejected because
// the sessions path is appended to it and credentials belong in the X-Api-Key header only.
func ValidateBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid base URL: %w", err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("base URL scheme must be https, got %q", u.Scheme)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return nil, errors.New("base URL must have a host, e.g. https://api.aerosol.com")
	case u.User != nil:
		return nil, errors.New("base URL must not contain userinfo; the API key goes in a Secret")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("base URL must not contain a query or fragment")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("plain http is only allowed for loopback hosts, got %q; use https", u.Hostname())
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ValidateWalletAddress checks that addr is a Solana address: base58 (Bitcoin alphabet) decoding to exactly 32 bytes.
func ValidateWalletAddress(addr string) error {
	if addr == "" {
		return errors.New("wallet address is empty")
	}
	if n := len(addr); n < minWalletAddressLen || n > maxWalletAddressLen {
		return fmt.Errorf("wallet address is %d characters long, want %d to %d",
			n, minWalletAddressLen, maxWalletAddressLen)
	}
	b, err := decodeBase58(addr)
	if err != nil {
		return fmt.Errorf("wallet address %w", err)
	}
	if len(b) != walletAddressBytes {
		return fmt.Errorf("wallet address decodes to %d bytes, want %d", len(b), walletAddressBytes)
	}
	return nil
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// decodeBase58 decodes s; each leading '1' is a leading zero byte. Errors name the offending character and its
// 1-based position, for messages a user can act on.
func decodeBase58(s string) ([]byte, error) {
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	var le []byte // the value's bytes, least significant first
	pos := 0
	for _, r := range s {
		pos++
		digit := strings.IndexRune(base58Alphabet, r)
		if digit < 0 {
			return nil, fmt.Errorf("contains invalid base58 character %q at position %d", r, pos)
		}
		carry := digit
		for i := range le {
			carry += int(le[i]) * 58
			le[i] = byte(carry)
			carry >>= 8
		}
		for ; carry > 0; carry >>= 8 {
			le = append(le, byte(carry))
		}
	}
	slices.Reverse(le)
	return append(make([]byte, zeros, zeros+len(le)), le...), nil
}
