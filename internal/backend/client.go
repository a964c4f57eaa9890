package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SlackServiceEnv overrides where the Slack token is collected after the OAuth flow,
// as in the Python CLI.
const SlackServiceEnv = "SLACK_INTEGRATION_SERVICE_ADDRESS"

// AccountExists is the text of the platform's reply when an account name is taken.
const AccountExists = "already exists. Please choose a different account name"

// maxReply bounds what is read of a platform reply.
const maxReply = 1 << 20

// Client calls the Robusta platform API of a profile.
type Client struct {
	Profile Profile
	HTTP    *http.Client
	// SlackService is the token collection address (default: the API's
	// /integrations/slack/get-token).
	SlackService string
	UserAgent    string
}

// NewClient returns a client with a 30 s request timeout.
func NewClient(p Profile, getenv func(string) string, userAgent string) *Client {
	c := &Client{Profile: p, HTTP: &http.Client{Timeout: 30 * time.Second}, UserAgent: userAgent}
	c.SlackService = getenv(SlackServiceEnv)
	if c.SlackService == "" {
		c.SlackService = p.CloudAPIHost + "/integrations/slack/get-token"
	}
	return c
}

// APIError is a reply the platform gave with an unexpected status.
type APIError struct {
	URL    string
	Status int
	Body   string
}

func (e *APIError) Error() string {
	body := strings.TrimSpace(e.Body)
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	return fmt.Sprintf("%s answered %d: %s", e.URL, e.Status, body)
}

func (c *Client) do(ctx context.Context, method, u string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("reach the Robusta platform: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read the reply of %s: %w", u, err)
	}
	return resp.StatusCode, b, nil
}

// SlackConnectURL is the page that installs the Robusta Slack app for the flow id.
func (c *Client) SlackConnectURL(id string) string {
	return c.Profile.CloudAPIHost + "/integrations/slack?id=" + url.QueryEscape(id)
}

// SlackKey is what the platform hands over once the Slack app is installed.
type SlackKey struct {
	Token    string
	TeamName string
}

// WaitSlackKey polls the token service for the flow id until the token is there or ctx
// ends. Failed polls are reported to onError and retried, as the user may still be
// on the Slack page.
func (c *Client) WaitSlackKey(ctx context.Context, id string, every time.Duration, onError func(error)) (SlackKey, error) {
	u := c.SlackService + "?id=" + url.QueryEscape(id)
	for {
		status, b, err := c.do(ctx, http.MethodGet, u, nil)
		if err == nil && status != http.StatusOK {
			err = &APIError{URL: u, Status: status, Body: string(b)}
		}
		if err == nil {
			var r struct {
				Token    any    `json:"token"`
				TeamName string `json:"team-name"`
			}
			if jerr := json.Unmarshal(b, &r); jerr != nil {
				err = fmt.Errorf("%s: not JSON: %w", u, jerr)
			} else if tok, ok := r.Token.(string); ok && tok != "" {
				return SlackKey{Token: tok, TeamName: r.TeamName}, nil
			}
		}
		if err != nil && ctx.Err() == nil && onError != nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return SlackKey{}, ctx.Err()
		case <-time.After(every):
		}
	}
}

// ErrAccountExists is returned by CreateAccount when the name is taken.
var ErrAccountExists = errors.New("the account name is already in use")

// CreateAccount registers an account and returns its UI token.
func (c *Client) CreateAccount(ctx context.Context, accountName, email string) (string, error) {
	u := c.Profile.CloudAPIHost + "/accounts/create"
	status, b, err := c.do(ctx, http.MethodPost, u, map[string]string{"account_name": accountName, "email": email})
	if err != nil {
		return "", err
	}
	var r struct {
		Token string `json:"token"`
		Msg   string `json:"msg"`
	}
	_ = json.Unmarshal(b, &r)
	if status == http.StatusCreated && r.Token != "" {
		return r.Token, nil
	}
	if strings.Contains(r.Msg, AccountExists) {
		return "", ErrAccountExists
	}
	return "", &APIError{URL: u, Status: status, Body: string(b)}
}

// TokenDetails is the body stored with the platform for a UI action token.
type TokenDetails struct {
	Pub          string `json:"pub"`
	AccountID    string `json:"account_id"`
	UserID       string `json:"user_id"`
	SessionToken string `json:"session_token"`
	EncKey       string `json:"enc_key"`
	KeyID        string `json:"key_id"`
}

// StoreToken sends the server half of a token to the platform (201 expected).
func (c *Client) StoreToken(ctx context.Context, t TokenDetails) error {
	u := c.Profile.StoreTokenURL
	status, b, err := c.do(ctx, http.MethodPost, u, t)
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return &APIError{URL: u, Status: status, Body: string(b)}
	}
	return nil
}

// AcceptEULA records that the account accepted the license agreement.
func (c *Client) AcceptEULA(ctx context.Context, accountID string) error {
	u := c.Profile.EULAURL() + "?account_id=" + url.QueryEscape(accountID)
	status, b, err := c.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if status >= 300 {
		return &APIError{URL: u, Status: status, Body: string(b)}
	}
	return nil
}
