package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// selector is one entry of group_by or summary.by: a finding attribute, or a labels /
// annotations map with the keys to take from it.
type selector struct {
	attr string
	keys []string // sorted, for labels and annotations
}

// groupingParams are the sink's grouping: findings with the same group_by values
// form a group for interval; in summary mode a group is one Slack message counting
// its findings per summary.by values (fired and resolved), updated in place, the
// findings themselves in its thread when threaded; in regular mode a group's
// findings are sent once ignore_first of them came within the interval.
type groupingParams struct {
	groupBy  []selector
	interval time.Duration
	summary  bool
	threaded bool
	by       []selector
	// ignoreFirst is regular mode's threshold.
	ignoreFirst int
}

// findingAttrs are the names a selector may use: the runner's finding attribute map
// plus workload and cluster, which its Slack sink adds.
var findingAttrs = map[string]bool{"title": true, "identifier": true, "severity": true, "source": true, "type": true,
	"kind": true, "namespace": true, "node": true, "name": true, "labels": true, "annotations": true,
	"workload": true, "cluster": true}

// parseGrouping reads the grouping param as the runner's GroupingParams: group_by
// defaults to cluster, interval to 900 seconds, summary.threaded to true, summary.by
// to identifier; exactly one of notification_mode's summary and regular must be set.
// Keys the runner ignores are named through warn.
func parseGrouping(v any, warn func(string)) (*groupingParams, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("grouping must be a map with group_by, interval and notification_mode, got %T", v)
	}
	g := &groupingParams{interval: 900 * time.Second, groupBy: []selector{{attr: "cluster"}}}
	for k := range m {
		if k != "group_by" && k != "interval" && k != "notification_mode" {
			warn(fmt.Sprintf("grouping.%s is not a grouping setting and is ignored; the settings are group_by, interval, notification_mode", k))
		}
	}
	var err error
	if raw, ok := m["group_by"]; ok && raw != nil {
		if g.groupBy, err = parseSelectors("grouping.group_by", raw, warn); err != nil {
			return nil, err
		}
	}
	if raw, ok := m["interval"]; ok && raw != nil {
		n, ok := asInt(raw)
		if !ok || n < 0 {
			return nil, fmt.Errorf("grouping.interval must be a whole number of seconds, got %v", raw)
		}
		g.interval = time.Duration(n) * time.Second
	}
	nm, _ := m["notification_mode"].(map[string]any)
	if m["notification_mode"] != nil && nm == nil {
		return nil, fmt.Errorf("grouping.notification_mode must be a map with summary or regular, got %T", m["notification_mode"])
	}
	summary, regular := nm["summary"], nm["regular"]
	_, hasSummary := nm["summary"]
	switch {
	case summary != nil && regular != nil:
		return nil, fmt.Errorf("grouping.notification_mode: set summary or regular, not both")
	case regular != nil:
		r, ok := regular.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("grouping.notification_mode.regular must be a map with ignore_first, got %T", regular)
		}
		n, ok := asInt(r["ignore_first"])
		if !ok || n < 1 {
			return nil, fmt.Errorf("grouping.notification_mode.regular.ignore_first must be a whole number of at least 1, got %v", r["ignore_first"])
		}
		g.ignoreFirst = n
	case summary != nil || hasSummary:
		g.summary, g.threaded, g.by = true, true, []selector{{attr: "identifier"}}
		s, ok := summary.(map[string]any)
		if summary != nil && !ok {
			return nil, fmt.Errorf("grouping.notification_mode.summary must be a map with threaded and by, got %T", summary)
		}
		if t, present := s["threaded"]; present {
			b, ok := t.(bool)
			if !ok {
				return nil, fmt.Errorf("grouping.notification_mode.summary.threaded must be true or false, got %v", t)
			}
			g.threaded = b
		}
		if raw, ok := s["by"]; ok && raw != nil {
			if g.by, err = parseSelectors("grouping.notification_mode.summary.by", raw, warn); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("grouping.notification_mode: set summary (one message per group, counted) or regular (with ignore_first)")
	}
	return g, nil
}

