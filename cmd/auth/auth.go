// Package auth implements `robusta auth gen-token` and `robusta auth web-connect`: the
// token that lets the Robusta UI run actions in the cluster.
package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/robusta-dev/robusta-go/internal/backend"
	"github.com/robusta-dev/robusta-go/internal/build"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/kube"
	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

// NewCmdAuth builds the command group.
func NewCmdAuth(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Authentication commands: the token the Robusta UI runs actions with",
	}
	cmd.AddCommand(NewCmdGenToken(f, false, nil), NewCmdGenToken(f, true, nil))
	return cmd
}

// Options for `robusta auth gen-token` and `web-connect`.
type Options struct {
	F      *cmdutil.Factory
	IO     *cli.IOStreams
	Getenv func(string) string

	AccountID    string
	UserID       string
	SessionToken string
	BackendURL   string
	Debug        bool
	// AuthSecret is the Secret holding the runner's RSA pair (the chart's
	// rsa.existingSecret, else robusta-auth-config-secret).
	AuthSecret string
	// Yes creates a missing key pair without asking.
	Yes       bool
	TokenFile string
	Runner    cmdutil.RunnerFlags

	// WebConnect opens the Robusta UI after the token is made.
	WebConnect bool
	NoBrowser  bool
}

// NewCmdGenToken builds `robusta auth gen-token`, or with webConnect `robusta auth
// web-connect` (the same, then the UI is opened to submit the token).
func NewCmdGenToken(f *cmdutil.Factory, webConnect bool, runF func(*Options) error) *cobra.Command {
	o := &Options{F: f, IO: f.IOStreams, Getenv: os.Getenv, WebConnect: webConnect}
	cmd := &cobra.Command{
		Use:   "gen-token",
		Short: "Generate the token the Robusta UI needs to run actions in this cluster",
		Long: `Make a token for running actions manually from the Robusta UI, as the Python CLI's
robusta auth gen-token does: the runner's signing key (global_config.signing_key in
robusta-playbooks-config-secret, or the runner variable it names) is split into two
random halves; the server half and the runner's RSA public key (Secret
robusta-auth-config-secret) are stored with the platform for your UI session, and the
client half is printed as the token to submit in the UI.

The token goes to standard output only (or to --token-file, mode 0600); the session
token and the private key are never printed. When the Secret with the RSA pair does
not exist, it is created after you confirm (--yes in scripts); the runner reads it at
start, so restart the runner afterwards.`,
		Example: `  robusta auth gen-token --account-id ACC --user-id USER --session-token "$SESSION"
  robusta auth web-connect --account-id ACC --user-id USER --session-token "$SESSION"`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return run(cmd.Context(), o)
		},
	}
	if webConnect {
		cmd.Use = "web-connect"
		cmd.Short = "Generate the UI token (as gen-token) and open the Robusta UI to submit it"
		cmd.Flags().BoolVar(&o.NoBrowser, "no-browser", false, "only print the UI address")
	}
	fl := cmd.Flags()
	fl.StringVar(&o.AccountID, "account-id", "", "Robusta account id (required)")
	fl.StringVar(&o.UserID, "user-id", "", "user id the token is made for (required)")
	fl.StringVar(&o.SessionToken, "session-token", "", "session token of a user logged in to the Robusta UI (required; or ROBUSTA_SESSION_TOKEN)")
	fl.StringVar(&o.BackendURL, "backend-url", "", "Robusta platform API address (default: from "+backend.ProfileEnv+", else https://api.robusta.dev)")
	fl.BoolVar(&o.Debug, "debug", false, "explain failures of the platform request (secrets masked)")
	fl.StringVar(&o.AuthSecret, "auth-secret", backend.AuthSecretName, "Secret with the runner's RSA key pair (the chart's rsa.existingSecret)")
	fl.BoolVar(&o.Yes, "yes", false, "create a missing RSA key pair without asking")
	fl.StringVar(&o.TokenFile, "token-file", "", "write the token to this file (mode 0600) instead of standard output")
	cmdutil.AddRunnerFlags(cmd, &o.Runner)
	return cmd
}

// sessionTokenEnv keeps the session token out of ps and shell history.
const sessionTokenEnv = "ROBUSTA_SESSION_TOKEN"

