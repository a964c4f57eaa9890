package actions

import (
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// button is a callback button of the runner's UI. Locally it shows the command line
// that does what clicking it does in the runner (see buttonCommand).
func button(label, action string, args ...string) engine.Block {
	return engine.Callback(label, buttonCommand(action, args...))
}

// buttonCommand is the one rule for buttons in local mode. Clicking a button makes the
// runner run the action for real; it has no dry run. Locally an action that changes
// the cluster or starts pods does so only under --apply, and the flag changes nothing
// for the others, so every command line carries it. args are the target and params,
// each quoted for a POSIX shell when it needs to be. A button whose action has no
// local implementation shows the action's name and says so instead of a command that
// would fail.
func buttonCommand(action string, args ...string) string {
	if _, ok := engine.Lookup(action); !ok {
		return action + " (runner only: no local command)"
	}
	words := []string{"robusta", "local", "run", action}
	for _, a := range args {
		words = append(words, shellWord(a))
	}
	return strings.Join(append(words, "--apply"), " ")
}