func parseSelectors(field string, raw any, warn func(string)) ([]selector, error) {
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%s must be a list of attribute names or {labels: [...]} / {annotations: [...]}, got %T", field, raw)
	}
	var out []selector
	for i, it := range list {
		switch x := it.(type) {
		case string:
			if !findingAttrs[x] || x == "labels" || x == "annotations" {
				// The runner leaves out an attribute the finding does not have.
				warn(fmt.Sprintf("%s[%d]: %q is not a finding attribute and is left out; use title, identifier, severity, source, type, kind, namespace, node, name, workload, cluster, or {labels: [KEY]}", field, i, x))
			}
			out = append(out, selector{attr: x})
		case map[string]any:
			if len(x) != 1 {
				return nil, fmt.Errorf("%s[%d]: one key per entry (labels or annotations), got %d", field, i, len(x))
			}
			for k, v := range x {
				if k != "labels" && k != "annotations" {
					return nil, fmt.Errorf("%s[%d].%s: only labels and annotations take a list of keys", field, i, k)
				}
				keys, ok := v.([]any)
				if !ok {
					return nil, fmt.Errorf("%s[%d].%s must be a list of %s keys, got %T", field, i, k, k, v)
				}
				sel := selector{attr: k}
				for _, kk := range keys {
					s, ok := kk.(string)
					if !ok {
						return nil, fmt.Errorf("%s[%d].%s: keys must be strings, got %v", field, i, k, kk)
					}
					sel.keys = append(sel.keys, s)
				}
				sort.Strings(sel.keys)
				out = append(out, sel)
			}
		default:
			return nil, fmt.Errorf("%s[%d] must be an attribute name or {labels: [...]}, got %T", field, i, it)
		}
	}
	return out, nil
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), n == float64(int(n))
	}
	return 0, false
}

// value is one part of a group or summary key; nil is the runner's None (an
// attribute or label the finding lacks).
type value = *string

func str(s string) value { return &s }

// keyOf is the runner's get_group_key_and_header: the finding's values for the
// selectors, and their description for the summary ("namespace: default", "labels:
// app=web").
func (s *Sink) keyOf(f *engine.Finding, sels []selector) (key []value, header []string) {
	for _, sel := range sels {
		if sel.keys == nil {
			v, ok := s.attribute(sel.attr, f)
			if !ok {
				continue
			}
			key = append(key, v)
			name := sel.attr
			if name == "identifier" {
				name = "notification"
			}
			header = append(header, name+": "+display(v))
			continue
		}
		labels := f.Subject.Labels
		if sel.attr == "annotations" {
			labels = f.Subject.Annotations
		}
		var parts []string
		for _, k := range sel.keys {
			var v value
			if l, ok := labels[k]; ok {
				v = str(l)
			}
			key = append(key, v)
			parts = append(parts, k+"="+display(v))
		}
		header = append(header, sel.attr+": "+strings.Join(parts, ", "))
	}
	return key, header
}

// attribute is a plain attribute's value; false for names the finding has not.
func (s *Sink) attribute(attr string, f *engine.Finding) (value, bool) {
	switch attr {
	case "cluster":
		return str(s.cluster), true
	case "workload":
		// The runner's finding.service.name: None when no owner workload is known.
		if f.Workload == nil {
			return nil, true
		}
		return str(f.Workload.Name), true
	case "labels", "annotations":
		return nil, false
	}
	if !findingAttrs[attr] {
		return nil, false
	}
	return str(sinks.Attribute(attr, f)), true
}

func display(v value) string {
	if v == nil {
		return "(undefined)"
	}
	return *v
}

// pyStr is Python's str() of a key part.
func pyStr(v value) string {
	if v == nil {
		return "None"
	}
	return *v
}

func joinKey(k []value) string {
	var sb strings.Builder
	for _, v := range k {
		if v == nil {
			sb.WriteString("\x01")
		} else {
			sb.WriteString(*v)
		}
		sb.WriteString("\x00")
	}
	return sb.String()
}

// summaryRow counts one summary key's findings in a group's interval.
type summaryRow struct {
	key             []value
	fired, resolved int
}

// summary is one group's summary message.
type summary struct {
	ts    string // the message's ts once posted; empty posts a new one
	start time.Time
	rows  map[string]*summaryRow
	// channelID is the channel's id from Slack's answer: chat.update needs the id
	// where chat.postMessage takes the name.
	channelID string
	// attached is the file holding the whole table when the message shows part of
	// it, and when it was uploaded.
	attached   uploaded
	attachedAt time.Time
}