func (o *Options) check() error {
	if o.SessionToken == "" {
		o.SessionToken = o.Getenv(sessionTokenEnv)
	}
	var missing []string
	for _, m := range []struct{ flag, v string }{{"--account-id", o.AccountID}, {"--user-id", o.UserID}, {"--session-token", o.SessionToken}} {
		if strings.TrimSpace(m.v) == "" {
			missing = append(missing, m.flag)
		}
	}
	if len(missing) > 0 {
		return cli.UsageErrorf("missing %s: copy them from the Robusta UI (the session token may also come from %s)", strings.Join(missing, ", "), sessionTokenEnv)
	}
	if o.TokenFile != "" {
		if fi, err := os.Stat(o.TokenFile); err == nil && fi.IsDir() {
			return cli.UsageErrorf("--token-file %s is a folder: name a file", o.TokenFile)
		}
	}
	return nil
}

func run(ctx context.Context, o *Options) error {
	if err := o.check(); err != nil {
		return err
	}
	profile, err := backend.Load(o.Getenv, o.BackendURL)
	if err != nil {
		return cli.UsageErrorf("%v", err)
	}
	if profile.Custom {
		fmt.Fprintf(o.IO.ErrOut, "Using the Robusta backend profile %s\n", o.Getenv(backend.ProfileEnv))
	}
	kf := o.F.Kube()
	cs, err := kf.Clientset()
	if err != nil {
		return kf.Explain(err, "", "", "")
	}
	ns, pod, err := o.namespace(ctx)
	if err != nil {
		return err
	}
	keys, err := o.keyPair(ctx, cs, ns)
	if err != nil {
		return err
	}
	signingKey, err := o.signingKey(ctx, cs, ns, pod)
	if err != nil {
		return err
	}
	tok, err := backend.NewUIToken(signingKey, string(keys.Public), o.AccountID, o.UserID, o.SessionToken)
	if err != nil {
		return cli.WithHint(fmt.Errorf("global_config.signing_key in Secret %s/%s: %v", ns, pbconfig.SecretName, err),
			"set globalConfig.signing_key to a UUID in the Helm values (robusta gen-config writes one) and upgrade")
	}
	client := backend.NewClient(profile, o.Getenv, "robusta-cli/"+build.Version)
	if o.Debug {
		fmt.Fprintf(o.IO.ErrOut, "POST %s (pub, account_id %s, user_id %s, session_token %s, enc_key %s, key_id %s)\n",
			profile.StoreTokenURL, o.AccountID, o.UserID, backend.Mask(o.SessionToken), backend.Mask(tok.Server.EncKey), tok.Server.KeyID)
	}
	if err := client.StoreToken(ctx, tok.Server); err != nil {
		return storeError(err, o.Debug)
	}
	st := o.IO.StderrStyles()
	token := tok.ClientToken()
	if o.TokenFile != "" {
		if err := writePrivate(o.TokenFile, []byte(token+"\n")); err != nil {
			return err
		}
		fmt.Fprintf(o.IO.ErrOut, "%s Token created (%s) and written to %s (mode 0600). Submit it in the Robusta UI.\n", st.SuccessIcon(), backend.Mask(token), o.TokenFile)
	} else {
		fmt.Fprintf(o.IO.ErrOut, "%s Token created. Submit it in the Robusta UI:\n", st.SuccessIcon())
		fmt.Fprintln(o.IO.Out, token)
	}
	if o.WebConnect {
		u := profile.UIDomain
		fmt.Fprintf(o.IO.ErrOut, "Robusta UI: %s\n", st.Accent(u))
		if !o.NoBrowser && backend.IsDesktop(o.Getenv) {
			if err := backend.OpenBrowser(u); err != nil {
				fmt.Fprintf(o.IO.ErrOut, "%s could not open a browser (%v): open the address yourself\n", st.WarningIcon(), err)
			}
		}
	}
	return nil
}

// storeError explains a refused token: a 401/403 is the session token.
func storeError(err error, debug bool) error {
	var ae *backend.APIError
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusUnauthorized, http.StatusForbidden:
			return cli.WithHint(fmt.Errorf("the Robusta platform refused the session token (%d from %s): nothing was stored", ae.Status, ae.URL),
				"log in to the Robusta UI again and copy a fresh session token, account id and user id")
		}
		if !debug {
			return cli.WithHint(fmt.Errorf("the Robusta platform did not store the token (%d from %s)", ae.Status, ae.URL), "run again with --debug to see its reply")
		}
	}
	return fmt.Errorf("store the token: %w", err)
}

