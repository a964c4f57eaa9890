// Package selfhost builds the Helm values of a self-hosted Robusta platform, with the
// keys and shapes the Python CLI's `robusta self-host gen-config` writes.
package selfhost

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/robusta-dev/robusta-go/internal/backend"
)

// Providers are the accepted --provider values.
var Providers = []string{"on-prem", "gke", "eks", "openshift"}

// Issuer is the iss claim of the database keys.
const Issuer = "supabase"

// Params are the command's inputs; zero ports and prefixes take the defaults.
type Params struct {
	Provider, Domain             string
	StorageClassName, EKSCertARN string
	PlatformNodePort, DBNodePort int
	APINodePort, WSNodePort      int
	DBPrefix, APIPrefix          string
	PlatformPrefix, RelayPrefix  string
}

// Defaults fills what p leaves empty with the Python CLI's defaults.
func (p *Params) Defaults() {
	for _, d := range []struct {
		v   *int
		def int
	}{{&p.PlatformNodePort, 30311}, {&p.DBNodePort, 30312}, {&p.APINodePort, 30313}, {&p.WSNodePort, 30314}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	for _, d := range []struct {
		v   *string
		def string
	}{{&p.DBPrefix, "db"}, {&p.APIPrefix, "api"}, {&p.PlatformPrefix, "platform"}, {&p.RelayPrefix, "relay"}} {
		if *d.v == "" {
			*d.v = d.def
		}
	}
}

// UI is the robusta-ui subchart's values.
type UI struct {
	RelayHost   string         `yaml:"RELAY_HOST"`
	SupabaseURL string         `yaml:"SUPABASE_URL"`
	SupabaseKey string         `yaml:"SUPABASE_KEY"`
	Provider    string         `yaml:"provider"`
	Service     map[string]int `yaml:"service"`
}

// Relay is the robusta-relay subchart's values.
type Relay struct {
	Domain                   string `yaml:"domain"`
	StorePassword            string `yaml:"storePassword"`
	StoreUser                string `yaml:"storeUser"`
	StoreURL                 string `yaml:"storeUrl"`
	StoreAPIKey              string `yaml:"storeApiKey"`
	SlackClientID            string `yaml:"slackClientId"`
	SlackClientSecret        string `yaml:"slackClientSecret"`
	SlackSigningSecret       string `yaml:"slackSigningSecret"`
	SyncActionAllowedOrigins string `yaml:"syncActionAllowedOrigins"`
	Provider                 string `yaml:"provider"`
	APIEndpointPrefix        string `yaml:"apiEndpointPrefix"`
	APINodePort              int    `yaml:"apiNodePort"`
	WSNodePort               int    `yaml:"wsNodePort"`
	RelayPrefix              string `yaml:"relayPrefix"`
	PlatformPrefix           string `yaml:"platformPrefix"`
	APIPrefix                string `yaml:"apiPrefix"`
	IsOnPrem                 bool   `yaml:"isOnPrem"`
}

// Prefixes are the endpoint prefixes, recorded in the values.
type Prefixes struct {
	DB       string `yaml:"DB"`
	API      string `yaml:"API"`
	Platform string `yaml:"PLATFORM"`
	Relay    string `yaml:"RELAY"`
}

// Values is self_host_values.yaml, keys in the Python CLI's order.
type Values struct {
	StaticIPName           string   `yaml:"STATIC_IP_NAME"`
	RelayPassword          string   `yaml:"RELAY_PASSWORD"`
	RelayUser              string   `yaml:"RELAY_USER"`
	Domain                 string   `yaml:"DOMAIN"`
	Provider               string   `yaml:"PROVIDER"`
	JWTSecret              string   `yaml:"JWT_SECRET"`
	AnonKey                string   `yaml:"ANON_KEY"`
	ServiceRoleKey         string   `yaml:"SERVICE_ROLE_KEY"`
	SupabaseURL            string   `yaml:"SUPABASE_URL"`
	PublicRestURL          string   `yaml:"PUBLIC_REST_URL"`
	PostgresPort           int      `yaml:"POSTGRES_PORT"`
	PostgresStorage        string   `yaml:"POSTGRES_STORAGE"`
	PostgresPassword       string   `yaml:"POSTGRES_PASSWORD"`
	StorageClassName       string   `yaml:"STORAGE_CLASS_NAME,omitempty"`
	EKSCertificateARN      string   `yaml:"EKS_CERTIFICATE_ARN,omitempty"`
	SiteURL                string   `yaml:"SITE_URL"`
	AdditionalRedirectURLs string   `yaml:"ADDITIONAL_REDIRECT_URLS"`
	KongHTTPPort           int      `yaml:"KONG_HTTP_PORT"`
	KongHTTPNodePort       int      `yaml:"KONG_HTTP_NODE_PORT"`
	KongHTTPSPort          int      `yaml:"KONG_HTTPS_PORT"`
	EnableRelay            bool     `yaml:"enableRelay"`
	EnableRobustaUI        bool     `yaml:"enableRobustaUI"`
	UI                     UI       `yaml:"robusta-ui"`
	Relay                  Relay    `yaml:"robusta-relay"`
	EndpointPrefixes       Prefixes `yaml:"ENDPOINT_PREFIXES"`
}

const relayUser = "apiuser-robustarelay@robusta.dev"

// Secrets are the generated credentials; tests pass fixed ones.
type Secrets struct {
	RelayPassword, JWTSecret, PostgresPassword string
	IssuedAt                                   time.Time
}

// NewSecrets draws the credentials from crypto/rand: letters and digits, 12 characters
// for passwords and 32 for the JWT secret, as the Python CLI does.
func NewSecrets() (Secrets, error) {
	var s Secrets
	var err error
	for _, d := range []struct {
		dst *string
		n   int
	}{{&s.RelayPassword, 12}, {&s.JWTSecret, 32}, {&s.PostgresPassword, 12}} {
		if *d.dst, err = randomString(d.n); err != nil {
			return Secrets{}, err
		}
	}
	s.IssuedAt = time.Now()
	return s, nil
}

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomString(n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("random secret: %w", err)
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b), nil
}

