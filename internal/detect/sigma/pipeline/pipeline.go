// Package pipeline reads Sigma processing pipelines in pySigma's YAML
// format and applies them to rules: it renames fields, adds conditions,
// changes log sources and drops or refuses detection items, each step
// optionally conditioned on the rule's log source, tags or fields.
//
// A pipeline may also carry a `vigil:` section, which pySigma ignores,
// describing the events the rules will see: how to derive Sigma log sources
// from event fields (routes), event field names to treat as others
// (aliases), and where keywords are searched. Vigil ships pipelines for the
// event formats it knows (see Shipped).
package pipeline

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
)

// Pipeline is a parsed processing pipeline.
type Pipeline struct {
	Name     string
	Priority int
	Items    []*Item
	Vars     map[string][]string

	// Vigil extensions.
	Routes        []Route
	Aliases       []Alias
	KeywordFields []string // empty: every field
}

// Route says that events whose fields have the given values belong to a
// Sigma log source.
type Route struct {
	LogSource sigma.LogSource
	// When maps event field names to accepted values; all fields must
	// match (AND), any value of a field (OR). The value "*" means that the
	// field is present. Values compare case-insensitively.
	When []Cond
}

// Cond is one field test of a route.
type Cond struct {
	Field  string
	Values []string
}

// Alias makes event fields whose names start with From be seen under To
// followed by the rest of the name. From may contain one "*" standing for
// one dot-free name segment (for example "Event.UserData.*.").
type Alias struct {
	From string
	To   string
}

// Item is one processing item.
type Item struct {
	ID   string
	Type string
	Line int

	RuleConds   []RuleCond
	RuleCondOr  bool
	RuleCondNot bool

	FieldConds   []FieldCond
	FieldCondOr  bool
	FieldCondNot bool

	DetConds   []DetCond
	DetCondOr  bool
	DetCondNot bool

	// field_name_mapping, field_name_prefix_mapping
	Mapping map[string][]string
	// field_name_prefix / field_name_suffix
	Prefix, Suffix string
	// add_condition
	Conditions []*sigma.Item
	Negated    bool
	Template   bool
	rawConds   map[string]any
	// change_logsource
	LogSource sigma.LogSource
	// rule_failure, detection_item_failure
	Message string
}

// RuleCond is a rule condition of an item.
type RuleCond struct {
	Type      string // logsource tag processing_item_applied contains_field rule_attribute is_sigma_rule
	LogSource sigma.LogSource
	Tag       string
	ItemID    string
	Field     string
	Attribute string
	Value     string
	Op        string
}

// FieldCond is a field name condition of an item.
type FieldCond struct {
	Type   string // include_fields exclude_fields processing_item_applied
	Fields []string
	Regex  []*regexp.Regexp
	ItemID string
}

// DetCond is a detection item condition of an item.
type DetCond struct {
	Type    string // match_string is_null processing_item_applied
	Pattern *regexp.Regexp
	All     bool
	Negate  bool
	ItemID  string
}

var supported = map[string]bool{
	"field_name_mapping": true, "field_name_prefix_mapping": true, "field_name_prefix": true,
	"field_name_suffix": true, "add_condition": true, "change_logsource": true,
	"drop_detection_item": true, "rule_failure": true, "detection_item_failure": true,
	"set_state": true, "add_field": true, "remove_field": true, "set_field": true,
}