// attachmentRefresh is how long an uploaded summary table is kept before the next
// update uploads a fresh one: the message changes on every finding, the file not.
const attachmentRefresh = 60 * time.Second

// grouper keeps the sink's groups, as the runner's SinkBase does, under one lock so
// two findings of one group never post two summaries.
type grouper struct {
	p         *groupingParams
	now       func() time.Time
	mu        sync.Mutex
	summaries map[string]*summary
	regular   map[string][]time.Time
	// last is the finding accounted last: the outbox retries a failed Send with the
	// same finding, which must not be counted twice.
	last *engine.Finding
}

func newGrouper(p *groupingParams) *grouper {
	return &grouper{p: p, now: time.Now, summaries: map[string]*summary{}, regular: map[string][]time.Time{}}
}

// send is the runner's handle_notification_grouping.
func (s *Sink) sendGrouped(ctx context.Context, f *engine.Finding) (bool, error) {
	g := s.group
	g.mu.Lock()
	defer g.mu.Unlock()
	groupKey, groupHeader := s.keyOf(f, g.p.groupBy)
	channel := s.channel(f)
	if s.p.ChannelOverride != "" {
		// Findings for different channels form different groups, each its own
		// summary and thread.
		groupKey = append(groupKey, str(channel))
	}
	gk := joinKey(groupKey)
	fresh := f != g.last
	g.last = f
	now := g.now()
	if !g.p.summary {
		if !fresh {
			return s.sendFinding(ctx, f, "")
		}
		// Regular mode: the group's findings within the interval are counted and the
		// finding goes out once there are ignore_first of them.
		ts := g.regular[gk]
		for len(ts) > 0 && now.Sub(ts[0]) > g.p.interval {
			ts = ts[1:]
		}
		ts = append(ts, now)
		g.regular[gk] = ts
		if len(ts) < g.p.ignoreFirst {
			return false, nil
		}
		return s.sendFinding(ctx, f, "")
	}
	sm := g.summaries[gk]
	if sm == nil {
		sm = &summary{}
		g.summaries[gk] = sm
	}
	if fresh {
		if now.Sub(sm.start) > g.p.interval || len(sm.rows) == 0 {
			// A new interval: a new message with fresh counts.
			sm.rows, sm.start, sm.ts = map[string]*summaryRow{}, now, ""
			// The last interval's message keeps linking its file: forget it, never
			// delete it.
			sm.attached, sm.attachedAt = uploaded{}, time.Time{}
		}
		key, _ := s.keyOf(f, g.p.by)
		row := sm.rows[joinKey(key)]
		if row == nil {
			row = &summaryRow{key: key}
			sm.rows[joinKey(key)] = row
		}
		if strings.HasPrefix(f.Title, "[RESOLVED]") {
			row.resolved++
		} else {
			row.fired++
		}
	}
	text, blocks, st := s.summaryMessage(groupHeader, sm)
	var superseded string
	if st.omitted > 0 && sm.ts != "" {
		// The message shows part of the table: the whole of it goes in a file in the
		// summary's thread, linked from the message. The first message has no thread
		// yet, so its file comes with the first update.
		superseded = s.refreshAttachment(ctx, sm, st.full, now)
		if sm.attached.permalink != "" {
			link := fmt.Sprintf("<%s|See all %d groups> (attached)", sm.attached.permalink, st.rows)
			if g.p.threaded {
				blocks = append(blocks[:len(blocks)-1], section(link), blocks[len(blocks)-1])
			} else {
				blocks = append(blocks, section(link))
			}
			text += fmt.Sprintf("\n<%s|%s>", sm.attached.permalink, attachmentName)
		}
	}
	msg := map[string]any{"text": text, "blocks": blocks}
	method := "chat.postMessage"
	if sm.ts != "" {
		method = "chat.update"
		msg["channel"], msg["ts"] = sm.channelID, sm.ts
	} else {
		msg["channel"] = channel
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return false, fmt.Errorf("encoding slack summary: %w", err)
	}
	r, retry, err := s.call(ctx, method, "application/json; charset=utf-8", body)
	if err != nil {
		return retry, fmt.Errorf("summary message: %w", err)
	}
	if sm.ts == "" {
		sm.ts, sm.channelID = r.TS, r.Channel
	}
	if superseded != "" {
		// Only now does the message link the new file; the old one may go. A file
		// left behind is better than a failed update, so an error is not returned.
		form := url.Values{"file": {superseded}}
		_, _, _ = s.call(ctx, "files.delete", "application/x-www-form-urlencoded", []byte(form.Encode()))
	}
	if !g.p.threaded {
		return false, nil
	}
	return s.sendFinding(ctx, f, sm.ts)
}

