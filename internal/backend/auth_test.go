package backend

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestKeyPairEncodingAndChecks(t *testing.T) {
	kp, err := GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(kp.Private), "-----BEGIN RSA PRIVATE KEY-----\n") || !strings.HasPrefix(string(kp.Public), "-----BEGIN PUBLIC KEY-----\n") {
		t.Fatalf("not the Python CLI's PEM kinds:\n%s\n%s", kp.Private[:40], kp.Public[:40])
	}
	if _, err := ParseKeyPair(map[string][]byte{"prv": kp.Private, "pub": kp.Public}); err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateKeyPair()
	for name, tc := range map[string]struct {
		data map[string][]byte
		want string
	}{
		"empty":       {map[string][]byte{}, "no prv or pub key"},
		"no pub":      {map[string][]byte{"prv": kp.Private}, "no pub key"},
		"base64":      {map[string][]byte{"prv": []byte(base64.StdEncoding.EncodeToString(kp.Private)), "pub": kp.Public}, "key prv: not a PEM block"},
		"swapped":     {map[string][]byte{"prv": kp.Public, "pub": kp.Private}, "key prv: not an RSA private key"},
		"mismatch":    {map[string][]byte{"prv": kp.Private, "pub": other.Public}, "not of one pair"},
		"pub not pem": {map[string][]byte{"prv": kp.Private, "pub": []byte("x")}, "key pub: not a PEM block"},
	} {
		_, err := ParseKeyPair(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY-----") {
			t.Errorf("%s: the error shows the key", name)
		}
	}
}

func TestUITokenHalvesXorToSigningKey(t *testing.T) {
	sk := uuid.NewString()
	tok, err := NewUIToken(sk, "-----BEGIN PUBLIC KEY-----\nAB/+\n-----END PUBLIC KEY-----\n", "acc", "usr", "sess")
	if err != nil {
		t.Fatal(err)
	}
	s, c := uuid.MustParse(tok.Server.EncKey), uuid.MustParse(tok.ClientEncKey)
	var x uuid.UUID
	for i := range x {
		x[i] = s[i] ^ c[i]
	}
	if x.String() != sk || tok.Server.KeyID == "" || tok.Server.SessionToken != "sess" {
		t.Fatalf("%+v", tok)
	}
	raw, err := base64.StdEncoding.DecodeString(tok.ClientToken())
	if err != nil {
		t.Fatal(err)
	}
	// Python's json.dumps spelling of the pydantic model, without session_token.
	want := `{"pub": "-----BEGIN PUBLIC KEY-----\nAB/+\n-----END PUBLIC KEY-----\n", "account_id": "acc", "user_id": "usr", "enc_key": "` +
		tok.ClientEncKey + `", "key_id": "` + tok.Server.KeyID + `"}`
	if string(raw) != want {
		t.Fatalf("got  %s\nwant %s", raw, want)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil || len(m) != 5 {
		t.Fatal(m, err)
	}
	if _, err := NewUIToken("not-a-uuid", "", "", "", ""); err == nil {
		t.Fatal("a bad signing key was accepted")
	}
}

func TestPyQuote(t *testing.T) {
	for in, want := range map[string]string{`a"b\c`: `"a\"b\\c"`, "é\x01\t": `"\u00e9\u0001\t"`, "😀<>&": `"\ud83d\ude00<>&"`, "\x7f": "\"\x7f\""} {
		var b strings.Builder
		pyQuote(&b, in)
		if b.String() != want {
			t.Errorf("pyQuote(%q) = %s, want %s", in, b.String(), want)
		}
	}
}

func TestSigningKeyEnv(t *testing.T) {
	for in, want := range map[string]string{"{{ env.SIGNING_KEY }}": "SIGNING_KEY", "{{env.K}}": "K", "abc": "", "{{ env. }}": "", "x{{ env.K }}": ""} {
		got, ok := SigningKeyEnv(in)
		if got != want || ok != (want != "") {
			t.Errorf("%q: %q %v", in, got, ok)
		}
	}
}
