package evtx

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// sampleChunk is a small chunk using every feature of the parser; its used
// part (header plus records) is what the fuzz seeds are cut from.
func sampleChunk() []byte {
	c := newChunkW()
	body := &xel{name: "Event", attrs: []xattr{{"xmlns", []xn{xtext("urn:e")}}}, kids: []xn{
		&xel{name: "System", kids: []xn{
			&xel{name: "EventID", attrs: []xattr{{"Qualifiers", []xn{xsub{0, typeUint16, true}}}}, kids: []xn{xsub{1, typeUint16, false}}},
			&xel{name: "TimeCreated", attrs: []xattr{{"SystemTime", []xn{xsub{2, typeFiletime, true}}}}},
			&xel{name: "Security", attrs: []xattr{{"UserID", []xn{xsub{3, typeSID, true}}}}},
			&xel{name: "Provider", attrs: []xattr{{"Guid", []xn{xsub{4, typeGUID, true}}}}},
		}},
		&xel{name: "EventData", kids: []xn{
			&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("S")}}}, kids: []xn{xsub{5, typeString, false}}},
			&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("A")}}}, kids: []xn{xsub{6, typeString | typeArray, false}}},
			&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("H")}}}, kids: []xn{xsub{7, typeHex64, false}}},
			&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("B")}}}, kids: []xn{xsub{8, typeBinary, false}}},
			&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("T")}}}, kids: []xn{xsub{9, typeSystime, false}}},
			&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("X")}}}, kids: []xn{xsub{10, typeBinXML, true}}},
			&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("R")}}}, kids: []xn{xtext("a"), xentity("amp"), xcharref(0x42), xcdata("c"), xpi{"p", "d"}}},
			&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("I")}}}, kids: []xn{xinlineFrag{&xel{name: "Frag", kids: []xn{xtext("f")}}}}},
		}},
	}}
	vals := []tval{vU16(16384), vU16(4624), vFiletime(filetimeOf("2024-01-02T03:04:05.678901Z")), vSID(1, 5, 21, 1, 2, 3, 500),
		vGUID(1, 2, 3, [8]byte{4, 5, 6, 7, 8, 9, 10, 11}), vStr("text  "), vStrs("x", "y"), vHex64(0x3e7), vBin(1, 2, 3),
		vSystime(2024, 1, 2, 2, 3, 4, 5, 6), vBinXML(&xel{name: "Inner", kids: []xn{xtext("in")}})}
	c.record(1, 1, xinst{key: "tmpl", body: body, vals: vals})
	vals[5] = vStr("second")
	vals[10] = vNull()
	c.record(2, 2, xinst{key: "tmpl", body: body, vals: vals})
	c.record(3, 3, &xel{name: "Plain", kids: []xn{xtext("no template")}})
	return c.bytes()[:len(c.buf)]
}

// fuzzHeader is a valid file header for a one-chunk file.
func fuzzHeader() []byte { return evtxFile()[:FileHeaderSize] }

// parseAll parses data as an EVTX file; it must never panic, every record
// must be valid JSON and every error a *CorruptError.
func parseAll(t *testing.T, data []byte) {
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return
	}
	it := f.Records()
	for n := 0; n < 1<<16; n++ {
		rec, err := it.Next()
		if err == io.EOF {
			return
		}
		var ce *CorruptError
		if errors.As(err, &ce) {
			continue
		}
		if err != nil {
			t.Fatalf("non-corruption error: %v", err)
		}
		if !json.Valid(rec.JSON) {
			t.Fatalf("invalid JSON: %s", rec.JSON)
		}
	}
	t.Fatal("iterator does not end")
}

// FuzzChunk mutates the chunk of a one-chunk file (the file header stays
// valid, so mutations reach the chunk, record and BinXML parsers).
func FuzzChunk(f *testing.F) {
	f.Add(sampleChunk())
	hdr := fuzzHeader()
	f.Fuzz(func(t *testing.T, chunk []byte) {
		if len(chunk) > ChunkSize {
			chunk = chunk[:ChunkSize]
		}
		// Keep the checksums right so that mutations are not all stopped
		// at the chunk header.
		if len(chunk) >= chunkHeaderSize {
			chunk = bytes.Clone(chunk)
			fixChunkCRC(chunk)
		}
		parseAll(t, append(bytes.Clone(hdr), chunk...))
	})
}

// FuzzFile mutates whole files, file header included.
func FuzzFile(f *testing.F) {
	f.Add(append(fuzzHeader(), sampleChunk()...))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseAll(t, data)
	})
}

// TestSampleChunk checks the fuzz sample itself parses cleanly.
func TestSampleChunk(t *testing.T) {
	d := dump(t, append(fuzzHeader(), sampleChunk()...))
	if len(d.recs) != 3 || len(d.corrupt) != 0 {
		t.Fatalf("got %d records and %v, want 3 clean records", len(d.recs), d.corrupt)
	}
	sameJSON(t, string(d.recs[2].JSON), `{"Plain":"no template"}`)
}

// TestWriteFuzzSeeds writes the seed corpus (go test -run TestWriteFuzzSeeds
// -update): truncations of the sample chunk and of the sample file.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fuzz")
	}
	chunk := sampleChunk()
	write := func(target, name string, data []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, cut := range []int{len(chunk), len(chunk) * 3 / 4, len(chunk) / 2, 700, chunkHeaderSize + 24, chunkHeaderSize} {
		write("FuzzChunk", fmt.Sprintf("sample-%d", cut), chunk[:cut])
	}
	file := append(fuzzHeader(), chunk...)
	for _, cut := range []int{len(file), FileHeaderSize + chunkHeaderSize + 100, FileHeaderSize, 128} {
		write("FuzzFile", fmt.Sprintf("sample-%d", cut), file[:cut])
	}
}
