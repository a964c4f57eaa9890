package actions

import (
	"context"
	"fmt"
	"sort"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "event_history", Event: "ExecutionBaseEvent",
		Doc: "Sweep the cluster for objects that had a Warning event and attach each one's whole event history", Do: eventHistory})
}

// sweepEvents pages through the events of all namespaces (events.k8s.io/v1) that match
// the field selector, handing each page's items to each; only a page is held at a time.
func sweepEvents(ctx context.Context, r *engine.Run, selector string, each func(*eventsv1.Event)) error {
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	opts := metav1.ListOptions{FieldSelector: selector, Limit: pageSize}
	for {
		list, err := cs.EventsV1().Events("").List(ctx, opts)
		if err != nil {
			return r.KF.Explain(err, "list", "events.events.k8s.io", "")
		}
		for i := range list.Items {
			each(&list.Items[i])
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			return nil
		}
	}
}

// historyRow is what the table keeps of one event, so the sweep holds no whole Events.
type historyRow struct {
	at                 metav1.Time
	reason, typ, notes string
}

// warnedObject is an object with a Warning event: the first one seen names it, as the
// runner's finding for it does.
type warnedObject struct {
	kind, namespace, name string
	first                 historyRow
	rows                  []historyRow
}

// eventHistory is the runner's event_history: one entry per object that had a Warning
// event, in the order of its first Warning, with every event of the object. The runner
// asks the API server once per object; this sweeps the Warning events once and then all
// events once, both paged, which gives the same tables in two passes. The runner makes a
// finding per object; a local run has one finding, so each object is an enrichment
// titled as the runner's finding would be.
func eventHistory(ctx context.Context, r *engine.Run, _ any) error {
	index := map[string]*warnedObject{}
	var order []*warnedObject
	key := func(e *eventsv1.Event) string {
		return e.Regarding.Namespace + "/" + e.Regarding.Kind + "/" + e.Regarding.Name
	}
	err := sweepEvents(ctx, r, "type=Warning", func(e *eventsv1.Event) {
		k := key(e)
		if index[k] != nil {
			return
		}
		o := &warnedObject{kind: e.Regarding.Kind, namespace: e.Regarding.Namespace, name: e.Regarding.Name,
			first: historyRow{reason: e.Reason, typ: e.Type, notes: e.Note}}
		index[k] = o
		order = append(order, o)
	})
	if err != nil {
		return err
	}
	r.Finding.Title = fmt.Sprintf("Event history: %d objects with Warning events", len(order))
	if len(order) == 0 {
		return nil
	}
	err = sweepEvents(ctx, r, "", func(e *eventsv1.Event) {
		if o := index[key(e)]; o != nil {
			o.rows = append(o.rows, historyRow{at: metav1.NewTime(v1EventTime(e)), reason: e.Reason, typ: e.Type, notes: e.Note})
		}
	})
	if err != nil {
		return err
	}
	for _, o := range order {
		if len(o.rows) == 0 {
			continue // its events expired between the sweeps: the runner skips it too
		}
		sort.SliceStable(o.rows, func(i, j int) bool { return o.rows[i].at.After(o.rows[j].at.Time) })
		rows := make([][]string, len(o.rows))
		for i, h := range o.rows {
			rows[i] = []string{h.reason, h.typ, h.at.UTC().Format("2006-01-02 15:04:05"), h.notes}
		}
		title := fmt.Sprintf("%s %s for %s %s/%s", o.first.reason, o.first.typ, o.kind, o.namespace, o.name)
		r.Finding.AddEnrichment(title, engine.Markdown(o.first.notes),
			engine.Table("Resource events", []string{"reason", "type", "time", "message"}, rows))
	}
	return nil
}
