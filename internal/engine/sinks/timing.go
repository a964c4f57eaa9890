package sinks

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // activity and mute_intervals name IANA zones; not every OS has them
)

// activity is a sink's active hours: a finding is sent only while one of its slices
// holds, in its time zone.
type activity struct {
	loc    *time.Location
	slices []timeSlice
}

// timeSlice is days of the week and, when given, [start, end] ranges in seconds of
// the day (both ends included, as the runner compares).
type timeSlice struct {
	days  map[time.Weekday]bool
	hours [][2]int
}

// muteInterval is a period, to the minute and both ends included, in which the sink
// gets nothing.
type muteInterval struct {
	loc        *time.Location
	start, end string // "YYYY-MM-DD HH:MM": compares as the runner's tuples do
}

// The runner's day names; Thursday is THR.
var dayNames = map[string]time.Weekday{"MON": time.Monday, "TUE": time.Tuesday, "WED": time.Wednesday,
	"THR": time.Thursday, "FRI": time.Friday, "SAT": time.Saturday, "SUN": time.Sunday}

var (
	hhmm     = regexp.MustCompile(`^\d\d:\d\d$`)
	dateTime = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})$`)
)

func zone(v any) (*time.Location, error) {
	name := "UTC"
	if v != nil {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("timezone must be a name such as Europe/Paris, got %v", v)
		}
		name = s
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		return nil, fmt.Errorf("unknown timezone %q; use an IANA name such as UTC or Europe/Paris", name)
	}
	return loc, nil
}

// secondOfDay reads "HH:MM".
func secondOfDay(v any) (int, error) {
	s, _ := v.(string)
	if !hhmm.MatchString(s) {
		return 0, fmt.Errorf("invalid time %v; use HH:MM", v)
	}
	var h, m int
	fmt.Sscanf(s, "%d:%d", &h, &m)
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("invalid time %s", s)
	}
	return h*3600 + m*60, nil
}

func parseActivity(v any) (*activity, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be a map with timezone and intervals, got %T", v)
	}
	loc, err := zone(m["timezone"])
	if err != nil {
		return nil, err
	}
	a := &activity{loc: loc}
	list, _ := m["intervals"].([]any)
	if len(list) == 0 {
		return nil, fmt.Errorf("intervals: give at least one interval of days (and hours)")
	}
	for i, it := range list {
		im, _ := it.(map[string]any)
		days, _ := im["days"].([]any)
		if len(days) == 0 {
			return nil, fmt.Errorf("intervals[%d]: days are required (MON, TUE, WED, THR, FRI, SAT, SUN)", i)
		}
		ts := timeSlice{days: map[time.Weekday]bool{}}
		for _, d := range days {
			s, _ := d.(string)
			wd, ok := dayNames[strings.ToUpper(s)]
			if !ok {
				return nil, fmt.Errorf("intervals[%d]: invalid day name %v; use MON, TUE, WED, THR, FRI, SAT or SUN", i, d)
			}
			ts.days[wd] = true
		}
		hours, _ := im["hours"].([]any)
		for j, h := range hours {
			hm, _ := h.(map[string]any)
			start, err := secondOfDay(hm["start"])
			if err != nil {
				return nil, fmt.Errorf("intervals[%d].hours[%d].start: %w", i, j, err)
			}
			end, err := secondOfDay(hm["end"])
			if err != nil {
				return nil, fmt.Errorf("intervals[%d].hours[%d].end: %w", i, j, err)
			}
			ts.hours = append(ts.hours, [2]int{start, end})
		}
		a.slices = append(a.slices, ts)
	}
	return a, nil
}

// activeAt is the runner's check: some slice has today's weekday and, when it has
// hours, one range holding the current second of the day.
func (a *activity) activeAt(now time.Time) bool {
	if a == nil {
		return true
	}
	t := now.In(a.loc)
	sec := t.Hour()*3600 + t.Minute()*60 + t.Second()
	for _, s := range a.slices {
		if !s.days[t.Weekday()] {
			continue
		}
		if len(s.hours) == 0 {
			return true
		}
		for _, h := range s.hours {
			if h[0] <= sec && sec <= h[1] {
				return true
			}
		}
	}
	return false
}

func parseMutes(v any) ([]muteInterval, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf(": must be a list of {start_date, end_date, timezone}, got %T", v)
	}
	var out []muteInterval
	for i, it := range list {
		m, _ := it.(map[string]any)
		loc, err := zone(m["timezone"])
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		mi := muteInterval{loc: loc}
		for _, f := range []struct {
			key string
			dst *string
		}{{"start_date", &mi.start}, {"end_date", &mi.end}} {
			s, _ := m[f.key].(string)
			p := dateTime.FindStringSubmatch(s)
			if p == nil {
				return nil, fmt.Errorf("[%d].%s: invalid date-time %v; use YYYY-MM-DD HH:MM", i, f.key, m[f.key])
			}
			var mo, d, h, mi2 int
			fmt.Sscanf(p[2]+" "+p[3]+" "+p[4]+" "+p[5], "%d %d %d %d", &mo, &d, &h, &mi2)
			if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi2 > 59 {
				return nil, fmt.Errorf("[%d].%s: invalid date-time %s", i, f.key, s)
			}
			*f.dst = s
		}
		out = append(out, mi)
	}
	return out, nil
}

// mutedAt says whether now, to the minute in the interval's zone, is within it.
func (m muteInterval) mutedAt(now time.Time) bool {
	cur := now.In(m.loc).Format("2006-01-02 15:04")
	return m.start <= cur && cur <= m.end
}
