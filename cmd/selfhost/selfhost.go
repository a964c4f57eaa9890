// Package selfhost implements `robusta self-host`: configuration for a self-hosted
// Robusta platform.
package selfhost

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/fileio"
	"github.com/robusta-dev/robusta-go/internal/selfhost"
)

// File names, as the Python CLI writes them.
const (
	ValuesFile  = "self_host_values.yaml"
	ProfileFile = "robusta_cli_config.json"
)

// TermsURL is the terms of service of the self-hosted platform.
const TermsURL = "https://api.robusta.dev/terms-of-service.html"

// NewCmdSelfHost builds the command group.
func NewCmdSelfHost(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "self-host",
		Short: "Configure a self-hosted Robusta platform",
	}
	cmd.AddCommand(NewCmdGenConfig(f, runF))
	return cmd
}

// Options for `robusta self-host gen-config`.
type Options struct {
	IO     *cli.IOStreams
	Params selfhost.Params
	Dir    string
	Force  bool
}

// NewCmdGenConfig builds `robusta self-host gen-config`.
func NewCmdGenConfig(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "gen-config",
		Short: "Write the Helm values and CLI profile of a self-hosted Robusta platform",
		Long: `Generate, offline, the Helm values of a self-hosted Robusta platform (` + ValuesFile + `:
fresh random passwords, a JWT secret and the database keys signed with it) and the
backend profile that points this CLI at it (` + ProfileFile + `; use it with
ROBUSTA_BACKEND_PROFILE=` + ProfileFile + `).

Both files are written with mode 0600 (they hold secrets), atomically, into --output-dir;
existing files are only replaced with --force.`,
		Example: `  robusta self-host gen-config --provider gke --domain robusta.example.com
  robusta self-host gen-config --provider eks --domain r.example.com --eks-certificate-arn arn:aws:acm:...`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return runGenConfig(o)
		},
	}
	p := &o.Params
	fl := cmd.Flags()
	fl.StringVar(&p.Provider, "provider", "", "where the platform runs: "+strings.Join(selfhost.Providers, ", ")+" (required)")
	fl.StringVar(&p.Domain, "domain", "", "domain the platform's services are reached under (required)")
	fl.StringVar(&p.StorageClassName, "storage-class-name", "", "storageClassName of the database's volume claim")
	fl.StringVar(&p.EKSCertARN, "eks-certificate-arn", "", "certificate ARN for the EKS ingress")
	fl.IntVar(&p.PlatformNodePort, "platform-nport", 30311, "node port of the Robusta dashboard")
	fl.IntVar(&p.DBNodePort, "db-nport", 30312, "node port of the Robusta database")
	fl.IntVar(&p.APINodePort, "api-nport", 30313, "node port of the Robusta API")
	fl.IntVar(&p.WSNodePort, "ws-nport", 30314, "node port of the Robusta websocket relay")
	fl.StringVar(&p.DBPrefix, "db-endpoint-prefix", "db", "host prefix of the database endpoint")
	fl.StringVar(&p.APIPrefix, "api-endpoint-prefix", "api", "host prefix of the API endpoint")
	fl.StringVar(&p.PlatformPrefix, "platform-endpoint-prefix", "platform", "host prefix of the dashboard")
	fl.StringVar(&p.RelayPrefix, "relay-ws-endpoint-prefix", "relay", "host prefix of the websocket relay")
	fl.StringVar(&o.Dir, "output-dir", ".", "folder to write "+ValuesFile+" and "+ProfileFile+" in")
	fl.BoolVar(&o.Force, "force", false, "replace existing files")
	return cmd
}

func (o *Options) validate() error {
	p := o.Params
	if p.Provider == "" {
		return cli.UsageErrorf("--provider is required: one of %s", strings.Join(selfhost.Providers, ", "))
	}
	if !slices.Contains(selfhost.Providers, p.Provider) {
		return cli.UsageErrorf("--provider %s: use one of %s", cli.Quote(p.Provider), strings.Join(selfhost.Providers, ", "))
	}
	d := strings.TrimSpace(p.Domain)
	if d == "" {
		return cli.UsageErrorf("--domain is required: the domain the platform is served under, such as robusta.example.com")
	}
	if strings.Contains(d, "://") || strings.ContainsAny(d, "/ ") {
		return cli.UsageErrorf("--domain %s: give a bare domain such as robusta.example.com, without scheme or path", cli.Quote(p.Domain))
	}
	for _, port := range []struct {
		flag string
		v    int
	}{{"platform-nport", p.PlatformNodePort}, {"db-nport", p.DBNodePort}, {"api-nport", p.APINodePort}, {"ws-nport", p.WSNodePort}} {
		if port.v < 1 || port.v > 65535 {
			return cli.UsageErrorf("--%s %d: a port is between 1 and 65535 (node ports default to 30000-32767)", port.flag, port.v)
		}
	}
	for _, pre := range []struct{ flag, v string }{{"db-endpoint-prefix", p.DBPrefix}, {"api-endpoint-prefix", p.APIPrefix}, {"platform-endpoint-prefix", p.PlatformPrefix}, {"relay-ws-endpoint-prefix", p.RelayPrefix}} {
		if pre.v == "" || strings.ContainsAny(pre.v, "./: ") {
			return cli.UsageErrorf("--%s %s: give one DNS label, such as api", pre.flag, cli.Quote(pre.v))
		}
	}
	return nil
}

func runGenConfig(o *Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	st, err := os.Stat(o.Dir)
	if err != nil || !st.IsDir() {
		return cli.UsageErrorf("--output-dir %s is not a folder", o.Dir)
	}
	values := filepath.Join(o.Dir, ValuesFile)
	profile := filepath.Join(o.Dir, ProfileFile)
	if !o.Force {
		for _, p := range []string{values, profile} {
			if _, err := os.Lstat(p); err == nil {
				return cli.WithHint(fmt.Errorf("%s already exists: it holds the platform's secrets", p), "pass --force to replace both files, or --output-dir for another folder")
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	secrets, err := selfhost.NewSecrets()
	if err != nil {
		return err
	}
	v, prof, err := selfhost.Build(o.Params, secrets)
	if err != nil {
		return err
	}
	var yb strings.Builder
	enc := yaml.NewEncoder(&yb)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_ = enc.Close()
	jb, err := prof.Marshal()
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "By using the self-hosted platform you agree to its terms of service: %s\n", TermsURL)
	if err := fileio.WriteAtomic(values, []byte(yb.String())); err != nil {
		return err
	}
	if err := fileio.WriteAtomic(profile, jb); err != nil {
		return err
	}
	s := o.IO.Styles()
	fmt.Fprintf(o.IO.Out, "%s Wrote %s and %s (keep them: they hold the platform's secrets)\n", s.SuccessIcon(), s.Bold(values), s.Bold(profile))
	fmt.Fprintf(o.IO.Out, "Point this CLI at the platform with: %s\n", s.Accent("export ROBUSTA_BACKEND_PROFILE="+profile))
	return nil
}
