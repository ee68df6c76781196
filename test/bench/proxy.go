package main

import (
	"io"
	"net"
	"net/url"
	"sync"
	"time"
)

// proxy forwards TCP from a fixed loopback port to the apiserver; cut plays an outage of the manager's apiserver
// connection: every connection closed and nothing listening, then the same port again.
type proxy struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newProxy(host string) (*proxy, error) {
	u, err := url.Parse(host)
	if err != nil {
		return nil, err
	}
	p := &proxy{target: u.Host, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	if err := p.listen(); err != nil {
		return nil, err
	}
	p.addr = p.ln.Addr().String()
	return p, nil
}

func (p *proxy) url() string { return "https://" + p.addr }

func (p *proxy) listen() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
	return nil
}

func (p *proxy) forward(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	p.track(true, c, s)
	defer p.track(false, c, s)
	go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
	_, _ = io.Copy(c, s)
	_ = c.Close()
}

func (p *proxy) track(open bool, conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		if open {
			p.conns[c] = true
		} else {
			delete(p.conns, c)
		}
	}
}

// cut closes the listener and every connection for d, then listens again on the same port.
func (p *proxy) cut(d time.Duration) error {
	p.close()
	time.Sleep(d)
	return p.listen()
}

func (p *proxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.ln.Close()
	for c := range p.conns {
		_ = c.Close()
	}
}
