package sigma

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// RuleSet is every rule that loaded, with correlations resolved and
// filters applied.
type RuleSet struct {
	Rules        []*Rule
	Correlations []*Correlation
	Filters      []*Filter
}

// DirReport counts the documents of one directory (or file) given to Load.
type DirReport struct {
	Path     string
	Files    int
	Loaded   int
	Rejected int
}

// Report says what loaded and what did not.
type Report struct {
	Rules        int
	Correlations int
	Filters      int
	Rejected     []Rejection
	Warnings     []Rejection
	Dirs         []DirReport
}

// Loaded is the number of documents (rules, correlations, filters) loaded.
func (r *Report) Loaded() int { return r.Rules + r.Correlations + r.Filters }

// LoadOptions configure Load.
type LoadOptions struct {
	ParseOptions
}

// Load reads every .yml and .yaml file under the given directories (or the
// given files), parses them, resolves correlation references and applies
// filters. A bad rule is reported and skipped; the error is only for a path
// that cannot be read at all, or a cancelled context.
func Load(ctx context.Context, paths []string, opt LoadOptions) (*RuleSet, *Report, error) {
	rs := &RuleSet{}
	rep := &Report{}
	ruleDir := map[any]int{}
	for di, root := range paths {
		rep.Dirs = append(rep.Dirs, DirReport{Path: root})
		files, err := ruleFiles(root)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			data, err := os.ReadFile(f)
			if err != nil {
				rep.Rejected = append(rep.Rejected, Rejection{File: f, Reason: fmt.Sprintf("cannot read: %v", err)})
				rep.Dirs[di].Rejected++
				continue
			}
			rep.Dirs[di].Files++
			p := ParseFile(f, data, opt.ParseOptions)
			for _, r := range p.Rules {
				ruleDir[r] = di
			}
			for _, c := range p.Correlations {
				ruleDir[c] = di
			}
			for _, x := range p.Filters {
				ruleDir[x] = di
			}
			rs.Rules = append(rs.Rules, p.Rules...)
			rs.Correlations = append(rs.Correlations, p.Correlations...)
			rs.Filters = append(rs.Filters, p.Filters...)
			rep.Rejected = append(rep.Rejected, p.Rejected...)
			rep.Dirs[di].Rejected += len(p.Rejected)
			rep.Warnings = append(rep.Warnings, p.Warnings...)
		}
	}
	rejected := Link(rs, rep)
	for _, x := range rejected {
		if di, ok := ruleDir[x]; ok {
			rep.Dirs[di].Rejected++
		}
	}
	for _, r := range rs.Rules {
		rep.Dirs[ruleDir[r]].Loaded++
	}
	for _, c := range rs.Correlations {
		rep.Dirs[ruleDir[c]].Loaded++
	}
	for _, f := range rs.Filters {
		rep.Dirs[ruleDir[f]].Loaded++
	}
	rep.Rules, rep.Correlations, rep.Filters = len(rs.Rules), len(rs.Correlations), len(rs.Filters)
	return rs, rep, nil
}

func ruleFiles(root string) ([]string, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("rules path: %w", err)
	}
	if !st.IsDir() {
		return []string{root}, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// Hidden directories, and regression cases kept beside rules.
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "regression_data") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(filepath.Ext(p))
		if ext == ".yml" || ext == ".yaml" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	sort.Strings(files)
	return files, nil
}

