package simulate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Export files, for loading a simulated history the way a hospital loads
// its own: the HR roster (vigil workforce import), the ADT messages of the
// period (sent over MLLP: vigil hl7 send; with PlanOptions.Orders the
// order, result, pharmacy and scheduling messages too, in time order), the EHR access log (an
// Epic-style export: vigil ehr import --preset epic) and the ground truth.
// The access log holds every record access (FHIR reads are rows too); the
// DICOM, syslog and Windows sources are not written.

// Export file names.
const (
	ExportRoster   = "roster.csv"
	ExportADT      = "adt.hl7"
	ExportAccesses = "access_log.csv"
	ExportTruth    = "truth.jsonl"
)

// ExportStats say what Export wrote.
type ExportStats struct {
	Workers, Messages, Accesses, Incidents int
}

// Export writes a plan's roster, ADT messages, access log and ground
// truth into dir (created, files mode 0600: they hold synthetic PHI).
func Export(plan *Plan, dir string) (ExportStats, error) {
	var st ExportStats
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return st, err
	}
	r := &renderer{loc: plan.Opt.Location, seed: plan.Opt.Seed, fac: plan.H.Profile.Facility}
	write := func(name string, fn func(w *bufio.Writer) error) error {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		if err := fn(w); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	err := write(ExportRoster, func(w *bufio.Writer) error {
		st.Workers = len(plan.H.Workers)
		_, err := w.WriteString(RosterCSV(plan.H))
		return err
	})
	if err != nil {
		return st, err
	}
	err = write(ExportADT, func(w *bufio.Writer) error {
		for i := range plan.Intents {
			in := &plan.Intents[i]
			if !hl7Kind(in.Kind) {
				continue
			}
			st.Messages++
			w.Write(r.render(in))
			w.WriteString("\r\n")
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	err = write(ExportAccesses, func(w *bufio.Writer) error {
		w.WriteString(ehrColumns + "\n")
		for i := range plan.Intents {
			in := &plan.Intents[i]
			switch in.Kind {
			case KindEHR:
			case KindFHIR:
				// The EHR logs what the FHIR app read.
				c := *in
				c.Action = strings.ToUpper(in.Action) + " READ"
				c.Host = in.W.Workstation
				in = &c
			default:
				continue
			}
			st.Accesses++
			w.WriteString(r.ehrRow(in))
			w.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	err = write(ExportTruth, func(w *bufio.Writer) error {
		enc := json.NewEncoder(w)
		for _, t := range plan.Truth() {
			st.Incidents++
			if err := enc.Encode(t); err != nil {
				return err
			}
		}
		return nil
	})
	return st, err
}
