package detector

import (
	"context"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-siem/vigil/internal/detect/correlation"
	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/engine"
	"github.com/vigil-siem/vigil/rules/healthcare"
)

// Rules is one compiled rule set: the Sigma engine and the correlation
// rules over it.
type Rules struct {
	Engine *engine.Engine
	// Correlations are the correlation rules (their state lives in the
	// detector).
	Correlations []*sigma.Correlation
	Report       *sigma.Report
	Rejected     []sigma.Rejection // load and compile rejections
	// Off are the correlation rules an operator turned off (not
	// evaluated; kept to be listed).
	Off []*sigma.Correlation
}

// LoadOptions say where rules come from.
type LoadOptions struct {
	Dirs []string
	// PlaceholdersFile is a YAML map of placeholder name to values for the
	// expand modifier.
	PlaceholdersFile string
	Engine           engine.Options
	// Disabled, when set, names rules an operator turned off: a disabled
	// Sigma rule raises no alert of its own (a correlation over it still
	// counts its matches), a disabled correlation is not evaluated.
	Disabled func(id string) bool
}

// Load reads and compiles the rules of the given directories. A bad rule is
// reported and skipped; the error is for unreadable directories or files.
func Load(ctx context.Context, opt LoadOptions) (*Rules, error) {
	var ph map[string][]string
	if opt.PlaceholdersFile != "" {
		data, err := os.ReadFile(opt.PlaceholdersFile)
		if err != nil {
			return nil, fmt.Errorf("placeholders: %w", err)
		}
		if err := yaml.Unmarshal(data, &ph); err != nil {
			return nil, fmt.Errorf("placeholders %s: %w", opt.PlaceholdersFile, err)
		}
	}
	// Vigil's own rules have default values for their placeholders; the
	// configured file replaces them name by name.
	ph = healthcare.Merge(ph)
	rs, rep, err := sigma.Load(ctx, opt.Dirs, sigma.LoadOptions{ParseOptions: sigma.ParseOptions{ValueOptions: sigma.ValueOptions{Placeholders: ph}}})
	if err != nil {
		return nil, err
	}
	var off []*sigma.Correlation
	if opt.Disabled != nil {
		for _, r := range rs.Rules {
			if opt.Disabled(r.ID) {
				r.Alert = false
			}
		}
		kept := rs.Correlations[:0]
		for _, c := range rs.Correlations {
			if !opt.Disabled(c.ID) {
				kept = append(kept, c)
			} else {
				off = append(off, c)
			}
		}
		rs.Correlations = kept
	}
	eng, err := engine.Compile(rs, opt.Engine)
	if err != nil {
		return nil, err
	}
	r := &Rules{Engine: eng, Correlations: rs.Correlations, Report: rep, Off: off}
	r.Rejected = append(r.Rejected, rep.Rejected...)
	r.Rejected = append(r.Rejected, eng.Rejected()...)
	return r, nil
}

func (r *Rules) newCorrelations(opt correlation.Options) *correlation.Engine {
	return correlation.New(r.Correlations, r.Engine, opt)
}