// namespace is where Robusta is installed: -n, else the runner's (found in any
// namespace). The runner pod is returned when it was looked up.
func (o *Options) namespace(ctx context.Context) (string, *kube.RunnerPod, error) {
	if ns := o.F.Settings.Namespace; ns != "" && o.Runner.RunnerPod == "" {
		return ns, nil, nil
	}
	pod, err := o.findRunner(ctx)
	if err != nil {
		return "", nil, err
	}
	return pod.Namespace, pod, nil
}

func (o *Options) findRunner(ctx context.Context) (*kube.RunnerPod, error) {
	pods, search, err := o.F.Kube().ListRunners(ctx, o.F.FindOptions(o.Runner))
	if err != nil {
		return nil, err
	}
	if len(pods) == 0 {
		return nil, cli.WithHint(&kube.NoRunnerError{Where: search.Where}, "pass --namespace NS where Robusta is installed")
	}
	for _, p := range pods[1:] {
		if p.Namespace != pods[0].Namespace {
			return nil, cli.WithHint(&kube.SeveralRunnersError{Pods: pods}, "pick one install with --namespace NS")
		}
	}
	return &pods[0], nil
}

// keyPair reads the runner's RSA pair, creating it when it does not exist (after
// asking, or with --yes).
func (o *Options) keyPair(ctx context.Context, cs kubernetes.Interface, ns string) (backend.KeyPair, error) {
	s, err := cs.CoreV1().Secrets(ns).Get(ctx, o.AuthSecret, metav1.GetOptions{})
	if err == nil {
		kp, perr := backend.ParseKeyPair(s.Data)
		if perr != nil {
			return kp, cli.WithHint(fmt.Errorf("Secret %s/%s: %v", ns, o.AuthSecret, perr),
				"fix it (keys prv and pub, PEM), or delete it and run again to create a new pair")
		}
		return kp, nil
	}
	if !apierrors.IsNotFound(err) {
		return backend.KeyPair{}, o.F.Kube().Explain(err, "get", "secrets", ns)
	}
	if !o.Yes {
		ok, cerr := cli.Confirm(o.IO, fmt.Sprintf("Secret %s/%s (the runner's RSA key pair) does not exist. Create it?", ns, o.AuthSecret))
		if errors.Is(cerr, cli.ErrCannotPrompt) {
			return backend.KeyPair{}, cli.UsageErrorf("Secret %s/%s with the runner's RSA key pair does not exist; pass --yes to create it (no terminal to ask on)", ns, o.AuthSecret)
		}
		if cerr != nil {
			return backend.KeyPair{}, cerr
		}
		if !ok {
			return backend.KeyPair{}, cli.ErrAborted
		}
	}
	kp, err := CreateKeySecret(ctx, cs, ns, o.AuthSecret)
	if err != nil {
		return kp, o.F.Kube().Explain(err, "create", "secrets", ns)
	}
	fmt.Fprintf(o.IO.ErrOut, "%s Created Secret %s/%s with a new RSA key pair; restart the runner so it loads it\n",
		o.IO.StderrStyles().SuccessIcon(), ns, o.AuthSecret)
	return kp, nil
}

// CreateKeySecret stores a new pair as the chart did from the Python CLI's values
// (data prv and pub holding the PEM text). When another client created the Secret
// meanwhile, its pair is used.
func CreateKeySecret(ctx context.Context, cs kubernetes.Interface, ns, name string) (backend.KeyPair, error) {
	kp, err := backend.GenerateKeyPair()
	if err != nil {
		return kp, err
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"prv": kp.Private, "pub": kp.Public},
	}
	_, err = cs.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if gerr != nil {
			return backend.KeyPair{}, gerr
		}
		return backend.ParseKeyPair(cur.Data)
	}
	return kp, err
}

