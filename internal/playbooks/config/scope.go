package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
)

// scope checks a trigger's scope block. Its shape is checked when the runner loads
// (ScopeParams' validators: errors); its terms and regexes only when an event is
// matched (warnings).
func (v *validator) scope(sc *yaml.Node, path string, def *catalogue.Trigger) {
	if isNull(sc) {
		return
	}
	if sc.Kind != yaml.MappingNode {
		v.add(SevError, RuleScope, sc, path, "scope must be a mapping with include and/or exclude, not %s", kindName(sc))
		return
	}
	given := 0
	for i := 0; i+1 < len(sc.Content); i += 2 {
		k, val := sc.Content[i], sc.Content[i+1]
		if k.Value != "include" && k.Value != "exclude" {
			v.add(SevWarning, RuleScope, k, path+"."+k.Value, "scope has no key %q: the runner ignores it (scope takes include and exclude)%s", k.Value, suggest(k.Value, []string{"include", "exclude"}))
			continue
		}
		if isNull(val) {
			continue
		}
		given++
		p := path + "." + k.Value
		if val.Kind != yaml.SequenceNode {
			v.add(SevError, RuleScope, val, p, "scope %s must be a list of matchers (- name: web-.*), not %s", k.Value, kindName(val))
			continue
		}
		if len(val.Content) == 0 {
			v.add(SevError, RuleScope, val, p, "an empty scope %s list: the runner refuses it; remove %s or add a matcher", k.Value, k.Value)
			continue
		}
		for j, m := range val.Content {
			v.matcher(m, indexPath(p, j), def)
		}
	}
	if given == 0 {
		v.add(SevError, RuleScope, sc, path, "scope needs include and/or exclude: the runner refuses an empty scope")
	}
}

// matcher checks one include/exclude item: attribute -> regex or list of regexes.
func (v *validator) matcher(m *yaml.Node, path string, def *catalogue.Trigger) {
	if m.Kind != yaml.MappingNode {
		v.add(SevError, RuleScope, m, path, "a scope matcher is a mapping of attribute to regex (name: web-.*), not %s", kindName(m))
		return
	}
	alert := def.Event == "PrometheusKubernetesAlert"
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, val := m.Content[i], m.Content[i+1]
		p := path + "." + k.Value
		var values []*yaml.Node
		switch {
		case isNull(val):
		case val.Kind == yaml.ScalarNode:
			values = []*yaml.Node{val}
		case val.Kind == yaml.SequenceNode:
			for _, e := range val.Content {
				if e.Kind != yaml.ScalarNode || isNull(e) {
					v.add(SevError, RuleScope, e, p, "scope attribute %s takes strings, not %s", k.Value, kindName(e))
					continue
				}
				values = append(values, e)
			}
		default:
			v.add(SevError, RuleScope, val, p, "scope attribute %s takes a string or a list of strings, not %s", k.Value, kindName(val))
			continue
		}
		offered := "name, namespace, labels, annotations and attributes"
		known := k.Value == "name" || k.Value == "namespace" || k.Value == "labels" || k.Value == "annotations" || k.Value == "attributes"
		if alert {
			offered = "labels and annotations"
			known = k.Value == "labels" || k.Value == "annotations"
		}
		if !known {
			v.add(SevWarning, RuleScope, k, p, "scope attribute %q never matches for %s: it offers %s%s", k.Value, def.Key, offered, suggest(k.Value, strings.Split(strings.ReplaceAll(offered, " and", ","), ", ")))
			continue
		}
		for _, e := range values {
			switch k.Value {
			case "labels", "annotations":
				for _, term := range strings.Split(e.Value, ",") {
					name, re, ok := strings.Cut(term, "=")
					if !ok {
						v.add(SevWarning, RuleScope, e, p, "scope %s term %q has no '=': the runner fails on it; write key=regex or key!=regex, separated by commas", k.Value, strings.TrimSpace(term))
						continue
					}
					if strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(name), "!")) == "" {
						v.add(SevWarning, RuleScope, e, p, "scope %s term %q has no key before '=': it never matches", k.Value, strings.TrimSpace(term))
					}
					v.regex(strings.TrimSpace(re), e, p)
				}
			case "attributes":
				for _, term := range strings.Split(e.Value, ",") {
					if !strings.Contains(term, "=") {
						v.add(SevWarning, RuleScope, e, p, "scope attributes term %q has no '=': the runner logs an error and the matcher never matches; write path=value or path!=value", strings.TrimSpace(term))
					}
				}
			default:
				v.regex(e.Value, e, p)
			}
		}
	}
}