// Link checks identifiers for duplicates, resolves correlation references,
// decides which rules alert on their own and applies filters. It removes
// what it rejects from rs, reports it in rep, and returns the removed
// documents.
func Link(rs *RuleSet, rep *Report) []any {
	var removed []any
	reject := func(m *Meta, reason string) {
		rep.Rejected = append(rep.Rejected, Rejection{File: m.File, Line: m.Line, ID: m.ID, Title: m.Title, Reason: reason})
	}
	// Duplicate ids and names across rules and correlations.
	type seenAt struct {
		file string
		line int
	}
	ids := map[string]seenAt{}
	names := map[string]seenAt{}
	dup := func(m *Meta) string {
		if m.ID != "" {
			if s, ok := ids[m.ID]; ok {
				return fmt.Sprintf("duplicate id %s, first defined at %s:%d", m.ID, s.file, s.line)
			}
		}
		if m.Name != "" {
			if s, ok := names[m.Name]; ok {
				return fmt.Sprintf("duplicate name %q, first defined at %s:%d", m.Name, s.file, s.line)
			}
		}
		if m.ID != "" {
			ids[m.ID] = seenAt{m.File, m.Line}
		}
		if m.Name != "" {
			names[m.Name] = seenAt{m.File, m.Line}
		}
		return ""
	}
	keptRules := rs.Rules[:0]
	for _, r := range rs.Rules {
		if d := dup(&r.Meta); d != "" {
			reject(&r.Meta, d)
			removed = append(removed, r)
			continue
		}
		keptRules = append(keptRules, r)
	}
	rs.Rules = keptRules
	keptCorr := rs.Correlations[:0]
	for _, c := range rs.Correlations {
		if d := dup(&c.Meta); d != "" {
			reject(&c.Meta, d)
			removed = append(removed, c)
			continue
		}
		keptCorr = append(keptCorr, c)
	}
	rs.Correlations = keptCorr

	// Resolve references until nothing more is rejected.
	for {
		byRef := map[string]any{}
		for _, r := range rs.Rules {
			if r.ID != "" {
				byRef[r.ID] = r
			}
			if r.Name != "" {
				byRef[r.Name] = r
			}
		}
		for _, c := range rs.Correlations {
			if c.ID != "" {
				byRef[c.ID] = c
			}
			if c.Name != "" {
				byRef[c.Name] = c
			}
		}
		changed := false
		kept := rs.Correlations[:0]
		for _, c := range rs.Correlations {
			c.Refs = c.Refs[:0]
			bad := ""
			for _, name := range c.Rules {
				switch x := byRef[name].(type) {
				case *Rule:
					c.Refs = append(c.Refs, Ref{Name: name, Rule: x})
				case *Correlation:
					if x == c {
						bad = "correlation refers to itself"
					}
					c.Refs = append(c.Refs, Ref{Name: name, Correlation: x})
				default:
					bad = fmt.Sprintf("correlation refers to %q, which is not a loaded rule id or name", name)
				}
			}
			if bad == "" && c.Condition.Expr != nil {
				for _, n := range exprNames(c.Condition.Expr) {
					if byRef[n] == nil || !contains(c.Rules, n) {
						bad = fmt.Sprintf("condition refers to %q, which is not in the correlation's rules", n)
					}
				}
			}
			if bad == "" {
				for alias, m := range c.Aliases {
					for ref := range m {
						if !contains(c.Rules, ref) {
							rep.Warnings = append(rep.Warnings, Rejection{File: c.File, Line: c.Line, ID: c.ID, Title: c.Title,
								Reason: fmt.Sprintf("alias %q names %q, which is not in the correlation's rules", alias, ref)})
						}
					}
				}
			}
			if bad != "" {
				reject(&c.Meta, bad)
				removed = append(removed, c)
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		rs.Correlations = kept
		if !changed {
			break
		}
	}
	// Cycles between correlations.
	state := map[*Correlation]int{}
	var cyclic func(c *Correlation) bool
	cyclic = func(c *Correlation) bool {
		switch state[c] {
		case 1:
			return true
		case 2:
			return false
		}
		state[c] = 1
		for _, r := range c.Refs {
			if r.Correlation != nil && cyclic(r.Correlation) {
				return true
			}
		}
		state[c] = 2
		return false
	}
	kept := rs.Correlations[:0]
	for _, c := range rs.Correlations {
		if cyclic(c) {
			reject(&c.Meta, "correlation is part of a reference cycle")
			removed = append(removed, c)
			continue
		}
		kept = append(kept, c)
	}
	rs.Correlations = kept

	// Which rules alert on their own: a referenced rule only when one of
	// the correlations referring to it generates.
	for _, r := range rs.Rules {
		r.Correlated, r.Alert = false, true
	}
	for _, c := range rs.Correlations {
		c.Alert = true
	}
	gen := map[any]bool{}
	refd := map[any]bool{}
	for _, c := range rs.Correlations {
		for _, ref := range c.Refs {
			var k any = ref.Rule
			if ref.Correlation != nil {
				k = ref.Correlation
			}
			refd[k] = true
			if c.Generate {
				gen[k] = true
			}
		}
	}
	for _, r := range rs.Rules {
		if refd[r] {
			r.Correlated = true
			r.Alert = gen[r]
		}
	}
	for _, c := range rs.Correlations {
		if refd[c] {
			c.Alert = gen[c]
		}
	}

	// Filters.
	for fi, f := range rs.Filters {
		applied := 0
		for _, r := range rs.Rules {
			if !f.LogSource.Covers(r.LogSource) {
				continue
			}
			if len(f.Rules) > 0 && !contains(f.Rules, r.ID) && (r.Name == "" || !contains(f.Rules, r.Name)) {
				continue
			}
			applyFilter(r, f, fi)
			applied++
		}
		if applied == 0 {
			rep.Warnings = append(rep.Warnings, Rejection{File: f.File, Line: f.Line, ID: f.ID, Title: f.Title,
				Reason: "filter applies to no loaded rule"})
		}
	}
	return removed
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// applyFilter adds the filter's searches to r under private names and
// ANDs the filter condition to each of r's conditions.
func applyFilter(r *Rule, f *Filter, n int) {
	prefix := fmt.Sprintf("_filter%d_", n)
	for _, s := range f.Detection.Searches {
		r.Detection.Searches = append(r.Detection.Searches, &Search{Name: prefix + s.Name, Line: s.Line, Root: s.Root})
	}
	for _, fc := range f.Detection.Conditions {
		renamed := renameCond(fc, prefix)
		for i, c := range r.Detection.Conditions {
			r.Detection.Conditions[i] = &Cond{Op: CondAnd, Kids: []*Cond{c, renamed}}
		}
	}
	for i := range r.Detection.ConditionText {
		r.Detection.ConditionText[i] = "(" + r.Detection.ConditionText[i] + ") and (" + strings.Join(f.Detection.ConditionText, " or ") + ")"
	}
}

func renameCond(c *Cond, prefix string) *Cond {
	d := &Cond{Op: c.Op, Name: c.Name, Pos: c.Pos}
	switch c.Op {
	case CondRef:
		d.Name = prefix + c.Name
	case CondOneOf, CondAllOf:
		if c.Name != "them" {
			d.Name = prefix + c.Name
		} else {
			// "them" inside a filter means the filter's own searches.
			d.Name = prefix + "*"
		}
	}
	for _, k := range c.Kids {
		d.Kids = append(d.Kids, renameCond(k, prefix))
	}
	return d
}
