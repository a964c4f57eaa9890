// Package fswatch holds the debounce loop that `local watch` (reload on a config
// change) and `playbooks dev` (push on a tree change) share: editors save in several
// steps, so a burst of events is one change once it has been quiet for a while.
package fswatch

import (
	"context"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce reads w until ctx ends or w's channels close, then closes w. Every event
// that relevant accepts (nil accepts all) starts the quiet period again; once quiet
// for d, one signal goes out on the returned channel, coalesced with one still
// pending. Watcher errors go to onErr when set.
func Debounce(ctx context.Context, w *fsnotify.Watcher, d time.Duration, relevant func(fsnotify.Event) bool, onErr func(error)) <-chan struct{} {
	out := make(chan struct{}, 1)
	go func() {
		defer w.Close()
		var timer *time.Timer
		var fire <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if relevant != nil && !relevant(ev) {
					continue
				}
				if timer == nil {
					timer = time.NewTimer(d)
				} else {
					timer.Reset(d)
				}
				fire = timer.C
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				if onErr != nil {
					onErr(err)
				}
			case <-fire:
				fire = nil
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}