// pythonOnly are regex constructs Python's re has and Go's RE2 lacks.
var pythonOnly = lazyRegexp(`\(\?[=!]|\(\?<[=!]|\(\?P=|\(\?\(|\(\?>|\\[1-9]|[*+?}][+]`)

// regex checks a pattern the runner matches with Python's re.fullmatch.
func (v *validator) regex(re string, n *yaml.Node, path string) {
	if _, err := regexp.Compile(re); err == nil {
		return
	} else if pythonOnly().MatchString(re) {
		v.add(SevInfo, RuleRegex, n, path, "regex %q uses a construct Go's RE2 lacks (lookaround, backreference, ...): it works in the runner, not in local mode", short(re))
	} else {
		v.add(SevWarning, RuleRegex, n, path, "regex %q is not valid (%s): the runner fails matching it", short(re), strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
}

// labelsSelector checks k=v,k2=v2: the runner splits each part on '=' and refuses the
// configuration unless it gets exactly two pieces.
func (v *validator) labelsSelector(n *yaml.Node, path, owner string) {
	if n.Value == "" {
		return
	}
	for _, part := range strings.Split(n.Value, ",") {
		if strings.Count(part, "=") != 1 {
			v.add(SevError, RuleTriggerParam, n, path, "%s labels_selector part %q is not key=value: the runner refuses the configuration (only equality, parts separated by commas)", owner, strings.TrimSpace(part))
		}
	}
}

var scheduleForms = []string{"fixed_delay_repeat", "dynamic_delay_repeat", "cron_schedule_repeat"}

// schedule checks on_schedule: exactly one of its three forms, and the cron expression.
func (v *validator) schedule(params *yaml.Node, path string) {
	var forms []string
	var first *yaml.Node
	for i := 0; i+1 < len(params.Content); i += 2 {
		k := params.Content[i]
		if contains(scheduleForms, k.Value) && !isNull(params.Content[i+1]) {
			forms = append(forms, k.Value)
			if first == nil {
				first = k
			}
		}
	}
	switch {
	case len(forms) == 0:
		v.add(SevError, RuleSchedule, params, path, "on_schedule needs one of fixed_delay_repeat: {seconds_delay: N}, cron_schedule_repeat: {cron_expression: \"0 * * * *\"} or dynamic_delay_repeat: {delay_periods: [N, ...]}")
		return
	case len(forms) > 1:
		v.add(SevError, RuleSchedule, first, path, "on_schedule has %d forms (%s): the runner keeps the first it can read, in the order %s, and drops the rest; keep one", len(forms), strings.Join(forms, ", "), strings.Join(scheduleForms, ", "))
	}
	fixed := lookup(params, "fixed_delay_repeat")
	if fixed != nil && !isNull(fixed) {
		if fixed.Kind != yaml.MappingNode {
			v.add(SevError, RuleSchedule, fixed, path+".fixed_delay_repeat", "fixed_delay_repeat must be a mapping {seconds_delay: N, repeat: N}, not %s", kindName(fixed))
		} else if lookup(fixed, "seconds_delay") == nil {
			v.add(SevError, RuleSchedule, fixed, path+".fixed_delay_repeat", "fixed_delay_repeat needs seconds_delay (the delay between runs, in seconds)")
		}
	}
	dyn := lookup(params, "dynamic_delay_repeat")
	if dyn != nil && !isNull(dyn) {
		if dyn.Kind != yaml.MappingNode {
			v.add(SevError, RuleSchedule, dyn, path+".dynamic_delay_repeat", "dynamic_delay_repeat must be a mapping {delay_periods: [N, ...]}, not %s", kindName(dyn))
		} else if lookup(dyn, "delay_periods") == nil {
			v.add(SevError, RuleSchedule, dyn, path+".dynamic_delay_repeat", "dynamic_delay_repeat needs delay_periods (a list of delays, in seconds)")
		}
	}
	cron := lookup(params, "cron_schedule_repeat")
	if cron == nil || isNull(cron) {
		return
	}
	p := path + ".cron_schedule_repeat"
	if cron.Kind != yaml.MappingNode {
		v.add(SevError, RuleSchedule, cron, p, "cron_schedule_repeat must be a mapping {cron_expression: \"...\"}, not %s", kindName(cron))
		return
	}
	expr := lookup(cron, "cron_expression")
	if expr == nil || isNull(expr) {
		v.add(SevError, RuleSchedule, cron, p, "cron_schedule_repeat needs cron_expression, such as \"0 12 * * 1\" (minute hour day-of-month month day-of-week)")
		return
	}
	if expr.Kind != yaml.ScalarNode {
		v.add(SevError, RuleCron, expr, p+".cron_expression", "cron_expression must be a string, not %s", kindName(expr))
		return
	}
	if err := CheckCron(expr.Value); err != nil {
		v.add(SevError, RuleCron, expr, p+".cron_expression", "bad cron expression %q: %v", expr.Value, err)
	}
}

type cronField struct {
	name     string
	min, max int
	names    map[string]int
}

var (
	months = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}
	days   = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
	// croniter's fields: five, and an optional sixth for seconds (at the end).
	cronFields = []cronField{
		{"minute", 0, 59, nil}, {"hour", 0, 23, nil}, {"day of month", 1, 31, nil},
		{"month", 1, 12, months}, {"day of week", 0, 7, days}, {"second", 0, 59, nil},
	}
	cronMacros = map[string]bool{"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true, "@daily": true, "@midnight": true, "@hourly": true}
)

// CheckCron checks a cron expression as croniter (the runner's parser) reads it: five
// fields (minute hour day-of-month month day-of-week) and an optional sixth for
// seconds, each a list of *, ?, numbers or names, ranges a-b and steps /n; L in the
// day fields, # in day of week; or a macro such as @hourly.
func CheckCron(expr string) error {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return fmt.Errorf("it is empty")
	}
	if strings.HasPrefix(expr, "@") {
		if cronMacros[strings.ToLower(expr)] {
			return nil
		}
		return fmt.Errorf("unknown macro %s (use @hourly, @daily, @weekly, @monthly or @yearly)", expr)
	}
	fields := strings.Fields(expr)
	if len(fields) != 5 && len(fields) != 6 {
		return fmt.Errorf("it has %d fields, cron takes 5 (minute hour day-of-month month day-of-week) or 6 (then seconds last)", len(fields))
	}
	for i, f := range fields {
		if err := cronFields[i].check(f); err != nil {
			return fmt.Errorf("%s field %q: %v", cronFields[i].name, f, err)
		}
	}
	return nil
}

func (c cronField) check(field string) error {
	for _, part := range strings.Split(field, ",") {
		if part == "" {
			return fmt.Errorf("an empty list item")
		}
		body, step, hasStep := strings.Cut(part, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n <= 0 {
				return fmt.Errorf("step %q must be a positive whole number", step)
			}
		}
		if body == "*" || body == "?" || strings.HasPrefix(body, "H") {
			continue // H is croniter's hashed value, H(a-b) a hashed range
		}
		if body == "L" && (c.name == "day of month" || c.name == "day of week") {
			continue
		}
		if c.name == "day of week" {
			if d, nth, ok := strings.Cut(body, "#"); ok {
				if _, err := c.value(d); err != nil {
					return err
				}
				if n, err := strconv.Atoi(nth); err != nil || n < 1 || n > 5 {
					return fmt.Errorf("%q: the week after # must be 1 to 5", body)
				}
				continue
			}
			if strings.HasPrefix(body, "L") {
				body = body[1:]
			}
		}
		lo, hi, isRange := strings.Cut(body, "-")
		a, err := c.value(lo)
		if err != nil {
			return err
		}
		if isRange {
			b, err := c.value(hi)
			if err != nil {
				return err
			}
			if b < a && c.name != "day of week" {
				return fmt.Errorf("range %s has its end before its start", body)
			}
		}
	}
	return nil
}

func (c cronField) value(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < c.min || n > c.max {
			return 0, fmt.Errorf("%d is out of range %d-%d", n, c.min, c.max)
		}
		return n, nil
	}
	if c.names != nil {
		if n, ok := c.names[strings.ToLower(s)]; ok {
			return n, nil
		}
	}
	if c.name == "day of month" && strings.HasSuffix(s, "L") {
		return c.value(strings.TrimSuffix(s, "L"))
	}
	if s == "" {
		return 0, fmt.Errorf("a missing value")
	}
	return 0, fmt.Errorf("%q is not a number%s", s, map[bool]string{true: " or a name (" + nameList(c.names) + ")", false: ""}[c.names != nil])
}

func nameList(m map[string]int) string {
	if len(m) == 12 {
		return "jan-dec"
	}
	return "sun-sat"
}
