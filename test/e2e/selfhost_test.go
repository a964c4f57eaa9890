package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// selfHostKeys is the order and shape of self_host_values.yaml as the Python CLI's
// SelfHostValues (pydantic field order, None left out) and the dicts added after it
// give them. "*" marks a generated value checked separately.
var selfHostKeys = []struct {
	key  string
	want any
}{
	{"STATIC_IP_NAME", "robusta-platform-ip"},
	{"RELAY_PASSWORD", "*"},
	{"RELAY_USER", "apiuser-robustarelay@robusta.dev"},
	{"DOMAIN", "r.example.com"},
	{"PROVIDER", "eks"},
	{"JWT_SECRET", "*"},
	{"ANON_KEY", "*"},
	{"SERVICE_ROLE_KEY", "*"},
	{"SUPABASE_URL", "http://kong:8000"},
	{"PUBLIC_REST_URL", "https://database.r.example.com/rest/v1/"},
	{"POSTGRES_PORT", 5432},
	{"POSTGRES_STORAGE", "100Gi"},
	{"POSTGRES_PASSWORD", "*"},
	{"STORAGE_CLASS_NAME", "gp3"},
	{"EKS_CERTIFICATE_ARN", "arn:aws:acm:eu-west-1:1:certificate/x"},
	{"SITE_URL", "https://platform.r.example.com"},
	{"ADDITIONAL_REDIRECT_URLS", ""},
	{"KONG_HTTP_PORT", 8000},
	{"KONG_HTTP_NODE_PORT", 31012},
	{"KONG_HTTPS_PORT", 8443},
	{"enableRelay", true},
	{"enableRobustaUI", true},
	{"robusta-ui", []kv{{"RELAY_HOST", "https://api.r.example.com"}, {"SUPABASE_URL", "https://database.r.example.com"}, {"SUPABASE_KEY", "*anon"}, {"provider", "eks"}, {"service", []kv{{"nodePort", 31011}}}}},
	{"robusta-relay", []kv{{"domain", "r.example.com"}, {"storePassword", "*relay"}, {"storeUser", "apiuser-robustarelay@robusta.dev"}, {"storeUrl", "https://database.r.example.com"},
		{"storeApiKey", "*anon"}, {"slackClientId", "your-client-id"}, {"slackClientSecret", "your-client-secret"}, {"slackSigningSecret", "your-signing-secret"},
		{"syncActionAllowedOrigins", "https://platform.r.example.com"}, {"provider", "eks"}, {"apiEndpointPrefix", "api"}, {"apiNodePort", 31013}, {"wsNodePort", 31014},
		{"relayPrefix", "ws"}, {"platformPrefix", "platform"}, {"apiPrefix", "api"}, {"isOnPrem", true}}},
	{"ENDPOINT_PREFIXES", []kv{{"DB", "database"}, {"API", "api"}, {"PLATFORM", "platform"}, {"RELAY", "ws"}}},
}

type kv struct {
	key  string
	want any
}

// compareMapping checks node's keys, in order, against want; "*name" values must equal
// refs[name].
func compareMapping(t *testing.T, path string, node *yaml.Node, want []kv, refs map[string]string) {
	t.Helper()
	if node.Kind != yaml.MappingNode || len(node.Content) != 2*len(want) {
		var got []string
		for i := 0; i+1 < len(node.Content); i += 2 {
			got = append(got, node.Content[i].Value)
		}
		t.Fatalf("%s: keys %v, want %d keys", path, got, len(want))
	}
	for i, w := range want {
		k, v := node.Content[2*i], node.Content[2*i+1]
		if k.Value != w.key {
			t.Fatalf("%s: key %d is %s, want %s", path, i, k.Value, w.key)
		}
		switch x := w.want.(type) {
		case []kv:
			compareMapping(t, path+"."+w.key, v, x, refs)
		case string:
			if strings.HasPrefix(x, "*") {
				if x != "*" && v.Value != refs[x[1:]] {
					t.Fatalf("%s.%s = %q, want the %s value %q", path, w.key, v.Value, x[1:], refs[x[1:]])
				}
				continue
			}
			if v.Tag != "!!str" || v.Value != x {
				t.Fatalf("%s.%s = %s %q, want string %q", path, w.key, v.Tag, v.Value, x)
			}
		case int:
			var n int
			if v.Tag != "!!int" || v.Decode(&n) != nil || n != x {
				t.Fatalf("%s.%s = %s %q, want int %d", path, w.key, v.Tag, v.Value, x)
			}
		case bool:
			var b bool
			if v.Tag != "!!bool" || v.Decode(&b) != nil || b != x {
				t.Fatalf("%s.%s = %s %q, want bool %v", path, w.key, v.Tag, v.Value, x)
			}
		}
	}
}

func checkHS256(t *testing.T, token, secret, role string) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("%s key %q is not a JWT", role, token)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != parts[2] {
		t.Fatalf("%s key: the signature does not verify with JWT_SECRET", role)
	}
	var header, claims map[string]any
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	c, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(h, &header) != nil || json.Unmarshal(c, &claims) != nil || header["alg"] != "HS256" || header["typ"] != "JWT" ||
		claims["role"] != role || claims["iss"] != "supabase" || claims["iat"] == nil || len(claims) != 3 {
		t.Fatalf("%s key: header %v claims %v", role, header, claims)
	}
}

