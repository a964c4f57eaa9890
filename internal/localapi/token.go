package localapi

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// TokenEnv names the environment variable clients take the token from.
const TokenEnv = "ROBUSTA_LOCAL_TOKEN"

// TokenPath is where `local serve` writes its token: $XDG_CONFIG_HOME/robusta/
// local-serve.token, else under the user's config directory.
func TokenPath(getenv func(string) string) (string, error) {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find the config directory for the token file: %w", err)
		}
		dir = d
	}
	return filepath.Join(dir, "robusta", "local-serve.token"), nil
}

// NewToken returns 32 random bytes, base64url-encoded.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// WriteToken writes the token to path, mode 0600, atomically: a reader sees either
// the old file or the whole new one, never a half-written token.
func WriteToken(path, token string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write the token file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".local-serve.token-*")
	if err != nil {
		return fmt.Errorf("write the token file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	// CreateTemp makes the file 0600 already; say so for umasks that matter elsewhere.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write the token file: %w", err)
	}
	if _, err := tmp.WriteString(token + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("write the token file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write the token file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the token file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write the token file: %w", err)
	}
	return nil
}

// RemoveToken removes the token file if it still holds token: a second server started
// since then owns the file now, and its token must stay.
func RemoveToken(path, token string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !bytes.Equal(bytes.TrimSpace(b), []byte(token)) {
		return nil
	}
	return os.Remove(path)
}

// ReadToken reads a token file written by WriteToken. A file others may read is
// refused: its token is no secret any more.
func ReadToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no token file %s: is robusta local serve running? (or set %s)", path, TokenEnv)
	}
	if err != nil {
		return "", fmt.Errorf("read the token file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("token file %s is not a regular file", path)
	}
	// Windows has no mode bits to check: its ACLs come from the user's profile folder.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("token file %s is readable by other users (mode %04o): restart robusta local serve to write a new one", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty: restart robusta local serve", path)
	}
	return tok, nil
}

// ClientToken is the bearer token a client sends: flag, else $ROBUSTA_LOCAL_TOKEN, else
// (when fromFile, i.e. the client talks to this machine's server directly) the file
// `local serve` wrote. Through a port-forward the file is never read: its secret is not
// sent to a pod that merely answers on the runner's port.
func ClientToken(flag string, getenv func(string) string, fromFile bool) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if t := strings.TrimSpace(getenv(TokenEnv)); t != "" {
		return t, nil
	}
	if !fromFile {
		return "", nil
	}
	p, err := TokenPath(getenv)
	if err != nil {
		return "", err
	}
	return ReadToken(p)
}
