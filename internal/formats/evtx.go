package formats

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/evtx"
)

var evtxFormat = Format{
	Name: "evtx", Doc: "Windows EVTX event log files (read by Vigil's own EVTX reader; damaged chunks skipped and reported)",
	File: parseEVTX, Upload: UploadConverted, Convert: convertEVTX, Extensions: []string{".evtx"},
}

// convertEVTX writes an EVTX file's records as evtx_dump JSON lines, which
// a server normalizes like any Windows event in that form.
func convertEVTX(path string, out, errw io.Writer) error {
	_, err := evtx.DumpFile(context.Background(), path, out, errw, evtx.DumpOptions{})
	return err
}

// parseEVTX reads an EVTX file: its records become evtx_dump JSON, then
// events exactly as a server stores them after `vigil ingest FILE.evtx`.
func parseEVTX(r io.Reader, opt Options, emit Emit) ([]error, error) {
	var (
		f   *evtx.File
		err error
	)
	if file, ok := r.(*os.File); ok {
		st, serr := file.Stat()
		if serr != nil {
			return nil, serr
		}
		f, err = evtx.Open(file, st.Size())
	} else {
		data, rerr := readAll(r)
		if rerr != nil {
			return nil, rerr
		}
		f, err = evtx.Open(bytes.NewReader(data), int64(len(data)))
	}
	if err != nil {
		return nil, err
	}
	parse, err := jsonRecord(opt)
	if err != nil {
		return nil, err
	}
	var problems []error
	it := f.Records()
	for {
		rec, err := it.Next()
		if errors.Is(err, io.EOF) {
			return problems, nil
		}
		var ce *evtx.CorruptError
		if errors.As(err, &ce) {
			problems = append(problems, ce) // the damaged part is skipped
			continue
		}
		if err != nil {
			return problems, err
		}
		var e event.Event
		if err := parse(rec.JSON, &e); err != nil {
			return problems, fmt.Errorf("BUG: EVTX record %d rendered as invalid JSON: %w", rec.ID, err)
		}
		if err := emit(&e); err != nil {
			return problems, err
		}
	}
}
