package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Rejection is a rule (or a whole file) that was not loaded, and why.
type Rejection struct {
	File   string
	Line   int
	ID     string
	Title  string
	Reason string
}

func (r Rejection) String() string {
	loc := r.File
	if r.Line > 0 {
		loc = fmt.Sprintf("%s:%d", r.File, r.Line)
	}
	who := ""
	if r.ID != "" {
		who = " [" + r.ID + "]"
	}
	return loc + who + ": " + r.Reason
}

// ParseOptions configure parsing.
type ParseOptions struct {
	ValueOptions
	// MaxFileSize bounds the size of one rule file (default 4 MiB).
	MaxFileSize int
	// MaxDocuments bounds the YAML documents of one file (default 1000).
	MaxDocuments int
}

func (o ParseOptions) withDefaults() ParseOptions {
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = 4 << 20
	}
	if o.MaxDocuments <= 0 {
		o.MaxDocuments = 1000
	}
	return o
}

// Parsed is what one file holds.
type Parsed struct {
	Rules        []*Rule
	Correlations []*Correlation
	Filters      []*Filter
	Rejected     []Rejection
	Warnings     []Rejection
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

// ParseFile parses the Sigma documents of one file. It never panics; every
// document that cannot be used is reported in Rejected with its line.
func ParseFile(file string, data []byte, opt ParseOptions) *Parsed {
	opt = opt.withDefaults()
	out := &Parsed{}
	if len(data) > opt.MaxFileSize {
		out.Rejected = append(out.Rejected, Rejection{File: file, Reason: fmt.Sprintf("file is larger than %d bytes", opt.MaxFileSize)})
		return out
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var global *yaml.Node
	var previous *yaml.Node
	for n := 0; ; n++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 0
			if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
				line, _ = strconv.Atoi(m[1])
			}
			out.Rejected = append(out.Rejected, Rejection{File: file, Line: line, Reason: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")})
			break
		}
		if n >= opt.MaxDocuments {
			out.Rejected = append(out.Rejected, Rejection{File: file, Line: doc.Line, Reason: fmt.Sprintf("more than %d YAML documents", opt.MaxDocuments)})
			break
		}
		root := &doc
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		root = resolve(root)
		if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
			continue
		}
		if root.Kind != yaml.MappingNode {
			out.Rejected = append(out.Rejected, Rejection{File: file, Line: root.Line, Reason: "a Sigma document must be a YAML mapping"})
			continue
		}
		// Sigma 1 rule collections: action global / reset / repeat.
		if a := mapGet(root, "action"); a != nil && a.Kind == yaml.ScalarNode {
			switch a.Value {
			case "global":
				global = withoutKey(root, "action")
				continue
			case "reset":
				global = nil
				continue
			case "repeat":
				if previous == nil {
					out.Rejected = append(out.Rejected, Rejection{File: file, Line: root.Line, Reason: "action: repeat without a previous document"})
					continue
				}
				root = mergeMaps(previous, withoutKey(root, "action"))
			default:
				out.Rejected = append(out.Rejected, Rejection{File: file, Line: a.Line, Reason: fmt.Sprintf("unknown collection action %q (want global, reset or repeat)", a.Value)})
				continue
			}
		}
		if global != nil {
			root = mergeMaps(global, root)
		}
		previous = root
		parseDocument(file, root, opt, out)
	}
	return out
}

