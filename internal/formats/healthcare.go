package formats

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vigil-siem/vigil/internal/ehr"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/atna"
	"github.com/vigil-siem/vigil/internal/parse/fhir"
	"github.com/vigil-siem/vigil/internal/parse/hl7"
)

var (
	fhirFormat = Format{
		Name: "fhir", Doc: "FHIR AuditEvent R4/R5: one resource or a batch/transaction Bundle (JSON or XML), or NDJSON",
		File: parseFHIR, UploadHint: "FHIR servers POST to /fhir/AuditEvent or /fhir (a Bundle)",
	}
	atnaFormat = Format{
		Name: "atna", Doc: "DICOM / IHE ATNA audit messages (XML), one or many",
		File: parseATNA, UploadHint: "ATNA audit messages come over syslog (TLS or UDP), one message per syslog record",
	}
	hl7Format = Format{
		Name: "hl7", Doc: "HL7 v2 messages, one after the other (MLLP framing tolerated)",
		File: parseHL7, UploadHint: "HL7 v2 messages come over MLLP (mllp.addr), which answers each with an ACK",
	}
	ehrFormat = Format{
		Name: "ehr", Doc: "EHR access-log CSV/TSV (with --preset or --mapping)",
		File: parseEHR, UploadHint: "EHR exports are imported with `vigil ehr import --preset NAME FILE` (resumable), or from ehr.watch_dir",
	}
)

func readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading input: %w", err)
	}
	return data, nil
}

func emitAll(evs []event.Event, emit Emit) error {
	for i := range evs {
		if err := emit(&evs[i]); err != nil {
			return err
		}
	}
	return nil
}

func parseFHIR(r io.Reader, opt Options, emit Emit) ([]error, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	evs, errs := fhir.Events(data, fhir.Limits{}, fhir.Options{KeepOriginal: opt.KeepOriginalFHIR}, opt.now())
	return errs, emitAll(evs, emit)
}

func parseATNA(r io.Reader, opt Options, emit Emit) ([]error, error) {
	evs, errs := atna.Events(r, atna.Limits{}, atna.Options{KeepOriginal: opt.KeepOriginal}, opt.now())
	return errs, emitAll(evs, emit)
}

func parseHL7(r io.Reader, opt Options, emit Emit) ([]error, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	evs, errs := hl7.Events(data, hl7.Limits{}, hl7.EventOptions{KeepOriginal: opt.KeepOriginalHL7, Location: opt.Location, Now: opt.now()})
	return errs, emitAll(evs, emit)
}

func parseEHR(r io.Reader, opt Options, emit Emit) ([]error, error) {
	m, err := ehr.Resolve(opt.Preset, opt.MappingFile)
	if err != nil {
		return nil, err
	}
	if opt.Location != nil && m.Timezone == "" {
		m.Timezone = opt.Location.String()
		if err := m.Check(); err != nil {
			return nil, err
		}
	}
	now := opt.now()
	rd, err := ehr.NewReader(r, m, ehr.Options{KeepOriginal: opt.KeepOriginal, MaxRecordBytes: opt.maxRecord(), Now: func() time.Time { return now }})
	if err != nil {
		return nil, err
	}
	if n := ehr.UnmappedNotice(m, rd.Unmapped()); n != "" && opt.Notice != nil {
		opt.Notice(n)
	}
	var problems []error
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return problems, nil
		}
		if err != nil {
			return problems, err
		}
		if row.Err != nil {
			problems = append(problems, row.Err)
		}
		if err := emit(&row.Event); err != nil {
			return problems, err
		}
	}
}
