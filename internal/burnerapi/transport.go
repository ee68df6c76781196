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
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/textproto"
	"os"
	"strings"
	"syscall"
)

// Messages for failed round trips. They are constants on purpose: the Go HTTP client's error texts can quote bytes
// the server sent (a malformed status line or header) or the proxy URL (which may carry credentials), so none of
// that text is ever copied into an Error.
const (
	msgCanceled      = "request canceled"
	msgTimeout       = "request timed out"
	msgDNS           = "DNS lookup of the API host failed"
	msgRefused       = "connection refused"
	msgReset         = "connection reset or closed by the server"
	msgTLS           = "TLS handshake failed"
	msgCertificate   = "TLS certificate not trusted or not valid for the host"
	msgProtocol      = "protocol error: malformed HTTP response"
	msgTooLarge      = "response too large"
	msgProxy         = "proxy connection failed"
	msgTransportMisc = "request failed"
)

// transportCategory maps a failed round trip (or body read) to one of the fixed messages above. Order matters: a
// proxy failure wraps a dial error, and a timeout can wrap almost anything.
func transportCategory(ctx context.Context, err error) string {
	var (
		opErr    *net.OpError
		dnsErr   *net.DNSError
		netErr   net.Error
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		certErr  *tls.CertificateVerificationError
		authErr  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invErr   x509.CertificateInvalidError
		protoErr textproto.ProtocolError
	)
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return msgCanceled
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return msgTimeout
	case errors.As(err, &opErr) && opErr.Op == "proxyconnect":
		return msgProxy
	case errors.As(err, &dnsErr):
		return msgDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return msgRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF):
		return msgReset
	case errors.As(err, &certErr), errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &invErr):
		return msgCertificate
	case errors.As(err, &recErr), errors.As(err, &alertErr):
		return msgTLS
	case errors.As(err, &protoErr):
		return msgProtocol
	}
	// net/http reports these with untyped errors. Their text is matched, never copied.
	switch s := err.Error(); {
	case strings.Contains(s, "response headers exceeded"):
		return msgTooLarge
	case strings.Contains(s, "malformed HTTP"), strings.Contains(s, "transport connection broken"),
		strings.Contains(s, "server gave HTTP response to HTTPS client"):
		return msgProtocol
	case strings.Contains(s, "proxy"):
		return msgProxy
	case strings.Contains(s, "tls: "), strings.Contains(s, "x509: "):
		return msgTLS
	}
	return msgTransportMisc
}