func parseDocument(file string, root *yaml.Node, opt ParseOptions, out *Parsed) {
	meta, err := parseMeta(file, root)
	rej := func(line int, reason string) {
		out.Rejected = append(out.Rejected, Rejection{File: file, Line: line, ID: meta.ID, Title: meta.Title, Reason: reason})
	}
	if err != nil {
		rej(lineOf(err, root.Line), err.Error())
		return
	}
	switch {
	case mapGet(root, "correlation") != nil:
		c, err := parseCorrelation(meta, mapGet(root, "correlation"))
		if err != nil {
			rej(lineOf(err, root.Line), err.Error())
			return
		}
		out.Correlations = append(out.Correlations, c)
	case mapGet(root, "filter") != nil:
		f, err := parseFilter(meta, root, opt)
		if err != nil {
			rej(lineOf(err, root.Line), err.Error())
			return
		}
		out.Filters = append(out.Filters, f)
	default:
		r, warn, err := parseRule(meta, root, opt)
		if err != nil {
			rej(lineOf(err, root.Line), err.Error())
			return
		}
		for _, w := range warn {
			out.Warnings = append(out.Warnings, Rejection{File: file, Line: lineOf(w, r.Line), ID: r.ID, Title: r.Title, Reason: w.Error()})
		}
		out.Rules = append(out.Rules, r)
	}
}

// posError is an error at a line.
type posError struct {
	line int
	msg  string
}

func (e *posError) Error() string { return e.msg }

func errAt(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &posError{line: line, msg: fmt.Sprintf(format, args...)}
}

func lineOf(err error, def int) int {
	var pe *posError
	if errors.As(err, &pe) && pe.line > 0 {
		return pe.line
	}
	var me *ModifierError
	if errors.As(err, &me) && me.Line > 0 {
		return me.Line
	}
	return def
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
	}
	return n
}

// maxPairs bounds the pairs one mapping may expand to through merge keys
// (aliases can otherwise multiply them exponentially).
const maxPairs = 10000

// mapPairs returns the key/value pairs of a mapping, expanding merge keys.
func mapPairs(m *yaml.Node) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	appendPairs(&out, m, 0)
	return out
}

func appendPairs(out *[][2]*yaml.Node, m *yaml.Node, depth int) {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode || depth > 8 {
		return
	}
	for i := 0; i+1 < len(m.Content) && len(*out) < maxPairs; i += 2 {
		k, v := resolve(m.Content[i]), resolve(m.Content[i+1])
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			switch v.Kind {
			case yaml.MappingNode:
				appendPairs(out, v, depth+1)
			case yaml.SequenceNode:
				for _, s := range v.Content {
					appendPairs(out, s, depth+1)
				}
			}
			continue
		}
		*out = append(*out, [2]*yaml.Node{k, v})
	}
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	var found *yaml.Node
	for _, kv := range mapPairs(m) {
		if kv[0].Kind == yaml.ScalarNode && kv[0].Value == key {
			found = kv[1]
		}
	}
	return found
}

func withoutKey(m *yaml.Node, key string) *yaml.Node {
	c := &yaml.Node{Kind: yaml.MappingNode, Line: m.Line, Column: m.Column, Tag: "!!map"}
	for _, kv := range mapPairs(m) {
		if kv[0].Value == key {
			continue
		}
		c.Content = append(c.Content, kv[0], kv[1])
	}
	return c
}

// mergeMaps deep-merges over into base (values of over win), as Sigma rule
// collections do.
func mergeMaps(base, over *yaml.Node) *yaml.Node {
	c := &yaml.Node{Kind: yaml.MappingNode, Line: over.Line, Column: over.Column, Tag: "!!map"}
	idx := map[string]int{}
	for _, kv := range mapPairs(base) {
		idx[kv[0].Value] = len(c.Content)
		c.Content = append(c.Content, kv[0], kv[1])
	}
	for _, kv := range mapPairs(over) {
		if i, ok := idx[kv[0].Value]; ok {
			old := resolve(c.Content[i+1])
			if old.Kind == yaml.MappingNode && kv[1].Kind == yaml.MappingNode {
				c.Content[i+1] = mergeMaps(old, kv[1])
			} else {
				c.Content[i+1] = kv[1]
			}
			continue
		}
		idx[kv[0].Value] = len(c.Content)
		c.Content = append(c.Content, kv[0], kv[1])
	}
	return c
}

