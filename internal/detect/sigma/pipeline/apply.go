package pipeline

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
)

// Sort orders pipelines by priority (stable), as pySigma chains them.
func Sort(pipes []*Pipeline) []*Pipeline {
	out := append([]*Pipeline(nil), pipes...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Priority < out[j].Priority })
	return out
}

// FailureError is a rule refused by a rule_failure or
// detection_item_failure transformation.
type FailureError struct {
	Pipeline string
	Line     int
	Message  string
}

func (e *FailureError) Error() string {
	return fmt.Sprintf("pipeline %s (line %d) refuses the rule: %s", e.Pipeline, e.Line, e.Message)
}

type state struct {
	rule      *sigma.Rule
	ruleIDs   map[string]bool
	itemIDs   map[*sigma.Item]map[string]bool
	condCount int
}

// Apply runs the pipelines, in priority order, over a copy of r and
// returns the copy. r is not changed.
func Apply(pipes []*Pipeline, r *sigma.Rule) (*sigma.Rule, error) {
	st := &state{rule: sigma.CloneRule(r), ruleIDs: map[string]bool{}, itemIDs: map[*sigma.Item]map[string]bool{}}
	for _, p := range Sort(pipes) {
		for _, it := range p.Items {
			if !st.ruleMatch(it) {
				continue
			}
			if err := st.apply(p, it); err != nil {
				return nil, err
			}
		}
	}
	return st.rule, nil
}

// MapField returns the names that field would have in rule r's detection
// items after the pipelines (one name usually; several when a mapping gives
// alternatives). Correlations use it for group-by and value fields.
func MapField(pipes []*Pipeline, r *sigma.Rule, field string) []string {
	probe := *r
	it := &sigma.Item{Field: field, Raw: []sigma.RawValue{{Kind: sigma.RawString, Text: "x"}}}
	_ = sigma.ApplyModifiers(it, sigma.ValueOptions{})
	probe.Detection = sigma.Detection{
		Searches:   []*sigma.Search{{Name: "probe", Root: &sigma.Node{Kind: sigma.NodeItem, Item: it}}},
		Conditions: []*sigma.Cond{{Op: sigma.CondRef, Name: "probe"}},
	}
	out, err := Apply(pipes, &probe)
	if err != nil {
		return []string{field}
	}
	var names []string
	for _, s := range out.Detection.Searches {
		if s.Name != "probe" {
			continue
		}
		walkItems(s.Root, func(i *sigma.Item) { names = append(names, i.Field) })
	}
	if len(names) == 0 {
		return []string{field}
	}
	return names
}

func walkItems(n *sigma.Node, f func(*sigma.Item)) {
	if n == nil {
		return
	}
	if n.Kind == sigma.NodeItem {
		f(n.Item)
		return
	}
	for _, k := range n.Kids {
		walkItems(k, f)
	}
}

func (st *state) ruleMatch(it *Item) bool {
	if len(it.RuleConds) == 0 {
		return true
	}
	res := !it.RuleCondOr
	for _, c := range it.RuleConds {
		m := st.ruleCond(c)
		if it.RuleCondOr {
			res = res || m
		} else {
			res = res && m
		}
	}
	if it.RuleCondNot {
		res = !res
	}
	return res
}

func (st *state) ruleCond(c RuleCond) bool {
	r := st.rule
	switch c.Type {
	case "logsource":
		return c.LogSource.Covers(r.LogSource)
	case "tag":
		for _, t := range r.Tags {
			if strings.EqualFold(t, c.Tag) {
				return true
			}
		}
		return false
	case "processing_item_applied":
		return st.ruleIDs[c.ItemID]
	case "contains_field":
		found := false
		for _, s := range r.Detection.Searches {
			walkItems(s.Root, func(i *sigma.Item) {
				if i.Field == c.Field {
					found = true
				}
			})
		}
		return found
	case "rule_attribute":
		var v string
		switch c.Attribute {
		case "level":
			v = r.Level
		case "status":
			v = r.Status
		case "id":
			v = r.ID
		case "title":
			v = r.Title
		case "name":
			v = r.Name
		case "author":
			v = r.Author
		}
		if c.Op == "ne" {
			return v != c.Value
		}
		return v == c.Value
	case "is_sigma_rule":
		return true
	case "is_sigma_correlation_rule":
		return false
	}
	return false
}

