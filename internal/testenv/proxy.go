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

package testenv

import (
	"io"
	"net"
	"net/url"
	"sync"
	"time"
)

// Proxy forwards TCP from a loopback port to the apiserver, so a test or the benchmark can play an outage of the
// manager's apiserver connection. Its listener stays open through an outage (no other process can take the port
// meanwhile): every connection open is closed, and every new one closed as soon as accepted.
type Proxy struct {
	target string
	ln     net.Listener
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

// NewProxy forwards to the apiserver at host (a rest.Config's Host).
func NewProxy(host string) (*Proxy, error) {
	u, err := url.Parse(host)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: u.Host, ln: ln, conns: map[net.Conn]bool{}}
	go p.serve()
	return p, nil
}

// URL is the proxy's address, for a rest.Config's Host.
func (p *Proxy) URL() string { return "https://" + p.ln.Addr().String() }

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(c) {
			_ = c.Close()
			continue
		}
		go p.forward(c)
	}
}

// track registers an open connection, unless the proxy is down; it reports whether it did.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.down {
		p.conns[c] = true
	}
	return !p.down
}

func (p *Proxy) forward(c net.Conn) {
	defer func() {
		_ = c.Close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
	_, _ = io.Copy(c, s)
	_ = s.Close()
}

// Cut drops every connection and refuses new ones for d.
func (p *Proxy) Cut(d time.Duration) {
	p.SetDown(true)
	time.Sleep(d)
	p.SetDown(false)
}

// SetDown starts an outage (every connection dropped, new ones refused) or ends it.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	for c := range p.conns {
		_ = c.Close() // forward then closes the apiserver side
	}
}

// Close stops the proxy.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.SetDown(true)
}