func scalarText(n *yaml.Node, what string) (string, error) {
	n = resolve(n)
	if n == nil {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", errAt(n, "%s must be a single value", what)
	}
	if n.ShortTag() == "!!null" {
		return "", nil
	}
	return n.Value, nil
}

func stringList(n *yaml.Node, what string) ([]string, error) {
	n = resolve(n)
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return nil, nil
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			c = resolve(c)
			if c.Kind != yaml.ScalarNode {
				return nil, errAt(c, "%s must be a list of values", what)
			}
			if c.ShortTag() == "!!null" {
				continue
			}
			out = append(out, c.Value)
		}
		return out, nil
	}
	return nil, errAt(n, "%s must be a value or a list of values", what)
}

var validLevels = map[string]bool{"informational": true, "low": true, "medium": true, "high": true, "critical": true}

func parseMeta(file string, root *yaml.Node) (Meta, error) {
	m := Meta{File: file, Line: root.Line}
	if len(root.Content) > 0 {
		m.Line = root.Content[0].Line
	}
	var err error
	str := func(key string, dst *string) {
		if err != nil {
			return
		}
		*dst, err = scalarText(mapGet(root, key), key)
	}
	list := func(key string, dst *[]string) {
		if err != nil {
			return
		}
		*dst, err = stringList(mapGet(root, key), key)
	}
	str("id", &m.ID)
	str("name", &m.Name)
	str("title", &m.Title)
	str("status", &m.Status)
	str("description", &m.Description)
	str("level", &m.Level)
	str("date", &m.Date)
	str("modified", &m.Modified)
	if err == nil {
		var authors []string
		authors, err = stringList(mapGet(root, "author"), "author")
		m.Author = strings.Join(authors, ", ")
	}
	list("references", &m.References)
	list("tags", &m.Tags)
	list("fields", &m.Fields)
	list("falsepositives", &m.FalsePositives)
	if err != nil {
		return m, err
	}
	if strings.TrimSpace(m.Title) == "" {
		return m, errAt(root, "the rule has no title")
	}
	if len(m.Title) > 256 {
		return m, errAt(mapGet(root, "title"), "title is longer than 256 characters")
	}
	if m.Level != "" && !validLevels[m.Level] {
		return m, errAt(mapGet(root, "level"), "level %q is not one of informational, low, medium, high, critical", m.Level)
	}
	if m.Status == "unsupported" {
		return m, errAt(mapGet(root, "status"), "status unsupported: the rule says it cannot be used as it is")
	}
	return m, nil
}

func parseLogSource(n *yaml.Node) (LogSource, error) {
	n = resolve(n)
	if n == nil {
		return LogSource{}, errAt(n, "the rule has no logsource")
	}
	if n.Kind != yaml.MappingNode {
		return LogSource{}, errAt(n, "logsource must be a mapping of category, product, service")
	}
	var ls LogSource
	var err error
	if ls.Category, err = scalarText(mapGet(n, "category"), "logsource category"); err != nil {
		return ls, err
	}
	if ls.Product, err = scalarText(mapGet(n, "product"), "logsource product"); err != nil {
		return ls, err
	}
	if ls.Service, err = scalarText(mapGet(n, "service"), "logsource service"); err != nil {
		return ls, err
	}
	return ls, nil
}

func parseRule(meta Meta, root *yaml.Node, opt ParseOptions) (*Rule, []error, error) {
	r := &Rule{Meta: meta, Alert: true}
	lsNode := mapGet(root, "logsource")
	if lsNode == nil {
		return nil, nil, errAt(root, "the rule has no logsource section")
	}
	ls, err := parseLogSource(lsNode)
	if err != nil {
		return nil, nil, err
	}
	r.LogSource = ls
	det := mapGet(root, "detection")
	if det == nil {
		return nil, nil, errAt(root, "the document has no detection, correlation or filter section")
	}
	d, warn, err := parseDetection(det, opt, false)
	if err != nil {
		return nil, nil, err
	}
	r.Detection = *d
	return r, warn, nil
}