// LoadFile reads a pipeline from a YAML file.
func LoadFile(path string) (*Pipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	p, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Load returns a shipped pipeline by name, or reads the file at nameOrPath.
func Load(nameOrPath string) (*Pipeline, error) {
	if p, err := Shipped(nameOrPath); err == nil {
		return p, nil
	}
	if _, err := os.Stat(nameOrPath); err != nil {
		return nil, fmt.Errorf("pipeline %q is neither a shipped pipeline (%s) nor a readable file", nameOrPath, strings.Join(ShippedNames(), ", "))
	}
	return LoadFile(nameOrPath)
}

// Parse parses a pipeline document. Errors name the file and line.
func Parse(file string, data []byte) (*Pipeline, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", file, err)
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = *root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: a pipeline must be a YAML mapping", file, root.Line)
	}
	p := &Pipeline{}
	errf := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, n.Line, fmt.Sprintf(format, args...))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "name":
			p.Name = v.Value
		case "priority":
			if err := v.Decode(&p.Priority); err != nil {
				return nil, errf(v, "priority must be a number")
			}
		case "vars":
			var vars map[string]any
			if err := v.Decode(&vars); err != nil {
				return nil, errf(v, "vars must be a mapping")
			}
			p.Vars = map[string][]string{}
			for name, x := range vars {
				p.Vars[name] = toStrings(x)
			}
		case "transformations":
			if v.Kind != yaml.SequenceNode {
				return nil, errf(v, "transformations must be a list")
			}
			for _, in := range v.Content {
				it, err := parseItem(in)
				if err != nil {
					return nil, errf(in, "%v", err)
				}
				p.Items = append(p.Items, it)
			}
		case "vigil":
			if err := parseVigil(p, v, errf); err != nil {
				return nil, err
			}
		case "postprocessing", "finalizers", "allowed_backends":
			// Query post-processing belongs to query backends; an
			// evaluator has no query to post-process.
		default:
			return nil, errf(k, "unknown pipeline key %q", k.Value)
		}
	}
	if p.Name == "" {
		p.Name = file
	}
	return p, nil
}

func parseVigil(p *Pipeline, v *yaml.Node, errf func(*yaml.Node, string, ...any) error) error {
	if v.Kind != yaml.MappingNode {
		return errf(v, "vigil must be a mapping")
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, x := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "routes":
			if x.Kind != yaml.SequenceNode {
				return errf(x, "routes must be a list")
			}
			for _, rn := range x.Content {
				var raw struct {
					LogSource map[string]string `yaml:"logsource"`
					When      yaml.Node         `yaml:"when"`
				}
				if err := rn.Decode(&raw); err != nil {
					return errf(rn, "route: %v", err)
				}
				r := Route{LogSource: sigma.LogSource{Category: raw.LogSource["category"], Product: raw.LogSource["product"], Service: raw.LogSource["service"]}}
				if r.LogSource.IsZero() {
					return errf(rn, "route has no logsource")
				}
				if raw.When.Kind != yaml.MappingNode || len(raw.When.Content) == 0 {
					return errf(rn, "route needs a when mapping of event fields to values")
				}
				for j := 0; j+1 < len(raw.When.Content); j += 2 {
					var val any
					if err := raw.When.Content[j+1].Decode(&val); err != nil {
						return errf(raw.When.Content[j+1], "route value: %v", err)
					}
					vals := toStrings(val)
					if len(vals) == 0 {
						return errf(raw.When.Content[j+1], "route field %q has no values", raw.When.Content[j].Value)
					}
					r.When = append(r.When, Cond{Field: raw.When.Content[j].Value, Values: vals})
				}
				p.Routes = append(p.Routes, r)
			}
		case "event_field_aliases":
			var as []Alias
			var raw []map[string]string
			if err := x.Decode(&raw); err != nil {
				return errf(x, "event_field_aliases: %v", err)
			}
			for _, a := range raw {
				if a["from"] == "" || strings.Count(a["from"], "*") > 1 {
					return errf(x, "event field alias needs from (with at most one *) and to")
				}
				as = append(as, Alias{From: a["from"], To: a["to"]})
			}
			p.Aliases = append(p.Aliases, as...)
		case "keyword_fields":
			if err := x.Decode(&p.KeywordFields); err != nil {
				return errf(x, "keyword_fields must be a list of field names")
			}
		default:
			return errf(k, "unknown vigil pipeline key %q", k.Value)
		}
	}
	return nil
}

