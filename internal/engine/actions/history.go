package actions

import (
	"context"
	"fmt"
	"sort"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "event_history", Event: "ExecutionBaseEvent",
		Doc: "Sweep the cluster for objects that had a Warning event and attach each one's whole event history", Do: eventHistory})
}

// eventPageSize is larger than pageSize: an Event is small, and each page of a paged
// list is a read of etcd, so fewer pages make a sweep faster for a few MB held.
const eventPageSize = 2000

// sweepClient is a clientset for reading many pages one after the other. client-go's
// default limiter (5 requests a second after a burst of 10) would make a sweep of
// 20,000 events wait seconds between pages, and protobuf decodes faster than JSON.
func sweepClient(r *engine.Run) (kubernetes.Interface, error) {
	cfg, err := r.KF.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return cs, nil
}

// sweepEvents pages through the events of all namespaces (events.k8s.io/v1) that match
// the field selector, handing each page's items to each; only a page is held at a time.
func sweepEvents(ctx context.Context, r *engine.Run, selector string, each func(*eventsv1.Event)) error {
	cs, err := sweepClient(r)
	if err != nil {
		return err
	}
	opts := metav1.ListOptions{FieldSelector: selector, Limit: eventPageSize}
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

// warnedObject is an object's events; once it has a Warning, the first one seen names
// it, as the runner's finding for it does.
type warnedObject struct {
	kind, namespace, name string
	warned                bool
	first                 historyRow
	rows                  []historyRow
}

// eventHistory is the runner's event_history: one entry per object that had a Warning
// event, in the order of its first Warning, with every event of the object. The runner
// lists the Warning events and then asks the API server once per object; this sweeps
// all events once, paged, keeping a small row per event (not the Event) and each
// object's first Warning, which gives the same tables in one pass. The runner makes a
// finding per object; a local run has one finding, so each object is an enrichment
// titled as the runner's finding would be.
func eventHistory(ctx context.Context, r *engine.Run, _ any) error {
	index := map[string]*warnedObject{}
	var warned []*warnedObject
	err := sweepEvents(ctx, r, "", func(e *eventsv1.Event) {
		k := e.Regarding.Namespace + "/" + e.Regarding.Kind + "/" + e.Regarding.Name
		o := index[k]
		if o == nil {
			o = &warnedObject{kind: e.Regarding.Kind, namespace: e.Regarding.Namespace, name: e.Regarding.Name}
			index[k] = o
		}
		o.rows = append(o.rows, historyRow{at: metav1.NewTime(v1EventTime(e)), reason: e.Reason, typ: e.Type, notes: e.Note})
		if e.Type == "Warning" && !o.warned {
			o.warned, o.first = true, historyRow{reason: e.Reason, typ: e.Type, notes: e.Note}
			warned = append(warned, o)
		}
	})
	if err != nil {
		return err
	}
	r.Finding.Title = fmt.Sprintf("Event history: %d objects with Warning events", len(warned))
	for _, o := range warned {
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