// parseDetection parses a detection (or filter) section. For filters,
// the key "rules" is not a search identifier.
func parseDetection(det *yaml.Node, opt ParseOptions, filter bool) (*Detection, []error, error) {
	det = resolve(det)
	if det.Kind != yaml.MappingNode {
		return nil, nil, errAt(det, "detection must be a mapping of search identifiers and a condition")
	}
	d := &Detection{Line: det.Line}
	var warn []error
	var condNode *yaml.Node
	for _, kv := range mapPairs(det) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "condition":
			condNode = v
			continue
		case "timeframe":
			warn = append(warn, errAt(k, "timeframe is ignored: it belongs to the deprecated aggregation syntax"))
			continue
		case "rules":
			if filter {
				continue
			}
		}
		if d.Search(k.Value) != nil {
			return nil, nil, errAt(k, "search identifier %q is defined twice", k.Value)
		}
		s, err := parseSearch(k, v, opt)
		if err != nil {
			return nil, nil, err
		}
		d.Searches = append(d.Searches, s)
	}
	if condNode == nil {
		return nil, nil, errAt(det, "detection has no condition")
	}
	conds, err := stringList(condNode, "condition")
	if err != nil {
		return nil, nil, err
	}
	if len(conds) == 0 {
		return nil, nil, errAt(condNode, "detection has an empty condition")
	}
	names := make([]string, len(d.Searches))
	for i, s := range d.Searches {
		names[i] = s.Name
	}
	for _, cs := range conds {
		c, err := ParseCondition(cs)
		if err != nil {
			return nil, nil, errAt(condNode, "%v", err)
		}
		if _, err := c.Names(names); err != nil {
			return nil, nil, errAt(condNode, "%v", err)
		}
		d.Conditions = append(d.Conditions, c)
		d.ConditionText = append(d.ConditionText, cs)
	}
	return d, warn, nil
}

// maxSearchNodes bounds the items and values of one search identifier.
const maxSearchNodes = 100000

func parseSearch(k, v *yaml.Node, opt ParseOptions) (*Search, error) {
	s := &Search{Name: k.Value, Line: k.Line}
	budget := maxSearchNodes
	root, err := parseSearchNode(v, opt, 0, &budget)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, errAt(k, "search identifier %q is empty", k.Value)
	}
	s.Root = root
	return s, nil
}

func parseSearchNode(v *yaml.Node, opt ParseOptions, depth int, budget *int) (*Node, error) {
	v = resolve(v)
	if depth > 8 {
		return nil, errAt(v, "search identifier nested too deeply")
	}
	*budget -= 1 + len(v.Content)
	if *budget < 0 {
		return nil, errAt(v, "search identifier has more than %d items and values", maxSearchNodes)
	}
	switch v.Kind {
	case yaml.MappingNode:
		and := &Node{Kind: NodeAnd}
		for _, kv := range mapPairs(v) {
			it, err := parseItem(kv[0], kv[1], opt)
			if err != nil {
				return nil, err
			}
			and.Kids = append(and.Kids, &Node{Kind: NodeItem, Item: it})
		}
		if len(and.Kids) == 0 {
			return nil, errAt(v, "empty mapping in a search identifier")
		}
		return and, nil
	case yaml.SequenceNode:
		or := &Node{Kind: NodeOr}
		var kw *Item
		for _, c := range v.Content {
			c = resolve(c)
			if c.Kind == yaml.ScalarNode {
				rv := rawValue(c)
				if kw == nil {
					kw = &Item{Line: c.Line, Column: c.Column}
					or.Kids = append(or.Kids, &Node{Kind: NodeItem, Item: kw})
				}
				kw.Raw = append(kw.Raw, rv)
				continue
			}
			kw = nil
			n, err := parseSearchNode(c, opt, depth+1, budget)
			if err != nil {
				return nil, err
			}
			if n != nil {
				or.Kids = append(or.Kids, n)
			}
		}
		for _, k := range or.Kids {
			if k.Kind == NodeItem && k.Item.Field == "" && k.Item.Values == nil {
				if err := ApplyModifiers(k.Item, opt.ValueOptions); err != nil {
					return nil, err
				}
			}
		}
		if len(or.Kids) == 0 {
			return nil, errAt(v, "empty list in a search identifier")
		}
		if len(or.Kids) == 1 {
			return or.Kids[0], nil
		}
		return or, nil
	case yaml.ScalarNode:
		if v.ShortTag() == "!!null" {
			return nil, nil
		}
		it := &Item{Line: v.Line, Column: v.Column, Raw: []RawValue{rawValue(v)}}
		if err := ApplyModifiers(it, opt.ValueOptions); err != nil {
			return nil, err
		}
		return &Node{Kind: NodeItem, Item: it}, nil
	}
	return nil, errAt(v, "unexpected YAML node in a search identifier")
}

