// Package version implements `robusta version`.
package version

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/build"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
)

// Options for `robusta version`.
type Options struct {
	IO     *cli.IOStreams
	Output func() cli.OutputFormat
}

// NewCmdVersion builds the command; runF replaces the run function in tests.
func NewCmdVersion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Output: f.OutputFormat}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of robusta",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runVersion(opts)
		},
	}
}

func runVersion(opts *Options) error {
	info := build.Current()
	if of := opts.Output(); of.Structured() {
		return cli.PrintStructured(opts.IO.Out, of, info)
	}
	_, err := fmt.Fprintf(opts.IO.Out, "robusta %s (commit %s, built %s, %s, %s)\n",
		info.Version, info.Commit, info.Date, info.GoVersion, info.Platform)
	return err
}
