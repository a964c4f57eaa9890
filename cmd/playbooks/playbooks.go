// Package playbooks groups the `robusta playbooks ...` commands.
package playbooks

import (
	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/cmd/playbooks/configcmds"
	"github.com/robusta-dev/robusta-go/cmd/playbooks/dev"
	"github.com/robusta-dev/robusta-go/cmd/playbooks/reload"
	"github.com/robusta-dev/robusta-go/cmd/playbooks/repos"
	"github.com/robusta-dev/robusta-go/cmd/playbooks/trigger"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
)

// NewCmdPlaybooks builds the group.
func NewCmdPlaybooks(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "playbooks",
		Short: "Trigger, reload, ship and configure playbooks",
		Args:  cmdutil.NoArgs,
	}
	cmd.AddCommand(trigger.NewCmdTrigger(f, nil))
	cmd.AddCommand(reload.NewCmdReload(f, nil))
	cmd.AddCommand(repos.NewCmdPush(f, nil))
	cmd.AddCommand(dev.NewCmdDev(f, nil))
	cmd.AddCommand(repos.NewCmdValidateRepo(f))
	cmd.AddCommand(repos.NewCmdPackage(f))
	cmd.AddCommand(repos.NewCmdListDirs(f))
	cmd.AddCommand(repos.NewCmdPull(f))
	cmd.AddCommand(repos.NewCmdDelete(f))
	cmd.AddCommand(configcmds.NewCmdValidate(f, nil))
	cmd.AddCommand(configcmds.NewCmdList(f))
	cmd.AddCommand(configcmds.NewCmdShowConfig(f))
	cmd.AddCommand(configcmds.NewCmdConfigure(f))
	cmd.AddCommand(configcmds.NewCmdEditConfig(f))
	return cmd
}