func rawValue(n *yaml.Node) RawValue {
	rv := RawValue{Kind: RawString, Text: n.Value, Line: n.Line}
	switch n.ShortTag() {
	case "!!null":
		rv.Kind = RawNull
		rv.Text = ""
	case "!!bool":
		rv.Kind = RawBool
		if b, err := strconv.ParseBool(strings.ToLower(n.Value)); err == nil {
			rv.Text = strconv.FormatBool(b)
		}
	case "!!int":
		rv.Kind = RawNumber
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			rv.Text = strconv.FormatInt(i, 10)
		}
	case "!!float":
		rv.Kind = RawNumber
	}
	return rv
}

func parseItem(k, v *yaml.Node, opt ParseOptions) (*Item, error) {
	if k.Kind != yaml.ScalarNode {
		return nil, errAt(k, "a field name must be a plain value")
	}
	parts := strings.Split(k.Value, "|")
	it := &Item{Field: parts[0], Line: k.Line, Column: k.Column}
	for _, m := range parts[1:] {
		it.Modifiers = append(it.Modifiers, m)
	}
	switch v.Kind {
	case yaml.ScalarNode:
		it.Raw = []RawValue{rawValue(v)}
	case yaml.SequenceNode:
		for _, c := range v.Content {
			c = resolve(c)
			if c.Kind != yaml.ScalarNode {
				return nil, errAt(c, "values of field %q must be plain values, not nested lists or mappings", it.Field)
			}
			it.Raw = append(it.Raw, rawValue(c))
		}
	default:
		return nil, errAt(v, "field %q must have a value or a list of values", it.Field)
	}
	if err := ApplyModifiers(it, opt.ValueOptions); err != nil {
		return nil, err
	}
	return it, nil
}

var timespanRe = regexp.MustCompile(`^([0-9]+)([smhdwMy])$`)

// ParseTimespan parses a correlation timespan such as "5m" or "1h".
func ParseTimespan(s string) (time.Duration, error) {
	m := timespanRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("timespan %q is not a number followed by s, m, h, d, w, M or y", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n <= 0 || n > 1<<31 {
		return 0, fmt.Errorf("timespan %q must be a positive number", s)
	}
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
		"w": 7 * 24 * time.Hour, "M": 2629746 * time.Second, "y": 31556952 * time.Second}[m[2]]
	return time.Duration(n) * unit, nil
}

var correlationTypes = map[string]bool{"event_count": true, "value_count": true, "temporal": true,
	"temporal_ordered": true, "value_sum": true, "value_avg": true, "value_percentile": true}

