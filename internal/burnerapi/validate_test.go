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
	"bytes"
	"strings"
	"testing"
)

func TestValidateBaseURL(t *testing.T) {
	tests := []struct {
		raw     string
		wantErr string // substring; "" means valid
	}{
		{raw: DefaultBaseURL},
		{raw: "https://api.example.com:8443/prefix/"},
		{raw: "http://127.0.0.1:8089"},
		{raw: "http://127.10.0.1"},
		{raw: "http://[::1]:8089"},
		{raw: "http://localhost:8089"},
		{raw: "http://LOCALHOST"},
		{raw: "http://api.aerosol.com", wantErr: "only allowed for loopback"},
		{raw: "http://10.0.0.1", wantErr: "only allowed for loopback"},
		{raw: "http://localhost.evil.com", wantErr: "only allowed for loopback"},
		{raw: "ftp://127.0.0.1", wantErr: "scheme must be https"},
		{raw: "api.aerosol.com", wantErr: "scheme must be https"},
		{raw: "", wantErr: "scheme must be https"},
		{raw: "https://", wantErr: "must have a host"},
		{raw: "https:opaque", wantErr: "must have a host"},
		{raw: "https://user:pass@api.aerosol.com", wantErr: "userinfo"},
		{raw: "https://api.aerosol.com?x=1", wantErr: "query or fragment"},
		{raw: "https://api.aerosol.com?", wantErr: "query or fragment"},
		{raw: "https://api.aerosol.com#frag", wantErr: "query or fragment"},
		{raw: "https://api.aerosol.com/%zz", wantErr: "invalid base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			u, err := ValidateBaseURL(tt.raw)
			if tt.wantErr == "" {
				if err != nil || u == nil {
					t.Fatalf("ValidateBaseURL(%q) = %v, %v; want a URL", tt.raw, u, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateBaseURL(%q) error = %v, want it to contain %q", tt.raw, err, tt.wantErr)
			}
		})
	}
}

func TestValidateWalletAddress(t *testing.T) {
	tests := []struct {
		name, addr string
		wantErr    string // exact message; "" means valid
	}{
		{name: "doc example", addr: testWallet},
		{name: "all zero bytes", addr: "11111111111111111111111111111111"},
		{name: "system program style", addr: encodeBase58(bytes.Repeat([]byte{0xff}, 32))},
		{name: "empty", addr: "", wantErr: "wallet address is empty"},
		{name: "too short", addr: "1111111111111111111111111111111",
			wantErr: "wallet address is 31 characters long, want 32 to 44"},
		{name: "too long", addr: strings.Repeat("2", 45),
			wantErr: "wallet address is 45 characters long, want 32 to 44"},
		{name: "zero", addr: "0Rpb" + testWallet[4:],
			wantErr: "wallet address contains invalid base58 character '0' at position 1"},
		{name: "capital O", addr: "DRpO" + testWallet[4:],
			wantErr: "wallet address contains invalid base58 character 'O' at position 4"},
		{name: "capital I", addr: testWallet[:43] + "I",
			wantErr: "wallet address contains invalid base58 character 'I' at position 44"},
		{name: "lower l", addr: "DRl" + testWallet[3:],
			wantErr: "wallet address contains invalid base58 character 'l' at position 3"},
		{name: "space", addr: " " + testWallet[1:],
			wantErr: "wallet address contains invalid base58 character ' ' at position 1"},
		{name: "non-ASCII", addr: "é" + testWallet[2:],
			wantErr: "wallet address contains invalid base58 character 'é' at position 1"},
		{name: "31 bytes", addr: encodeBase58(bytes.Repeat([]byte{0xff}, 31)),
			wantErr: "wallet address decodes to 31 bytes, want 32"},
		{name: "33 bytes", addr: strings.Repeat("z", 44),
			wantErr: "wallet address decodes to 33 bytes, want 32"},
		{name: "leading ones make 33 bytes", addr: strings.Repeat("1", 32) + "2",
			wantErr: "wallet address decodes to 33 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateWalletAddress(tt.addr)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ValidateWalletAddress(%q) = %v, want nil", tt.addr, err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Fatalf("ValidateWalletAddress(%q) = %v, want %q", tt.addr, err, tt.wantErr)
			}
		})
	}
}

func TestDecodeBase58RoundTrip(t *testing.T) {
	for _, b := range [][]byte{{}, {0}, {0, 0, 1}, {1, 2, 3}, bytes.Repeat([]byte{0xab}, 32)} {
		got, err := decodeBase58(encodeBase58(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("decodeBase58(encodeBase58(%x)) = %x, %v", b, got, err)
		}
	}
}

func TestRequestValidate(t *testing.T) {
	tests := []struct {
		name    string
		req     Request
		wantErr string
	}{
		{name: "minimal", req: Request{WalletAddress: testWallet}},
		{name: "full", req: Request{WalletAddress: testWallet, Scopes: AllScopes, TTLSeconds: MaxTTLSeconds}},
		{name: "bad wallet", req: Request{WalletAddress: "nope"}, wantErr: "wallet address is 4 characters long"},
		{name: "unknown scope", req: Request{WalletAddress: testWallet, Scopes: []string{"wallet:write"}},
			wantErr: `unknown scope "wallet:write"`},
		{name: "duplicate scope", req: Request{WalletAddress: testWallet, Scopes: []string{"wallet:read", "wallet:read"}},
			wantErr: `duplicate scope "wallet:read"`},
		{name: "negative ttl", req: Request{WalletAddress: testWallet, TTLSeconds: -1}, wantErr: "ttlSeconds -1 is out of range"},
		{name: "ttl too long", req: Request{WalletAddress: testWallet, TTLSeconds: 3601}, wantErr: "ttlSeconds 3601 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.validate()
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}