func toStrings(x any) []string {
	switch v := x.(type) {
	case nil:
		return nil
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, toStrings(e)...)
		}
		return out
	case string:
		return []string{v}
	default:
		return []string{fmt.Sprint(v)}
	}
}

func parseItem(n *yaml.Node) (*Item, error) {
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		return nil, fmt.Errorf("transformation must be a mapping: %v", err)
	}
	it := &Item{Line: n.Line}
	it.ID, _ = m["id"].(string)
	it.Type, _ = m["type"].(string)
	if it.Type == "" {
		return nil, fmt.Errorf("transformation has no type")
	}
	if !supported[it.Type] {
		return nil, fmt.Errorf("transformation type %q is not supported by Vigil's evaluator", it.Type)
	}
	var err error
	if it.RuleConds, err = parseRuleConds(m["rule_conditions"]); err != nil {
		return nil, err
	}
	if it.FieldConds, err = parseFieldConds(m["field_name_conditions"]); err != nil {
		return nil, err
	}
	if it.DetConds, err = parseDetConds(m["detection_item_conditions"]); err != nil {
		return nil, err
	}
	for _, k := range []string{"rule_cond_expr", "field_name_cond_expr", "detection_item_cond_expr"} {
		if _, ok := m[k]; ok {
			return nil, fmt.Errorf("%s is not supported; use the *_conditions lists with *_cond_op", k)
		}
	}
	it.RuleCondOr = m["rule_cond_op"] == "or"
	it.FieldCondOr = m["field_name_cond_op"] == "or"
	it.DetCondOr = m["detection_item_cond_op"] == "or"
	it.RuleCondNot, _ = m["rule_cond_not"].(bool)
	it.FieldCondNot, _ = m["field_name_cond_not"].(bool)
	it.DetCondNot, _ = m["detection_item_cond_not"].(bool)
	switch it.Type {
	case "field_name_mapping", "field_name_prefix_mapping":
		mm, ok := m["mapping"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s needs a mapping", it.Type)
		}
		it.Mapping = map[string][]string{}
		for k, v := range mm {
			it.Mapping[k] = toStrings(v)
		}
	case "field_name_prefix":
		it.Prefix, _ = m["prefix"].(string)
		if it.Prefix == "" {
			return nil, fmt.Errorf("field_name_prefix needs a prefix")
		}
	case "field_name_suffix":
		it.Suffix, _ = m["suffix"].(string)
		if it.Suffix == "" {
			return nil, fmt.Errorf("field_name_suffix needs a suffix")
		}
	case "add_condition":
		cm, ok := m["conditions"].(map[string]any)
		if !ok || len(cm) == 0 {
			return nil, fmt.Errorf("add_condition needs conditions")
		}
		it.rawConds = cm
		it.Negated, _ = m["negated"].(bool)
		it.Template, _ = m["template"].(bool)
		if !it.Template {
			conds, err := buildConds(cm, sigma.LogSource{})
			if err != nil {
				return nil, err
			}
			it.Conditions = conds
		}
	case "change_logsource":
		it.LogSource.Category, _ = m["category"].(string)
		it.LogSource.Product, _ = m["product"].(string)
		it.LogSource.Service, _ = m["service"].(string)
	case "rule_failure", "detection_item_failure":
		it.Message, _ = m["message"].(string)
	}
	return it, nil
}

func buildConds(cm map[string]any, ls sigma.LogSource) ([]*sigma.Item, error) {
	keys := make([]string, 0, len(cm))
	for k := range cm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*sigma.Item
	for _, k := range keys {
		var raws []sigma.RawValue
		vals := cm[k]
		list, isList := vals.([]any)
		if !isList {
			list = []any{vals}
		}
		for _, v := range list {
			rv := sigma.RawValue{Kind: sigma.RawString}
			switch x := v.(type) {
			case nil:
				rv.Kind = sigma.RawNull
			case bool:
				rv.Kind, rv.Text = sigma.RawBool, fmt.Sprint(x)
			case int, int64, float64, uint64:
				rv.Kind, rv.Text = sigma.RawNumber, fmt.Sprint(x)
			default:
				rv.Text = fmt.Sprint(x)
				rv.Text = strings.NewReplacer("$category", ls.Category, "$product", ls.Product, "$service", ls.Service).Replace(rv.Text)
			}
			raws = append(raws, rv)
		}
		item, err := sigma.NewItem(k, raws, sigma.ValueOptions{})
		if err != nil {
			return nil, fmt.Errorf("add_condition %q: %v", k, err)
		}
		out = append(out, item)
	}
	return out, nil
}