// signingKey is global_config.signing_key of the active config, resolved through the
// runner's environment when it is {{ env.NAME }}.
func (o *Options) signingKey(ctx context.Context, cs kubernetes.Interface, ns string, pod *kube.RunnerPod) (string, error) {
	s, err := cs.CoreV1().Secrets(ns).Get(ctx, pbconfig.SecretName, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return "", cli.WithHint(fmt.Errorf("no Secret %s in namespace %s", pbconfig.SecretName, ns), "is Robusta installed there? pass --namespace NS")
		}
		return "", o.F.Kube().Explain(err, "get", "secrets", ns)
	}
	var cfg struct {
		GlobalConfig map[string]any `yaml:"global_config"`
	}
	if err := yaml.Unmarshal(s.Data[pbconfig.SecretKey], &cfg); err != nil {
		return "", fmt.Errorf("Secret %s/%s key %s: not YAML: %v", ns, pbconfig.SecretName, pbconfig.SecretKey, firstLine(err.Error()))
	}
	key, _ := cfg.GlobalConfig["signing_key"].(string)
	if key == "" {
		return "", cli.WithHint(fmt.Errorf("no global_config.signing_key in Secret %s/%s", ns, pbconfig.SecretName),
			"set globalConfig.signing_key to a UUID in the Helm values (robusta gen-config writes one) and upgrade")
	}
	name, ok := backend.SigningKeyEnv(key)
	if !ok {
		return key, nil
	}
	fmt.Fprintf(o.IO.ErrOut, "Reading the signing key from the runner's variable %s\n", name)
	if pod == nil {
		if pod, err = o.findRunner(ctx); err != nil {
			return "", err
		}
	}
	v, err := RunnerEnv(ctx, cs, pod.Namespace, pod.Name, name)
	if errors.Is(err, errNotInSpec) {
		v, err = o.execPrintenv(ctx, pod, name)
	}
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", fmt.Errorf("the runner %s has no variable %s, which global_config.signing_key names", pod.Ref(), name)
	}
	return v, nil
}

var errNotInSpec = errors.New("not resolvable from the pod spec")

// RunnerEnv resolves a variable of the runner container from its pod spec: a value, or
// a key of a Secret or ConfigMap. Anything else (envFrom, field references) is
// errNotInSpec, left to the running container.
func RunnerEnv(ctx context.Context, cs kubernetes.Interface, ns, podName, name string) (string, error) {
	p, err := cs.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	for _, c := range p.Spec.Containers {
		if c.Name != kube.RunnerContainer {
			continue
		}
		// The last definition wins, as in the container.
		for i := len(c.Env) - 1; i >= 0; i-- {
			e := c.Env[i]
			if e.Name != name {
				continue
			}
			switch vf := e.ValueFrom; {
			case vf == nil:
				return e.Value, nil
			case vf.SecretKeyRef != nil:
				s, err := cs.CoreV1().Secrets(ns).Get(ctx, vf.SecretKeyRef.Name, metav1.GetOptions{})
				if err != nil {
					return "", fmt.Errorf("variable %s of the runner: Secret %s: %w", name, vf.SecretKeyRef.Name, err)
				}
				return string(s.Data[vf.SecretKeyRef.Key]), nil
			case vf.ConfigMapKeyRef != nil:
				cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, vf.ConfigMapKeyRef.Name, metav1.GetOptions{})
				if err != nil {
					return "", fmt.Errorf("variable %s of the runner: ConfigMap %s: %w", name, vf.ConfigMapKeyRef.Name, err)
				}
				return cm.Data[vf.ConfigMapKeyRef.Key], nil
			}
			return "", errNotInSpec
		}
	}
	return "", errNotInSpec
}

// execPrintenv asks the runner container itself (what the Python CLI did with echo).
func (o *Options) execPrintenv(ctx context.Context, pod *kube.RunnerPod, name string) (string, error) {
	var out bytes.Buffer
	err := o.F.Kube().Exec(ctx, kube.ExecOptions{Namespace: pod.Namespace, Pod: pod.Name, Container: kube.RunnerContainer,
		Command: []string{"printenv", name}, Stdout: &out})
	var ee *kube.ExitError
	if errors.As(err, &ee) && ee.Code == 1 {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the variable %s in runner %s: %w", name, pod.Ref(), err)
	}
	return strings.TrimSpace(out.String()), nil
}

// writePrivate writes data to path with mode 0600, atomically.
func writePrivate(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
