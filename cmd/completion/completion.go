// Package completion implements `robusta completion SHELL`.
package completion

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
)

// Shells lists the shells we generate scripts for, in the order of completions/.
var Shells = []string{"bash", "zsh", "fish", "powershell"}

// NewCmdCompletion builds the command.
func NewCmdCompletion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print a completion script for your shell.

  bash:        source <(robusta completion bash)
  zsh:         robusta completion zsh > "${fpath[1]}/_robusta"
  fish:        robusta completion fish > ~/.config/fish/completions/robusta.fish
  powershell:  robusta completion powershell | Out-String | Invoke-Expression`,
		ValidArgs:             Shells,
		DisableFlagsInUseLine: true,
		Args:                  cmdutil.ExactArgs(1, "one shell: bash, zsh, fish or powershell"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return Generate(cmd.Root(), args[0], f.IOStreams.Out)
		},
	}
}

// Generate writes the completion script for shell.
func Generate(root *cobra.Command, shell string, w io.Writer) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, true)
	case "zsh":
		return root.GenZshCompletion(w)
	case "fish":
		return root.GenFishCompletion(w, true)
	case "powershell":
		return root.GenPowerShellCompletionWithDesc(w)
	}
	return cli.UsageErrorf("unsupported shell %q: use %s", shell, fmt.Sprint(Shells))
}