func TestSelfHostGenConfig(t *testing.T) {
	dir := t.TempDir()
	r := runIn(t, dir, "self-host", "gen-config", "--provider", "eks", "--domain", "r.example.com", "--storage-class-name", "gp3",
		"--eks-certificate-arn", "arn:aws:acm:eu-west-1:1:certificate/x", "--platform-nport", "31011", "--db-nport", "31012", "--api-nport", "31013",
		"--ws-nport", "31014", "--db-endpoint-prefix", "database", "--relay-ws-endpoint-prefix", "ws")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "terms of service: https://api.robusta.dev/terms-of-service.html")
	for _, f := range []string{"self_host_values.yaml", "robusta_cli_config.json"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, err, st)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "self_host_values.yaml"))
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	get := func(k string) string {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == k {
				return root.Content[i+1].Value
			}
		}
		return ""
	}
	refs := map[string]string{"anon": get("ANON_KEY"), "relay": get("RELAY_PASSWORD")}
	var want []kv
	for _, k := range selfHostKeys {
		want = append(want, kv(k))
	}
	compareMapping(t, "values", root, want, refs)
	alnum := regexp.MustCompile(`^[A-Za-z0-9]+$`)
	for k, n := range map[string]int{"RELAY_PASSWORD": 12, "POSTGRES_PASSWORD": 12, "JWT_SECRET": 32} {
		if v := get(k); len(v) != n || !alnum.MatchString(v) {
			t.Fatalf("%s = %q, want %d letters and digits", k, v, n)
		}
	}
	checkHS256(t, get("ANON_KEY"), get("JWT_SECRET"), "anon")
	checkHS256(t, get("SERVICE_ROLE_KEY"), get("JWT_SECRET"), "service_role")

	// robusta_cli_config.json: BackendProfile.fromDomainProvider, custom_profile left out,
	// json.dump(indent=1).
	pb, _ := os.ReadFile(filepath.Join(dir, "robusta_cli_config.json"))
	wantJSON := `{
 "robusta_cloud_api_host": "https://api.r.example.com",
 "robusta_ui_domain": "https://platform.r.example.com",
 "robusta_relay_ws_address": "wss://ws.r.example.com",
 "robusta_relay_external_actions_url": "https://api.r.example.com/integrations/generic/actions",
 "robusta_telemetry_endpoint": "https://api.r.example.com/telemetry",
 "robusta_store_token_url": "https://api.r.example.com/auth/server/tokens"
}`
	if string(pb) != wantJSON {
		t.Fatalf("robusta_cli_config.json:\n%s\nwant:\n%s", pb, wantJSON)
	}

	// No silent overwrite; --force replaces with fresh secrets.
	r = runIn(t, dir, "self-host", "gen-config", "--provider", "gke", "--domain", "r.example.com")
	if r.code == 0 || !strings.Contains(r.stderr, "already exists") || !strings.Contains(r.stderr, "--force") {
		t.Fatal(r)
	}
	if b2, _ := os.ReadFile(filepath.Join(dir, "self_host_values.yaml")); string(b2) != string(b) {
		t.Fatal("the refused run changed the values file")
	}
	r = runIn(t, dir, "self-host", "gen-config", "--provider", "gke", "--domain", "r.example.com", "--force")
	if b2, _ := os.ReadFile(filepath.Join(dir, "self_host_values.yaml")); r.code != 0 || string(b2) == string(b) || strings.Contains(string(b2), "STORAGE_CLASS_NAME") {
		t.Fatalf("--force: %s\n%s", r, b2)
	}
	// The profile works as ROBUSTA_BACKEND_PROFILE for gen-config.
	r = run(t, append(kubeconfigEnv(filepath.Join(dir, "none")), "ROBUSTA_BACKEND_PROFILE="+filepath.Join(dir, "robusta_cli_config.json")),
		"gen-config", "--no-input", "--cluster-name", "c", "--output-path", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "wss://relay.r.example.com") {
		t.Fatal(r)
	}
}

func TestSelfHostGenConfigBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--domain", "d.com"}, "--provider is required: one of on-prem, gke, eks, openshift"},
		{[]string{"--provider", "aks", "--domain", "d.com"}, `--provider "aks": use one of on-prem, gke, eks, openshift`},
		{[]string{"--provider", "gke"}, "--domain is required"},
		{[]string{"--provider", "gke", "--domain", "https://d.com"}, "without scheme or path"},
		{[]string{"--provider", "gke", "--domain", "d.com", "--api-nport", "70000"}, "--api-nport 70000: a port is between 1 and 65535"},
		{[]string{"--provider", "gke", "--domain", "d.com", "--api-endpoint-prefix", "a.b"}, "--api-endpoint-prefix"},
	} {
		r := runIn(t, dir, append([]string{"self-host", "gen-config"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Fatalf("%v: %s", tc.args, r)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("bad input left files: %v", entries)
	}
}
