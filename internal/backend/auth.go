package backend

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf16"

	"github.com/google/uuid"
)

// AuthSecretName is the Secret the runner mounts its RSA key pair from
// (/etc/robusta/auth/prv and pub).
const AuthSecretName = "robusta-auth-config-secret"

// KeyPair is the runner's RSA pair as PEM text, the way the Python CLI generates it:
// the private key PKCS #1 ("RSA PRIVATE KEY"), the public key SubjectPublicKeyInfo
// ("PUBLIC KEY"). The Secret's data keys prv and pub hold exactly these bytes.
type KeyPair struct {
	Private []byte
	Public  []byte
}

// GenerateKeyPair makes a new 2048-bit pair with exponent 65537.
func GenerateKeyPair() (KeyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate an RSA key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{
		Private: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		Public:  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
	}, nil
}

// ParseKeyPair checks Secret data as the runner reads it: prv a PEM private key (the
// runner's loader takes PKCS #1 and PKCS #8), pub a PEM public key, and the two of one
// pair. The error says which key is wrong, never its content.
func ParseKeyPair(data map[string][]byte) (KeyPair, error) {
	prv, pub := data["prv"], data["pub"]
	var missing []string
	if len(prv) == 0 {
		missing = append(missing, "prv")
	}
	if len(pub) == 0 {
		missing = append(missing, "pub")
	}
	if len(missing) > 0 {
		return KeyPair{}, fmt.Errorf("no %s key", strings.Join(missing, " or "))
	}
	priv, err := parsePrivate(prv)
	if err != nil {
		return KeyPair{}, fmt.Errorf("key prv: %w", err)
	}
	pb, _ := pem.Decode(pub)
	if pb == nil {
		return KeyPair{}, errors.New("key pub: not a PEM block (it must hold the PEM text itself, not base64 of it)")
	}
	pk, err := x509.ParsePKIXPublicKey(pb.Bytes)
	if err != nil {
		return KeyPair{}, fmt.Errorf("key pub: not a PUBLIC KEY: %w", err)
	}
	rpk, ok := pk.(*rsa.PublicKey)
	if !ok {
		return KeyPair{}, fmt.Errorf("key pub: a %T, not an RSA key", pk)
	}
	if !priv.PublicKey.Equal(rpk) {
		return KeyPair{}, errors.New("keys prv and pub are not of one pair")
	}
	return KeyPair{Private: prv, Public: pub}, nil
}

func parsePrivate(b []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("not a PEM block (it must hold the PEM text itself, not base64 of it)")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not an RSA private key (%s)", blk.Type)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an RSA key", k)
	}
	return rk, nil
}

// envRef is how a config value names a runner environment variable: {{ env.NAME }}.
var envRef = regexp.MustCompile(`^\{\{\s*env\.(\S+)\s*}}$`)

// SigningKeyEnv returns the variable name when the signing key is a reference to the
// runner's environment.
func SigningKeyEnv(v string) (string, bool) {
	m := envRef.FindStringSubmatch(v)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// UIToken is the pair of halves of a manual-action token: the server half goes to the
// platform, the client half to the user. The signing key is the XOR of the two
// encryption keys, so neither side alone can sign.
type UIToken struct {
	Server TokenDetails
	// ClientEncKey replaces Server.EncKey in what the user submits.
	ClientEncKey string
}

// NewUIToken splits signingKey (a UUID) into a random client key and the server key
// that XORs with it to signingKey.
func NewUIToken(signingKey, pub, accountID, userID, sessionToken string) (UIToken, error) {
	sk, err := uuid.Parse(signingKey)
	if err != nil {
		return UIToken{}, errors.New("the signing key is not a UUID")
	}
	client := uuid.New()
	var server uuid.UUID
	for i := range server {
		server[i] = sk[i] ^ client[i]
	}
	return UIToken{
		Server: TokenDetails{
			Pub: pub, AccountID: accountID, UserID: userID, SessionToken: sessionToken,
			EncKey: server.String(), KeyID: uuid.NewString(),
		},
		ClientEncKey: client.String(),
	}, nil
}

// ClientToken is what the user submits in the UI: base64 of the token's JSON without
// the session token and with the client key, in the Python CLI's JSON spelling (its
// key order, ", " and ": " separators, non-ASCII escaped), so both CLIs' tokens
// decode alike.
func (t UIToken) ClientToken() string {
	fields := [][2]string{
		{"pub", t.Server.Pub},
		{"account_id", t.Server.AccountID},
		{"user_id", t.Server.UserID},
		{"enc_key", t.ClientEncKey},
		{"key_id", t.Server.KeyID},
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		pyQuote(&b, f[0])
		b.WriteString(": ")
		pyQuote(&b, f[1])
	}
	b.WriteByte('}')
	return base64.StdEncoding.EncodeToString([]byte(b.String()))
}

// pyQuote writes s as Python's json.dumps does with its defaults (ensure_ascii).
func pyQuote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (r >= 0x7f && r <= 0xffff):
				if r == 0x7f {
					b.WriteRune(r)
					continue
				}
				fmt.Fprintf(b, `\u%04x`, r)
			case r > 0xffff:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// Mask shows the start of a secret and how long it is, for messages that must not
// print it.
func Mask(s string) string {
	if len(s) <= 8 {
		return fmt.Sprintf("*** (%d characters)", len(s))
	}
	return fmt.Sprintf("%s... (%d characters)", s[:4], len(s))
}
