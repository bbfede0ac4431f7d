package evtx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// DumpOptions controls DumpFile.
type DumpOptions struct {
	Pretty bool // indent records
	Strict bool // the command fails when damage was reported
}

// DumpStats counts what a dump wrote and reported.
type DumpStats struct {
	Records int
	Corrupt int
}

// DumpFile writes the records of the EVTX file at path to out, one JSON
// object per line, and reports damaged data to errw.
func DumpFile(ctx context.Context, path string, out, errw io.Writer, opts DumpOptions) (DumpStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return DumpStats{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return DumpStats{}, err
	}
	ef, err := Open(f, st.Size())
	if err != nil {
		return DumpStats{}, fmt.Errorf("%s: %w", path, err)
	}
	return Dump(ctx, ef, out, errw, opts)
}

// Dump writes the records of an opened EVTX file to out.
func Dump(ctx context.Context, f *File, out, errw io.Writer, opts DumpOptions) (DumpStats, error) {
	var stats DumpStats
	var pretty bytes.Buffer
	it := f.Records()
	for {
		if err := ctx.Err(); err != nil {
			return stats, err
		}
		rec, err := it.Next()
		if err == io.EOF {
			return stats, nil
		}
		var ce *CorruptError
		if errors.As(err, &ce) {
			stats.Corrupt++
			fmt.Fprintln(errw, ce)
			continue
		}
		if err != nil {
			return stats, err
		}
		line := rec.JSON
		if opts.Pretty {
			pretty.Reset()
			if err := json.Indent(&pretty, rec.JSON, "", "  "); err != nil {
				return stats, fmt.Errorf("BUG: record %d rendered invalid JSON: %w", rec.ID, err)
			}
			line = pretty.Bytes()
		}
		if _, err := out.Write(line); err != nil {
			return stats, fmt.Errorf("write output: %w", err)
		}
		if _, err := out.Write([]byte{'\n'}); err != nil {
			return stats, fmt.Errorf("write output: %w", err)
		}
		stats.Records++
	}
}
