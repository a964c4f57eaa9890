// Package mail is mail_sink: a finding as a plain-text email sent over SMTP, with the
// server, credentials and addresses in an apprise-style mailto:// or mailtos:// URL.
package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// Type is the sinksConfig key.
const Type = "mail_sink"

type params struct {
	Mailto     string `param:"mailto" required:"true" doc:"mailto://user:pass@host:port?from=a@b&to=c@d (mailtos:// for TLS)"`
	WithHeader bool   `param:"with_header" default:"true" doc:"put the cluster and severity above the text"`
	UseSES     bool   `param:"use_ses" doc:"Amazon SES is not supported locally"`
}

// Sink sends mail.
type Sink struct {
	name    string
	addr    string // host:port
	host    string
	tls     bool // mailtos://: implicit TLS on 465, STARTTLS required otherwise
	user    string
	pass    string
	from    string
	to      []string
	header  bool
	cluster string
	tlsConf *tls.Config
}

// New builds a mail sink from its sinksConfig entry.
func New(c sinks.Config, opts sinks.Options) (sinks.Sink, error) {
	var p params
	name, err := sinks.DecodeNamed(c, &p)
	if err != nil {
		return nil, err
	}
	if p.UseSES {
		return nil, fmt.Errorf("sink %s: use_ses is not supported by the local runner; use an SMTP mailto:// URL", name)
	}
	raw := opts.BaseURL(name, p.Mailto)
	u, err := url.Parse(raw)
	// Never echo the URL: it holds the password.
	if err != nil || (u.Scheme != "mailto" && u.Scheme != "mailtos") || u.Hostname() == "" {
		return nil, fmt.Errorf("sink %s: mailto must look like mailto://user:pass@host:port?to=addr (or mailtos:// for TLS)", name)
	}
	s := &Sink{name: name, host: u.Hostname(), tls: u.Scheme == "mailtos", header: p.WithHeader, cluster: opts.ClusterName}
	port := u.Port()
	if port == "" {
		port = "25"
		if s.tls {
			port = "465"
		}
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	q := u.Query()
	s.from = q.Get("from")
	if s.from == "" {
		if strings.Contains(s.user, "@") {
			s.from = s.user
		} else if s.user != "" {
			s.from = s.user + "@" + s.host
		}
	}
	for _, t := range strings.FieldsFunc(q.Get("to"), func(r rune) bool { return r == ',' || r == ' ' }) {
		s.to = append(s.to, t)
	}
	if len(s.to) == 0 && s.from != "" {
		s.to = []string{s.from} // apprise mails the sender when no recipient is given
	}
	if s.from == "" || len(s.to) == 0 {
		return nil, fmt.Errorf("sink %s: mailto needs a sender and a recipient: add ?from=you@example.com&to=team@example.com", name)
	}
	s.tlsConf = &tls.Config{ServerName: s.host}
	return s, nil
}

func (s *Sink) Name() string { return s.name }
func (s *Sink) Type() string { return Type }

// SetTLSConfig replaces the TLS config (tests trust their own certificate with it).
func (s *Sink) SetTLSConfig(c *tls.Config) { s.tlsConf = c }

// Message is the RFC 5322 message for a finding.
func (s *Sink) Message(f *engine.Finding) []byte {
	var b strings.Builder
	subject := strings.NewReplacer("\r", " ", "\n", " ").Replace(f.Title)
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n",
		s.from, strings.Join(s.to, ", "), subject, time.Now().UTC().Format(time.RFC1123Z))
	var body []string
	if s.header {
		body = append(body, fmt.Sprintf("Severity: %s  Cluster: %s", f.Severity, s.cluster))
	}
	if f.Description != "" {
		body = append(body, f.Description)
	}
	if t := sinks.FindingText(f); t != "" {
		body = append(body, t)
	}
	text := strings.Join(body, "\n\n")
	// SMTP needs CRLF line ends and dot-stuffing is done by net/smtp's data writer.
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}

// Send delivers over SMTP. Connection problems and 4xx replies are retried; 5xx
// replies (bad address, refused auth) are not.
func (s *Sink) Send(ctx context.Context, f *engine.Finding) (bool, error) {
	d := net.Dialer{Timeout: 30 * time.Second}
	var conn net.Conn
	var err error
	implicit := s.tls && strings.HasSuffix(s.addr, ":465")
	if implicit {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: s.tlsConf}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return true, fmt.Errorf("mail %s: connecting to %s: %v", s.name, s.addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return true, fmt.Errorf("mail %s: %v", s.name, err)
	}
	defer c.Close()
	if !implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConf); err != nil {
				return true, fmt.Errorf("mail %s: STARTTLS: %v", s.name, err)
			}
		} else if s.tls {
			return false, fmt.Errorf("mail %s: mailtos:// asks for TLS but %s does not offer STARTTLS; use port 465 or mailto://", s.name, s.addr)
		}
	}
	if s.user != "" {
		if err := c.Auth(smtp.PlainAuth("", s.user, s.pass, s.host)); err != nil {
			return retryable(err), fmt.Errorf("mail %s: login as %s: %v", s.name, s.user, err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return retryable(err), fmt.Errorf("mail %s: MAIL FROM: %v", s.name, err)
	}
	for _, to := range s.to {
		if err := c.Rcpt(to); err != nil {
			return retryable(err), fmt.Errorf("mail %s: RCPT TO %s: %v", s.name, to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return retryable(err), fmt.Errorf("mail %s: DATA: %v", s.name, err)
	}
	if _, err := w.Write(s.Message(f)); err != nil {
		return true, fmt.Errorf("mail %s: writing message: %v", s.name, err)
	}
	if err := w.Close(); err != nil {
		return retryable(err), fmt.Errorf("mail %s: message refused: %v", s.name, err)
	}
	return false, c.Quit()
}

// retryable says whether an SMTP error is transient: 4xx replies and I/O errors.
func retryable(err error) bool {
	msg := err.Error()
	return !(len(msg) >= 3 && msg[0] == '5' && msg[1] >= '0' && msg[1] <= '9')
}