func asList(x any) []map[string]any {
	switch v := x.(type) {
	case []any:
		var out []map[string]any
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	case map[string]any:
		// Named conditions (used with *_cond_expr): take the values.
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []map[string]any
		for _, k := range keys {
			if m, ok := v[k].(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

func parseRuleConds(x any) ([]RuleCond, error) {
	var out []RuleCond
	for _, m := range asList(x) {
		c := RuleCond{}
		c.Type, _ = m["type"].(string)
		switch c.Type {
		case "logsource":
			c.LogSource.Category, _ = m["category"].(string)
			c.LogSource.Product, _ = m["product"].(string)
			c.LogSource.Service, _ = m["service"].(string)
		case "tag":
			c.Tag, _ = m["tag"].(string)
		case "processing_item_applied":
			c.ItemID, _ = m["processing_item_id"].(string)
		case "contains_field":
			c.Field, _ = m["field"].(string)
		case "rule_attribute":
			c.Attribute, _ = m["attribute"].(string)
			c.Value = fmt.Sprint(m["value"])
			c.Op, _ = m["op"].(string)
			if c.Op == "" {
				c.Op = "eq"
			}
			if c.Op != "eq" && c.Op != "ne" {
				return nil, fmt.Errorf("rule_attribute op %q is not supported (eq, ne)", c.Op)
			}
		case "is_sigma_rule", "is_sigma_correlation_rule":
		default:
			return nil, fmt.Errorf("rule condition type %q is not supported", c.Type)
		}
		out = append(out, c)
	}
	return out, nil
}

func parseFieldConds(x any) ([]FieldCond, error) {
	var out []FieldCond
	for _, m := range asList(x) {
		c := FieldCond{}
		c.Type, _ = m["type"].(string)
		switch c.Type {
		case "include_fields", "exclude_fields":
			c.Fields = toStrings(m["fields"])
			if typ, _ := m["type_"].(string); typ == "re" || m["mode"] == "re" {
				for _, f := range c.Fields {
					re, err := regexp.Compile("^(?:" + f + ")$")
					if err != nil {
						return nil, fmt.Errorf("field condition regex %q: %v", f, err)
					}
					c.Regex = append(c.Regex, re)
				}
			}
		case "processing_item_applied":
			c.ItemID, _ = m["processing_item_id"].(string)
		default:
			return nil, fmt.Errorf("field name condition type %q is not supported", c.Type)
		}
		out = append(out, c)
	}
	return out, nil
}

func parseDetConds(x any) ([]DetCond, error) {
	var out []DetCond
	for _, m := range asList(x) {
		c := DetCond{}
		c.Type, _ = m["type"].(string)
		switch c.Type {
		case "match_string":
			pat, _ := m["pattern"].(string)
			re, err := regexp.Compile(pat)
			if err != nil {
				return nil, fmt.Errorf("match_string pattern %q: %v", pat, err)
			}
			c.Pattern = re
			c.All = m["cond"] == "all"
			c.Negate, _ = m["negate"].(bool)
		case "is_null":
			c.All = m["cond"] == "all"
		case "processing_item_applied":
			c.ItemID, _ = m["processing_item_id"].(string)
		default:
			return nil, fmt.Errorf("detection item condition type %q is not supported", c.Type)
		}
		out = append(out, c)
	}
	return out, nil
}