func parseCorrelation(meta Meta, n *yaml.Node) (*Correlation, error) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "correlation must be a mapping")
	}
	c := &Correlation{Meta: meta, Alert: true}
	var err error
	if c.Type, err = scalarText(mapGet(n, "type"), "correlation type"); err != nil {
		return nil, err
	}
	if c.Type == "" {
		return nil, errAt(n, "correlation has no type")
	}
	if !correlationTypes[c.Type] {
		return nil, errAt(mapGet(n, "type"), "correlation type %q is not one of event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile", c.Type)
	}
	temporal := c.Type == "temporal" || c.Type == "temporal_ordered"
	if c.Rules, err = stringList(mapGet(n, "rules"), "correlation rules"); err != nil {
		return nil, err
	}
	if c.GroupBy, err = stringList(mapGet(n, "group-by"), "group-by"); err != nil {
		return nil, err
	}
	ts, err := scalarText(mapGet(n, "timespan"), "timespan")
	if err != nil {
		return nil, err
	}
	if ts == "" {
		return nil, errAt(n, "correlation has no timespan")
	}
	if c.Timespan, err = ParseTimespan(ts); err != nil {
		return nil, errAt(mapGet(n, "timespan"), "%v", err)
	}
	if g := resolve(mapGet(n, "generate")); g != nil {
		if g.Kind != yaml.ScalarNode || g.ShortTag() != "!!bool" {
			return nil, errAt(g, "generate must be true or false")
		}
		c.Generate = g.Value == "true"
	}
	if a := resolve(mapGet(n, "aliases")); a != nil && !(a.Kind == yaml.ScalarNode && a.ShortTag() == "!!null") {
		if a.Kind != yaml.MappingNode {
			return nil, errAt(a, "aliases must be a mapping of alias to rule to field")
		}
		c.Aliases = map[string]map[string]string{}
		for _, kv := range mapPairs(a) {
			if kv[1].Kind != yaml.MappingNode {
				return nil, errAt(kv[1], "alias %q must map rule names to field names", kv[0].Value)
			}
			m := map[string]string{}
			for _, rv := range mapPairs(kv[1]) {
				f, err := scalarText(rv[1], "alias field")
				if err != nil {
					return nil, err
				}
				m[rv[0].Value] = f
			}
			c.Aliases[kv[0].Value] = m
		}
	}
	cond := resolve(mapGet(n, "condition"))
	switch {
	case cond == nil || (cond.Kind == yaml.ScalarNode && cond.ShortTag() == "!!null"):
		if !temporal {
			return nil, errAt(n, "a %s correlation needs a condition", c.Type)
		}
		c.Condition.Cmp = []Comparison{{Op: "gte", Value: float64(len(c.Rules))}}
	case cond.Kind == yaml.ScalarNode:
		if !temporal {
			return nil, errAt(cond, "a condition expression is allowed only for temporal correlations")
		}
		e, err := ParseRuleExpression(cond.Value)
		if err != nil {
			return nil, errAt(cond, "%v", err)
		}
		c.Condition.Expr = e
		if len(c.Rules) == 0 {
			c.Rules = exprNames(e)
		}
	case cond.Kind == yaml.MappingNode:
		for _, kv := range mapPairs(cond) {
			key := kv[0].Value
			switch key {
			case "field":
				if c.Condition.Field, err = stringList(kv[1], "condition field"); err != nil {
					return nil, err
				}
			case "percentile":
				p, err := strconv.Atoi(kv[1].Value)
				if err != nil || p < 0 || p > 100 {
					return nil, errAt(kv[1], "percentile must be a whole number from 0 to 100")
				}
				c.Condition.Percentile = p
			case "gt", "gte", "lt", "lte", "eq", "neq":
				v, err := strconv.ParseFloat(kv[1].Value, 64)
				if err != nil || kv[1].Kind != yaml.ScalarNode {
					return nil, errAt(kv[1], "condition %s needs a number, not %q", key, kv[1].Value)
				}
				c.Condition.Cmp = append(c.Condition.Cmp, Comparison{Op: key, Value: v})
			default:
				return nil, errAt(kv[0], "unknown correlation condition key %q", key)
			}
		}
		if len(c.Condition.Cmp) == 0 {
			return nil, errAt(cond, "correlation condition needs one of gt, gte, lt, lte, eq, neq")
		}
	default:
		return nil, errAt(cond, "correlation condition must be a mapping or, for temporal types, an expression")
	}
	if len(c.Rules) == 0 {
		return nil, errAt(n, "correlation refers to no rules")
	}
	switch c.Type {
	case "value_count", "value_sum", "value_avg", "value_percentile":
		if len(c.Condition.Field) == 0 {
			return nil, errAt(cond, "a %s correlation needs a condition field", c.Type)
		}
	}
	if c.Type == "value_percentile" && c.Condition.Percentile == 0 {
		c.Condition.Percentile = 95
	}
	return c, nil
}

