package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"golang.org/x/time/rate"
	"k8s.io/client-go/tools/clientcmd"
)

// A laptop reaches its cluster's API server over a network link, not loopback; on the
// sandbox everything shares one machine, so push time there is mostly CPU. -link puts
// a bandwidth limit between both tools and kube-apiserver: a TCP proxy on loopback
// that forwards bytes (TLS passes through untouched) at most at the given rate in each
// direction, shared by every connection, as one link is.

// parseRate reads "100Mbit", "20MB" (per second) or "0" (no limit) into bytes/s.
func parseRate(s string) (int, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{{"Gbit", 1e9 / 8}, {"Mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"MB", 1e6}, {"kB", 1e3}}
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			v, err := strconv.ParseFloat(strings.TrimSuffix(s, u.suffix), 64)
			if err != nil || v <= 0 {
				break
			}
			return int(v * u.mult), nil
		}
	}
	return 0, fmt.Errorf("-link %q: want a rate such as 100Mbit or 20MB", s)
}

// throttledKubeconfig starts the proxy and writes a copy of kubeconfig whose server is
// the proxy. The proxy stops with ctx.
func throttledKubeconfig(ctx context.Context, kubeconfig, dir string, bytesPerSec int) (string, error) {
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	var target string
	for _, c := range cfg.Clusters {
		u, err := url.Parse(c.Server)
		if err != nil {
			return "", err
		}
		target = u.Host
		u.Host = ln.Addr().String()
		c.Server = u.String()
	}
	// A burst of 64 KiB keeps the limit smooth at the scale of SPDY frames.
	up := rate.NewLimiter(rate.Limit(bytesPerSec), 64<<10)
	down := rate.NewLimiter(rate.Limit(bytesPerSec), 64<<10)
	go func() { <-ctx.Done(); ln.Close() }()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go proxy(ctx, c, target, up, down)
		}
	}()
	out := dir + "/kubeconfig-link"
	if err := clientcmd.WriteToFile(*cfg, out); err != nil {
		return "", err
	}
	return out, os.Chmod(out, 0o600)
}

func proxy(ctx context.Context, c net.Conn, target string, up, down *rate.Limiter) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	done := make(chan struct{}, 2)
	go func() { copyLimited(ctx, s, c, up); s.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { copyLimited(ctx, c, s, down); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}

func copyLimited(ctx context.Context, dst io.Writer, src io.Reader, l *rate.Limiter) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if l.WaitN(ctx, n) != nil {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
