package mail

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// smtpServer is a minimal SMTP server (RFC 5321 dialogue, AUTH PLAIN, no TLS) that
// records the envelope and the message of one session.
type smtpServer struct {
	ln               net.Listener
	auth, from, data string
	rcpt             []string
	rejectRcpt       bool
	done             chan struct{}
}

func startSMTP(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, done: make(chan struct{})}
	t.Cleanup(func() { ln.Close() })
	go s.serve()
	return s
}

func (s *smtpServer) serve() {
	defer close(s.done)
	c, err := s.ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { c.Write([]byte(l + "\r\n")) }
	say("220 test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case cmd == "EHLO" || cmd == "HELO":
			say("250-test")
			say("250 AUTH PLAIN")
		case cmd == "AUTH":
			dec, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "AUTH PLAIN "))
			s.auth = string(dec)
			say("235 ok")
		case strings.HasPrefix(strings.ToUpper(line), "MAIL FROM:"):
			s.from = line[len("MAIL FROM:"):]
			say("250 ok")
		case strings.HasPrefix(strings.ToUpper(line), "RCPT TO:"):
			if s.rejectRcpt {
				say("550 no such user")
				continue
			}
			s.rcpt = append(s.rcpt, line[len("RCPT TO:"):])
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.data = b.String()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

func TestMailSendsOverSMTP(t *testing.T) {
	srv := startSMTP(t)
	mailto := "mailto://robot:pa55word@" + srv.ln.Addr().String() + "?from=robot@example.com&to=ops@example.com,dev@example.com"
	sk, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "m", "mailto": mailto}}, sinks.Options{ClusterName: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	f := &engine.Finding{Title: "Node not ready", Severity: engine.High}
	f.AddEnrichment("", engine.Markdown("kubelet stopped\n.\nend"))
	if _, err := sk.Send(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	if srv.auth != "\x00robot\x00pa55word" || srv.from != "<robot@example.com>" || strings.Join(srv.rcpt, ",") != "<ops@example.com>,<dev@example.com>" {
		t.Errorf("auth %q from %q rcpt %v", srv.auth, srv.from, srv.rcpt)
	}
	for _, want := range []string{"Subject: Node not ready\r\n", "Content-Type: text/plain; charset=UTF-8", "Severity: HIGH  Cluster: dev", "kubelet stopped\r\n..\r\nend"} {
		if !strings.Contains(srv.data, want) {
			t.Errorf("message lacks %q:\n%s", want, srv.data)
		}
	}
}

func TestMailRefusedRecipientNotRetriedNoSecret(t *testing.T) {
	srv := startSMTP(t)
	srv.rejectRcpt = true
	sk, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "m", "mailto": "mailto://robot:pa55word@" + srv.ln.Addr().String() + "?to=nobody@example.com&from=r@example.com"}}, sinks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	retry, err := sk.Send(context.Background(), &engine.Finding{Title: "x"})
	if err == nil || retry || strings.Contains(err.Error(), "pa55word") {
		t.Errorf("retry=%v err=%v", retry, err)
	}
}

func TestMailParamErrors(t *testing.T) {
	for _, c := range []struct{ mailto, want string }{
		{"smtp://u:s3cret@host", "mailto must look like"},
		{"mailto://host", "needs a sender and a recipient"},
	} {
		_, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "m", "mailto": c.mailto}}, sinks.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: err = %v", c.mailto, err)
		}
	}
}