func exprNames(e *Cond) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(*Cond)
	walk = func(c *Cond) {
		if c.Op == CondRef && !seen[c.Name] {
			seen[c.Name] = true
			out = append(out, c.Name)
		}
		for _, k := range c.Kids {
			walk(k)
		}
	}
	walk(e)
	return out
}

func parseFilter(meta Meta, root *yaml.Node, opt ParseOptions) (*Filter, error) {
	f := &Filter{Meta: meta}
	lsNode := mapGet(root, "logsource")
	if lsNode == nil {
		return nil, errAt(root, "a filter needs a logsource")
	}
	ls, err := parseLogSource(lsNode)
	if err != nil {
		return nil, err
	}
	f.LogSource = ls
	fn := resolve(mapGet(root, "filter"))
	if fn.Kind != yaml.MappingNode {
		return nil, errAt(fn, "filter must be a mapping")
	}
	if mapGet(fn, "rules") == nil {
		return nil, errAt(fn, "a filter needs rules: a list of rule ids or names, or any")
	}
	rules, err := stringList(mapGet(fn, "rules"), "filter rules")
	if err != nil {
		return nil, err
	}
	if len(rules) == 1 && (rules[0] == "any" || rules[0] == "all") {
		rules = nil
	}
	f.Rules = rules
	d, _, err := parseDetection(fn, opt, true)
	if err != nil {
		return nil, err
	}
	f.Detection = *d
	return f, nil
}

// NewItem builds a detection item from a key such as "Image|endswith" and
// its values, as a rule would write them, typing the values. Processing
// pipelines use it for the conditions they add.
func NewItem(key string, values []RawValue, opt ValueOptions) (*Item, error) {
	parts := strings.Split(key, "|")
	it := &Item{Field: parts[0], Modifiers: parts[1:], Raw: values}
	if err := ApplyModifiers(it, opt); err != nil {
		return nil, err
	}
	return it, nil
}

// CloneRule returns a deep copy of the rule's detection so that it can be
// transformed without changing r.
func CloneRule(r *Rule) *Rule {
	c := *r
	c.Tags = append([]string(nil), r.Tags...)
	c.Fields = append([]string(nil), r.Fields...)
	c.Detection.Searches = make([]*Search, len(r.Detection.Searches))
	for i, s := range r.Detection.Searches {
		c.Detection.Searches[i] = &Search{Name: s.Name, Line: s.Line, Root: cloneNode(s.Root)}
	}
	c.Detection.Conditions = append([]*Cond(nil), r.Detection.Conditions...)
	c.Detection.ConditionText = append([]string(nil), r.Detection.ConditionText...)
	return &c
}

func cloneNode(n *Node) *Node {
	if n == nil {
		return nil
	}
	c := &Node{Kind: n.Kind}
	if n.Item != nil {
		it := *n.Item
		it.Values = make([][]Value, len(n.Item.Values))
		for i, g := range n.Item.Values {
			it.Values[i] = append([]Value(nil), g...)
		}
		c.Item = &it
	}
	for _, k := range n.Kids {
		c.Kids = append(c.Kids, cloneNode(k))
	}
	return c
}