func (st *state) fieldMatch(it *Item, item *sigma.Item, field string) bool {
	if len(it.FieldConds) == 0 {
		return true
	}
	res := !it.FieldCondOr
	for _, c := range it.FieldConds {
		var m bool
		switch c.Type {
		case "include_fields", "exclude_fields":
			in := false
			if c.Regex != nil {
				for _, re := range c.Regex {
					if re.MatchString(field) {
						in = true
					}
				}
			} else {
				for _, f := range c.Fields {
					if f == field {
						in = true
					}
				}
			}
			m = in == (c.Type == "include_fields")
		case "processing_item_applied":
			m = item != nil && st.itemIDs[item][c.ItemID]
		}
		if it.FieldCondOr {
			res = res || m
		} else {
			res = res && m
		}
	}
	if it.FieldCondNot {
		res = !res
	}
	return res
}

func (st *state) detMatch(it *Item, item *sigma.Item) bool {
	if len(it.DetConds) == 0 {
		return true
	}
	res := !it.DetCondOr
	for _, c := range it.DetConds {
		var m bool
		switch c.Type {
		case "match_string":
			any, all := false, true
			for _, rv := range item.Raw {
				if rv.Kind != sigma.RawString {
					all = false
					continue
				}
				ok := c.Pattern.MatchString(rv.Text)
				any = any || ok
				all = all && ok
			}
			if c.All {
				m = all
			} else {
				m = any
			}
			if c.Negate {
				m = !m
			}
		case "is_null":
			any, all := false, true
			for _, rv := range item.Raw {
				ok := rv.Kind == sigma.RawNull
				any = any || ok
				all = all && ok
			}
			m = any
			if c.All {
				m = all
			}
		case "processing_item_applied":
			m = st.itemIDs[item][c.ItemID]
		}
		if it.DetCondOr {
			res = res || m
		} else {
			res = res && m
		}
	}
	if it.DetCondNot {
		res = !res
	}
	return res
}

func (st *state) markItem(item *sigma.Item, id string) {
	if id == "" {
		return
	}
	m := st.itemIDs[item]
	if m == nil {
		m = map[string]bool{}
		st.itemIDs[item] = m
	}
	m[id] = true
	st.ruleIDs[id] = true
}

// mapName returns the new names of field for a field transformation, or
// nil when the item does not change it.
func mapName(it *Item, field string) []string {
	switch it.Type {
	case "field_name_mapping":
		return it.Mapping[field]
	case "field_name_prefix_mapping":
		for src, dst := range it.Mapping {
			if strings.HasPrefix(field, src) {
				out := make([]string, len(dst))
				for i, d := range dst {
					out[i] = d + field[len(src):]
				}
				return out
			}
		}
	case "field_name_prefix":
		return []string{it.Prefix + field}
	case "field_name_suffix":
		return []string{field + it.Suffix}
	}
	return nil
}