// summaryMessage is the runner's summary message for a group: the count, the
// cluster, the group's criteria, the interval and the table of counts per summary
// key (most fired first), within Slack's block size.
func (s *Sink) summaryMessage(groupHeader []string, sm *summary) (string, []map[string]any, tableState) {
	rows := make([]*summaryRow, 0, len(sm.rows))
	total := 0
	for _, r := range sm.rows {
		rows = append(rows, r)
		total += r.fired + r.resolved
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.fired != b.fired {
			return a.fired > b.fired
		}
		if a.resolved != b.resolved {
			return a.resolved > b.resolved
		}
		for k := 0; k < len(a.key) && k < len(b.key); k++ {
			if x, y := pyStr(a.key[k]), pyStr(b.key[k]); x != y {
				return x < y
			}
		}
		return len(a.key) < len(b.key)
	})
	var cells [][]string
	for _, r := range rows {
		var row []string
		for _, v := range r.key {
			row = append(row, pyStr(v))
		}
		cells = append(cells, append(row, strconv.Itoa(r.fired), strconv.Itoa(r.resolved)))
	}
	headers := append(s.summaryHeader(), "Fired", "Resolved")
	var criteria []string
	for _, h := range groupHeader {
		criteria = append(criteria, "`"+h+"`")
	}
	start := sm.start.UTC()
	tbl, omitted := summaryTable(headers, cells)
	blocks := []map[string]any{
		section(fmt.Sprintf("*Alerts Summary - %d Notifications*", total)),
		section(fmt.Sprintf("*Cluster:* `%s`", s.cluster)),
		section("*Matching criteria*: " + strings.Join(criteria, ", ")),
		section(fmt.Sprintf("*Time interval:* `%s` starting at `<!date^%d^{date_num} {time}|%s>`",
			humanDuration(int(s.group.p.interval/time.Second)), start.Unix(), start.Format("2006-01-02 15:04 UTC"))),
		section(tbl),
	}
	if s.group.p.threaded {
		blocks = append(blocks, section("See thread for individual alerts"))
	}
	st := tableState{omitted: omitted, rows: len(cells)}
	if omitted > 0 {
		st.full = presto(headers, cells)
	}
	return "Summary for: " + strings.Join(groupHeader, ", "), blocks, st
}

// tableState is what the summary's table left out: the rows not shown, of how many,
// and the whole table for the attachment.
type tableState struct {
	omitted, rows int
	full          string
}

// attachmentName is the summary table file's name, as the runner's.
const attachmentName = "alerts-summary.txt"

// refreshAttachment uploads the whole table into the summary's thread unless the
// file uploaded last is younger than attachmentRefresh, and returns the id of the
// file the new one replaces. A failed upload keeps the last file.
func (s *Sink) refreshAttachment(ctx context.Context, sm *summary, full string, now time.Time) string {
	if sm.attached.permalink != "" && now.Sub(sm.attachedAt) < attachmentRefresh {
		return ""
	}
	u, err := s.upload(ctx, sm.channelID, sm.ts, engine.File(attachmentName, []byte(full)))
	if err != nil || u.permalink == "" {
		if s.logf != nil {
			s.logf("sink %s: the whole summary table was not attached: %v", s.name, err)
		}
		return ""
	}
	old := sm.attached.id
	sm.attached, sm.attachedAt = u, now
	return old
}