// SignHS256 returns a compact JWT of claims signed with secret (HS256).
func SignHS256(claims map[string]any, secret string) (string, error) {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	unsigned := header + "." + enc.EncodeToString(body)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// Build returns the values and the backend profile (robusta_cli_config.json) for p.
func Build(p Params, s Secrets) (*Values, backend.Profile, error) {
	p.Defaults()
	host := func(prefix string) string { return backend.HostFor(prefix, p.Domain, "https") }
	iat := s.IssuedAt.Unix()
	anon, err := SignHS256(map[string]any{"role": "anon", "iss": Issuer, "iat": iat}, s.JWTSecret)
	if err != nil {
		return nil, backend.Profile{}, err
	}
	service, err := SignHS256(map[string]any{"role": "service_role", "iss": Issuer, "iat": iat}, s.JWTSecret)
	if err != nil {
		return nil, backend.Profile{}, err
	}
	v := &Values{
		StaticIPName:      "robusta-platform-ip",
		RelayPassword:     s.RelayPassword,
		RelayUser:         relayUser,
		Domain:            p.Domain,
		Provider:          p.Provider,
		JWTSecret:         s.JWTSecret,
		AnonKey:           anon,
		ServiceRoleKey:    service,
		SupabaseURL:       "http://kong:8000",
		PublicRestURL:     host(p.DBPrefix) + "/rest/v1/",
		PostgresPort:      5432,
		PostgresStorage:   "100Gi",
		PostgresPassword:  s.PostgresPassword,
		StorageClassName:  p.StorageClassName,
		EKSCertificateARN: p.EKSCertARN,
		SiteURL:           host(p.PlatformPrefix),
		KongHTTPPort:      8000,
		KongHTTPNodePort:  p.DBNodePort,
		KongHTTPSPort:     8443,
		EnableRelay:       true,
		EnableRobustaUI:   true,
		UI: UI{
			RelayHost:   host(p.APIPrefix),
			SupabaseURL: host(p.DBPrefix),
			SupabaseKey: anon,
			Provider:    p.Provider,
			Service:     map[string]int{"nodePort": p.PlatformNodePort},
		},
		Relay: Relay{
			Domain:                   p.Domain,
			StorePassword:            s.RelayPassword,
			StoreUser:                relayUser,
			StoreURL:                 host(p.DBPrefix),
			StoreAPIKey:              anon,
			SlackClientID:            "your-client-id",
			SlackClientSecret:        "your-client-secret",
			SlackSigningSecret:       "your-signing-secret",
			SyncActionAllowedOrigins: host(p.PlatformPrefix),
			Provider:                 p.Provider,
			APIEndpointPrefix:        p.APIPrefix,
			APINodePort:              p.APINodePort,
			WSNodePort:               p.WSNodePort,
			RelayPrefix:              p.RelayPrefix,
			PlatformPrefix:           p.PlatformPrefix,
			APIPrefix:                p.APIPrefix,
			IsOnPrem:                 true,
		},
		EndpointPrefixes: Prefixes{DB: p.DBPrefix, API: p.APIPrefix, Platform: p.PlatformPrefix, Relay: p.RelayPrefix},
	}
	return v, backend.FromDomain(p.Domain, p.APIPrefix, p.PlatformPrefix, p.RelayPrefix), nil
}