func (st *state) apply(p *Pipeline, it *Item) error {
	r := st.rule
	switch it.Type {
	case "field_name_mapping", "field_name_prefix_mapping", "field_name_prefix", "field_name_suffix":
		for _, s := range r.Detection.Searches {
			s.Root = st.mapFields(it, s.Root)
		}
		for i, f := range r.Fields {
			if st.fieldMatch(it, nil, f) {
				if names := mapName(it, f); len(names) > 0 {
					r.Fields[i] = names[0]
				}
			}
		}
	case "add_condition":
		conds := it.Conditions
		if it.Template {
			var err error
			conds, err = buildConds(it.rawConds, r.LogSource)
			if err != nil {
				return &FailureError{Pipeline: p.Name, Line: it.Line, Message: err.Error()}
			}
		}
		st.condCount++
		name := fmt.Sprintf("_cond_%s_%d", it.ID, st.condCount)
		and := &sigma.Node{Kind: sigma.NodeAnd}
		for _, c := range conds {
			cp := *c
			st.markItem(&cp, it.ID)
			and.Kids = append(and.Kids, &sigma.Node{Kind: sigma.NodeItem, Item: &cp})
		}
		r.Detection.Searches = append(r.Detection.Searches, &sigma.Search{Name: name, Root: and})
		var ref *sigma.Cond = &sigma.Cond{Op: sigma.CondRef, Name: name}
		if it.Negated {
			ref = &sigma.Cond{Op: sigma.CondNot, Kids: []*sigma.Cond{ref}}
		}
		for i, c := range r.Detection.Conditions {
			r.Detection.Conditions[i] = &sigma.Cond{Op: sigma.CondAnd, Kids: []*sigma.Cond{ref, c}}
		}
		st.ruleIDs[it.ID] = true
	case "change_logsource":
		r.LogSource = it.LogSource
		st.ruleIDs[it.ID] = true
	case "drop_detection_item":
		for _, s := range r.Detection.Searches {
			s.Root = st.drop(it, s.Root)
		}
	case "rule_failure":
		return &FailureError{Pipeline: p.Name, Line: it.Line, Message: it.Message}
	case "detection_item_failure":
		var failed bool
		for _, s := range r.Detection.Searches {
			walkItems(s.Root, func(i *sigma.Item) {
				if st.fieldMatch(it, i, i.Field) && st.detMatch(it, i) {
					failed = true
				}
			})
		}
		if failed {
			return &FailureError{Pipeline: p.Name, Line: it.Line, Message: it.Message}
		}
	case "add_field":
		st.ruleIDs[it.ID] = true
	case "set_state", "remove_field", "set_field":
		// State and output fields matter only to query backends.
	}
	return nil
}

func (st *state) mapFields(it *Item, n *sigma.Node) *sigma.Node {
	if n == nil {
		return nil
	}
	if n.Kind != sigma.NodeItem {
		for i, k := range n.Kids {
			n.Kids[i] = st.mapFields(it, k)
		}
		return n
	}
	item := n.Item
	// Field references in values.
	for gi := range item.Values {
		for vi := range item.Values[gi] {
			v := &item.Values[gi][vi]
			if v.Kind == sigma.ValFieldRef && st.fieldMatch(it, item, v.Ref) {
				if names := mapName(it, v.Ref); len(names) > 0 {
					v.Ref = names[0]
				}
			}
		}
	}
	if item.Field == "" || !st.fieldMatch(it, item, item.Field) || !st.detMatch(it, item) {
		return n
	}
	names := mapName(it, item.Field)
	if len(names) == 0 {
		return n
	}
	if len(names) == 1 {
		item.Field = names[0]
		st.markItem(item, it.ID)
		return n
	}
	or := &sigma.Node{Kind: sigma.NodeOr}
	for _, name := range names {
		cp := *item
		cp.Field = name
		st.itemIDs[&cp] = copySet(st.itemIDs[item])
		st.markItem(&cp, it.ID)
		or.Kids = append(or.Kids, &sigma.Node{Kind: sigma.NodeItem, Item: &cp})
	}
	return or
}

func copySet(m map[string]bool) map[string]bool {
	c := make(map[string]bool, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// drop removes the matching detection items. An AND left empty matches
// everything; an OR left empty matches nothing.
func (st *state) drop(it *Item, n *sigma.Node) *sigma.Node {
	if n == nil {
		return nil
	}
	if n.Kind == sigma.NodeItem {
		if st.fieldMatch(it, n.Item, n.Item.Field) && st.detMatch(it, n.Item) {
			st.ruleIDs[it.ID] = true
			return nil
		}
		return n
	}
	kids := n.Kids[:0]
	for _, k := range n.Kids {
		if k2 := st.drop(it, k); k2 != nil {
			kids = append(kids, k2)
		}
	}
	n.Kids = kids
	if len(kids) == 0 && n.Kind == sigma.NodeAnd {
		return n // empty AND: true
	}
	return n
}
