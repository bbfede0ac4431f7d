package evtx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// benchFile joins all corpus chunks into one file (101 chunks, 6.6 MB).
func benchFile(b *testing.B) []byte {
	b.Helper()
	return multiChunkFile(loadCorpus(b))
}

// parseFile parses every record to JSON and returns the record count.
func parseFile(b *testing.B, f *File) int {
	n := 0
	it := f.Records()
	for {
		_, err := it.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// usedBytes sums the record areas of all chunks (header to free space): the
// bytes a full-chunk file would hold.
func usedBytes(data []byte) int64 {
	var n int64
	for off := FileHeaderSize; off+ChunkSize <= len(data); off += ChunkSize {
		n += int64(binary.LittleEndian.Uint32(data[off+48:]))
	}
	return n
}

func benchParse(b *testing.B, data []byte) {
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	used := usedBytes(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	records := 0
	for i := 0; i < b.N; i++ {
		records = parseFile(b, f)
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(used)*float64(b.N)/secs/1e6, "used-MB/s")
	b.ReportMetric(float64(records)*float64(b.N)/secs, "records/s")
}

// BenchmarkParseJSON measures parse-to-JSON on one goroutine (MB/s per core)
// over every chunk of the corpus. The corpus chunks are mostly empty, so
// used-MB/s (record bytes per second) is the figure comparable to full logs.
func BenchmarkParseJSON(b *testing.B) {
	benchParse(b, benchFile(b))
}

// BenchmarkParseJSONFullChunks parses 64 full chunks of Sysmon-like process
// creation records (one template, 22 named Data fields), as in a real log.
func BenchmarkParseJSONFullChunks(b *testing.B) {
	benchParse(b, fullChunksFile(64))
}

func fullChunksFile(chunks int) []byte {
	body := &xel{name: "Event", attrs: []xattr{{"xmlns", []xn{xtext("http://schemas.microsoft.com/win/2004/08/events/event")}}}, kids: []xn{sysTemplate.kids[0]}}
	var data []xn
	names := []string{"RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "FileVersion", "Description", "Product", "Company",
		"OriginalFileName", "CommandLine", "CurrentDirectory", "User", "LogonGuid", "LogonId", "TerminalSessionId", "IntegrityLevel",
		"Hashes", "ParentProcessGuid", "ParentProcessId", "ParentImage", "ParentCommandLine"}
	for i, n := range names {
		data = append(data, &xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext(n)}}}, kids: []xn{xsub{uint16(8 + i), typeString, false}}})
	}
	body.kids = append(body.kids, &xel{name: "EventData", kids: data})
	var out [][]byte
	id := uint64(1)
	for c := 0; c < chunks; c++ {
		cw := newChunkW()
		for len(cw.buf) < ChunkSize-8000 {
			vals := []tval{vStr("Microsoft-Windows-Sysmon"), vGUID(0x5770385F, 0xC22A, 0x43E0, [8]byte{0xBF, 0x4C}), vNull(), vU16(1),
				vHex64(0x8000000000000000), vFiletime(filetimeOf("2026-04-17T05:24:53.092051Z") + id), vNull(), vSID(1, 5, 18)}
			for _, n := range names {
				v := fmt.Sprintf("%s-%d", n, id)
				if strings.HasSuffix(n, "CommandLine") || strings.HasSuffix(n, "Image") {
					v = fmt.Sprintf(`"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -Command Get-Item %d`, id)
				}
				vals = append(vals, vStr(v))
			}
			cw.record(id, id, xinst{key: "sysmon1", body: body, vals: vals})
			id++
		}
		out = append(out, cw.bytes())
	}
	return evtxFile(out...)
}

// BenchmarkParseJSONParallel parses the chunks on all cores (ChunkRecords
// per worker goroutine).
func BenchmarkParseJSONParallel(b *testing.B) {
	data := benchFile(b)
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				it := f.ChunkRecords(0)
				for n := range next {
					it.ResetChunk(n)
					for {
						if _, err := it.Next(); err == io.EOF {
							break
						} else if err != nil {
							b.Error(err)
							return
						}
					}
				}
			}()
		}
		for n := 0; n < f.NumChunks(); n++ {
			next <- n
		}
		close(next)
		wg.Wait()
	}
}