// summaryHeader names the summary table's key columns as the runner does:
// notification for identifier, label:KEY and annotation:KEY for map entries.
func (s *Sink) summaryHeader() []string {
	var out []string
	for _, sel := range s.group.p.by {
		switch {
		case sel.keys != nil:
			for _, k := range sel.keys {
				out = append(out, strings.TrimSuffix(sel.attr, "s")+":"+k)
			}
		case sel.attr == "identifier":
			out = append(out, "notification")
		default:
			out = append(out, sel.attr)
		}
	}
	return out
}

// blockBudget is the runner's block size limit less one: a table past it loses rows,
// not its closing fence.
const blockBudget = 2996

// summaryTable is the table as one fenced block, dropping the least counted rows (and
// saying what they held) when it does not fit. With no key columns the runner shows
// a list instead.
func summaryTable(headers []string, rows [][]string) (string, int) {
	if len(headers) <= 2 {
		var lines []string
		for _, r := range rows {
			lines = append(lines, fmt.Sprintf("● %s `%s`", r[0], r[1]))
		}
		return " \n" + strings.Join(lines, "\n"), 0
	}
	const prefix, suffix = "```\n", "\n```"
	budget := blockBudget - len(prefix) - len(suffix)
	full := presto(headers, rows)
	if len(full) <= budget {
		return prefix + full + suffix, 0
	}
	best, shown := "", 0
	for lo, hi := 0, len(rows); lo <= hi; {
		mid := (lo + hi) / 2
		c := presto(headers, rows[:mid])
		if mid < len(rows) {
			fired, resolved := 0, 0
			for _, r := range rows[mid:] {
				f, _ := strconv.Atoi(r[len(r)-2])
				rs, _ := strconv.Atoi(r[len(r)-1])
				fired, resolved = fired+f, resolved+rs
			}
			c += fmt.Sprintf("\n... %d more groups (%d fired, %d resolved) not shown", len(rows)-mid, fired, resolved)
		}
		if len(c) <= budget {
			best, shown, lo = c, mid, mid+1
		} else {
			hi = mid - 1
		}
	}
	return prefix + best + suffix, len(rows) - shown
}

// presto lays a table out as the tabulate library's "presto" format, which the
// runner uses: columns padded by one space and separated by "|", a dashed rule with
// "+" under the header, numeric columns right-aligned and at least two wider than
// their header, no trailing spaces on a line.
func presto(headers []string, rows [][]string) string {
	n := len(headers)
	numeric := make([]bool, n)
	width := make([]int, n)
	for c := 0; c < n; c++ {
		numeric[c] = len(rows) > 0
		for _, r := range rows {
			if _, err := strconv.ParseFloat(r[c], 64); err != nil {
				numeric[c] = false
			}
		}
		width[c] = runeLen(headers[c]) + 2
		for _, r := range rows {
			if w := runeLen(r[c]); w > width[c] {
				width[c] = w
			}
		}
	}
	line := func(cells []string) string {
		parts := make([]string, n)
		for c := 0; c < n; c++ {
			pad := strings.Repeat(" ", width[c]-runeLen(cells[c]))
			if numeric[c] {
				parts[c] = " " + pad + cells[c] + " "
			} else {
				parts[c] = " " + cells[c] + pad + " "
			}
		}
		return strings.TrimRight(strings.Join(parts, "|"), " ")
	}
	out := []string{line(headers)}
	rule := make([]string, n)
	for c := range rule {
		rule[c] = strings.Repeat("-", width[c]+2)
	}
	out = append(out, strings.Join(rule, "+"))
	for _, r := range rows {
		out = append(out, line(r))
	}
	return strings.Join(out, "\n")
}

func runeLen(s string) int { return len([]rune(s)) }

// humanDuration is the humanize library's precisedelta in seconds, as the runner
// writes the interval: "15 minutes", "1 minute and 30 seconds", "1 hour, 1 minute and
// 1 second".
func humanDuration(sec int) string {
	units := []struct {
		name string
		n    int
	}{{"day", 86400}, {"hour", 3600}, {"minute", 60}, {"second", 1}}
	var parts []string
	for _, u := range units {
		if q := sec / u.n; q > 0 {
			sec -= q * u.n
			p := fmt.Sprintf("%d %s", q, u.name)
			if q != 1 {
				p += "s"
			}
			parts = append(parts, p)
		}
	}
	switch len(parts) {
	case 0:
		return "0 seconds"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
