// Package backend knows where the Robusta platform lives (the backend profile, as the
// Python CLI reads it from ROBUSTA_BACKEND_PROFILE) and talks to its API.
package backend

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/fileio"
)

// ProfileEnv names the JSON file of a custom backend profile (a self-hosted platform).
const ProfileEnv = "ROBUSTA_BACKEND_PROFILE"

// Profile holds the platform's addresses. The JSON keys and their order are those of
// robusta_cli_config.json, which `robusta self-host gen-config` writes.
type Profile struct {
	CloudAPIHost            string `json:"robusta_cloud_api_host"`
	UIDomain                string `json:"robusta_ui_domain"`
	RelayWSAddress          string `json:"robusta_relay_ws_address"`
	RelayExternalActionsURL string `json:"robusta_relay_external_actions_url"`
	TelemetryEndpoint       string `json:"robusta_telemetry_endpoint"`
	StoreTokenURL           string `json:"robusta_store_token_url"`

	// Custom is true for a profile read from a file: gen-config then points the
	// runner at its addresses.
	Custom bool `json:"-"`
}

// Default is Robusta's hosted platform.
func Default() Profile {
	return Profile{
		CloudAPIHost:  "https://api.robusta.dev",
		UIDomain:      "https://platform.robusta.dev",
		StoreTokenURL: "https://api.robusta.dev/auth/server/tokens",
	}
}

// HostFor is the address of a platform component: scheme://prefix.domain.
func HostFor(prefix, domain, scheme string) string {
	return scheme + "://" + prefix + "." + domain
}

// FromDomain is the profile of a self-hosted platform served under domain.
func FromDomain(domain, apiPrefix, platformPrefix, relayPrefix string) Profile {
	api := HostFor(apiPrefix, domain, "https")
	return Profile{
		CloudAPIHost:            api,
		UIDomain:                HostFor(platformPrefix, domain, "https"),
		RelayWSAddress:          HostFor(relayPrefix, domain, "wss"),
		RelayExternalActionsURL: api + "/integrations/generic/actions",
		TelemetryEndpoint:       api + "/telemetry",
		StoreTokenURL:           api + "/auth/server/tokens",
	}
}

// Marshal renders the profile as robusta_cli_config.json: one-space indentation, as
// the Python CLI writes it.
func (p Profile) Marshal() ([]byte, error) {
	return json.MarshalIndent(p, "", " ")
}

// fields lists the profile's keys with their values, in file order.
func (p Profile) fields() [][2]string {
	return [][2]string{
		{"robusta_cloud_api_host", p.CloudAPIHost},
		{"robusta_ui_domain", p.UIDomain},
		{"robusta_relay_ws_address", p.RelayWSAddress},
		{"robusta_relay_external_actions_url", p.RelayExternalActionsURL},
		{"robusta_telemetry_endpoint", p.TelemetryEndpoint},
		{"robusta_store_token_url", p.StoreTokenURL},
	}
}

// ParseProfile reads a profile file's content; every key must be set, as the Python
// CLI requires.
func ParseProfile(path string, data []byte) (Profile, error) {
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		return Profile{}, fmt.Errorf("backend profile %s: not a JSON object of addresses: %w", path, err)
	}
	var missing []string
	for _, f := range p.fields() {
		if strings.TrimSpace(f[1]) == "" {
			missing = append(missing, f[0])
		}
	}
	if len(missing) > 0 {
		return Profile{}, fmt.Errorf("backend profile %s: %s missing: write the file again with robusta self-host gen-config (robusta_cli_config.json)", path, strings.Join(missing, ", "))
	}
	p.Custom = true
	return p, nil
}

// Load resolves the profile: the file named by ROBUSTA_BACKEND_PROFILE, else the hosted
// platform; backendURL, when set, replaces the API address (and the token store under
// it), for a platform reached through another address (a port-forward, a test).
func Load(getenv func(string) string, backendURL string) (Profile, error) {
	p := Default()
	if path := getenv(ProfileEnv); path != "" {
		data, err := fileio.ReadFile(path, fileio.MaxConfig)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return Profile{}, fmt.Errorf("%s=%s: no such file: point it at robusta_cli_config.json or unset it", ProfileEnv, path)
			}
			return Profile{}, fmt.Errorf("%s: %w", ProfileEnv, err)
		}
		if p, err = ParseProfile(path, data); err != nil {
			return Profile{}, err
		}
	}
	if backendURL != "" {
		u := strings.TrimRight(backendURL, "/")
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return Profile{}, fmt.Errorf("--backend-url %q: use an http:// or https:// URL", backendURL)
		}
		p.CloudAPIHost = u
		p.StoreTokenURL = u + "/auth/server/tokens"
	}
	return p, nil
}

// RunnerEnv are the runner environment variables that point it at a custom platform
// (empty for the hosted one), as gen-config writes them under runner.additional_env_vars.
func (p Profile) RunnerEnv() [][2]string {
	if !p.Custom {
		return nil
	}
	return [][2]string{
		{"RELAY_EXTERNAL_ACTIONS_URL", p.RelayExternalActionsURL},
		{"WEBSOCKET_RELAY_ADDRESS", p.RelayWSAddress},
		{"ROBUSTA_UI_DOMAIN", p.UIDomain},
		{"ROBUSTA_TELEMETRY_ENDPOINT", p.TelemetryEndpoint},
	}
}

// EULAURL is the end user license agreement the UI token requires.
func (p Profile) EULAURL() string { return p.CloudAPIHost + "/eula.html" }
