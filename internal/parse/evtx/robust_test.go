package evtx

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/rand"
	"testing"
)

// checkDump parses data and fails on a panic (implicitly), an I/O error, a
// non-corruption error or invalid JSON. Open may refuse the data.
func checkDump(t *testing.T, data []byte) (dumped, bool) {
	t.Helper()
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return dumped{}, false
	}
	var d dumped
	it := f.Records()
	for n := 0; ; n++ {
		if n > 1<<16 {
			t.Fatal("iterator does not end")
		}
		rec, err := it.Next()
		if err == io.EOF {
			return d, true
		}
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("non-corruption error: %v", err)
			}
			if ce.Error() == "" {
				t.Fatal("empty error text")
			}
			d.corrupt = append(d.corrupt, ce)
			continue
		}
		if !json.Valid(rec.JSON) {
			t.Fatalf("record %d: invalid JSON %s", rec.ID, rec.JSON)
		}
		r := *rec
		r.JSON = bytes.Clone(rec.JSON)
		d.recs = append(d.recs, r)
	}
}

// recordEnd returns the file offset just past record r.
func recordEnd(data []byte, r Record) int64 {
	return r.Offset + int64(binary.LittleEndian.Uint32(data[r.Offset+4:]))
}

// requireRecords checks that every record of want that satisfies keep was
// recovered with identical JSON.
func requireRecords(t *testing.T, got dumped, want []Record, keep func(Record) bool) {
	t.Helper()
	byOffset := map[int64]Record{}
	for _, r := range got.recs {
		byOffset[r.Offset] = r
	}
	for _, w := range want {
		if !keep(w) {
			continue
		}
		g, ok := byOffset[w.Offset]
		if !ok {
			t.Errorf("record %d at 0x%x not recovered (reports: %v)", w.ID, w.Offset, got.corrupt)
			continue
		}
		if !bytes.Equal(g.JSON, w.JSON) {
			t.Errorf("record %d at 0x%x differs:\ngot  %s\nwant %s", w.ID, w.Offset, g.JSON, w.JSON)
		}
	}
}

// TestCorpusTruncated cuts every corpus file at many points: nothing
// panics, and every record wholly before the cut is recovered unchanged.
func TestCorpusTruncated(t *testing.T) {
	for _, cf := range loadCorpus(t) {
		full := dump(t, cf.evtx)
		cuts := []int64{0, 1, 8, 127, 128, 4095, 4096, 4097, 4096 + 100, 4096 + 511, 4096 + 512, int64(len(cf.evtx)) - 1}
		for _, r := range full.recs {
			end := recordEnd(cf.evtx, r)
			cuts = append(cuts, r.Offset, r.Offset+10, end-1, end, end+3)
		}
		for _, cut := range cuts {
			if cut < 0 || cut > int64(len(cf.evtx)) {
				continue
			}
			d, ok := checkDump(t, cf.evtx[:cut])
			if !ok {
				continue
			}
			requireRecords(t, d, full.recs, func(r Record) bool { return recordEnd(cf.evtx, r) <= cut })
			if t.Failed() {
				t.Fatalf("%s cut at %d", cf.name, cut)
			}
		}
	}
}

// TestCorpusBitFlips flips bits of every corpus file: nothing panics, all
// output stays valid JSON, and a flip inside the last record never costs
// the records before it.
func TestCorpusBitFlips(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, cf := range loadCorpus(t) {
		full := dump(t, cf.evtx)
		last := full.recs[len(full.recs)-1]
		lastEnd := recordEnd(cf.evtx, last)
		for i := 0; i < 40; i++ {
			data := bytes.Clone(cf.evtx)
			var pos int64
			if i%2 == 0 {
				pos = rng.Int63n(int64(len(data)))
			} else {
				pos = last.Offset + rng.Int63n(lastEnd-last.Offset)
			}
			data[pos] ^= 1 << rng.Intn(8)
			d, _ := checkDump(t, data)
			if pos >= last.Offset && pos < lastEnd {
				requireRecords(t, d, full.recs, func(r Record) bool { return r.Offset < last.Offset })
			}
			if t.Failed() {
				t.Fatalf("%s: bit flip at %d", cf.name, pos)
			}
		}
	}
}

// TestCorpusDamagedRecordFrames breaks the frame (signature or size) of each
// record of the multi-record corpus files: the other records are found
// again and are unchanged, and the damage is reported at the right place.
func TestCorpusDamagedRecordFrames(t *testing.T) {
	tested := 0
	for _, cf := range loadCorpus(t) {
		full := dump(t, cf.evtx)
		if len(full.recs) < 2 {
			continue
		}
		tested++
		for _, victim := range full.recs {
			for _, damage := range []struct {
				name string
				off  int64
				val  byte
			}{{"signature", 0, 0x2b}, {"size", 6, 0x7f}} {
				data := bytes.Clone(cf.evtx)
				data[victim.Offset+damage.off] = damage.val
				fixChunkCRC(data[FileHeaderSize : FileHeaderSize+ChunkSize])
				d, _ := checkDump(t, data)
				requireRecords(t, d, full.recs, func(r Record) bool { return r.Offset != victim.Offset })
				found := false
				for _, ce := range d.corrupt {
					if ce.Lost == LostRecord && ce.Offset == victim.Offset && ce.Chunk == 0 {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: damaged %s of record %d at 0x%x not reported: %v", cf.name, damage.name, victim.ID, victim.Offset, d.corrupt)
				}
			}
		}
	}
	if tested == 0 {
		t.Fatal("no multi-record file in the corpus: nothing was tested")
	}
}

// multiChunkFile joins the chunks of the corpus files into one file, as a
// Windows log of many chunks would be.
func multiChunkFile(files []corpusFile) []byte {
	var chunks [][]byte
	for _, cf := range files {
		for off := FileHeaderSize; off+ChunkSize <= len(cf.evtx); off += ChunkSize {
			chunks = append(chunks, cf.evtx[off:off+ChunkSize])
		}
	}
	return evtxFile(chunks...)
}

// TestCorpusMultiChunkRecovery damages whole chunks of a many-chunk file
// and checks that exactly those chunks are reported and skipped.
func TestCorpusMultiChunkRecovery(t *testing.T) {
	files := loadCorpus(t)
	data := multiChunkFile(files)
	full := dump(t, data)
	if len(full.corrupt) != 0 {
		t.Fatalf("clean joined file reports %v", full.corrupt)
	}
	var want int
	for _, cf := range files {
		want += len(cf.want)
	}
	if len(full.recs) != want {
		t.Fatalf("joined file: got %d records, want %d", len(full.recs), want)
	}
	chunkOf := func(off int64) int { return int((off - FileHeaderSize) / ChunkSize) }

	damaged := bytes.Clone(data)
	// Chunk 3: header checksum broken. Chunk 5: signature gone. Chunk 7:
	// zeroed (an unused chunk, skipped silently). Chunk 9: record area
	// checksum broken by a flip in the last record only.
	damaged[FileHeaderSize+3*ChunkSize+20] ^= 0x10
	copy(damaged[FileHeaderSize+5*ChunkSize:], "NotChnk\x00")
	clear(damaged[FileHeaderSize+7*ChunkSize : FileHeaderSize+8*ChunkSize])
	var last9 Record
	for _, r := range full.recs {
		if chunkOf(r.Offset) == 9 {
			last9 = r
		}
	}
	damaged[recordEnd(data, last9)-8] ^= 0x01
	// The file header too: its checksum no longer matches.
	damaged[30] ^= 0xff

	d, _ := checkDump(t, damaged)
	requireRecords(t, d, full.recs, func(r Record) bool {
		c := chunkOf(r.Offset)
		return c != 3 && c != 5 && c != 7 && r.Offset != last9.Offset
	})
	type key struct {
		chunk int
		lost  Loss
	}
	reports := map[key]int{}
	for _, ce := range d.corrupt {
		reports[key{ce.Chunk, ce.Lost}]++
		if ce.Chunk >= 0 && ce.Offset < FileHeaderSize+int64(ce.Chunk)*ChunkSize {
			t.Errorf("report %v: offset before its chunk", ce)
		}
	}
	for _, k := range []key{{-1, LostNothing}, {3, LostChunk}, {5, LostChunk}, {9, LostNothing}} {
		if reports[k] != 1 {
			t.Errorf("want one report %+v, got reports %v", k, d.corrupt)
		}
	}
	if reports[key{7, LostChunk}] != 0 {
		t.Errorf("a zeroed chunk must be skipped silently: %v", d.corrupt)
	}
}

func TestAppendNext(t *testing.T) {
	files := loadCorpus(t)
	data := multiChunkFile(files[:10])
	full := dump(t, data)
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	it := f.Records()
	buf := []byte("prefix\n")
	var want []byte
	want = append(want, buf...)
	for i := 0; ; i++ {
		rec, out, err := it.AppendNext(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.JSON, full.recs[i].JSON) || !bytes.HasSuffix(out, rec.JSON) {
			t.Fatalf("record %d: AppendNext JSON differs from Next", i)
		}
		buf = append(out, '\n')
		want = append(append(want, full.recs[i].JSON...), '\n')
	}
	if !bytes.Equal(buf, want) {
		t.Fatal("appended NDJSON differs from the records")
	}
	// Steady state: per-record work allocates nothing; what remains is per
	// iterator and per chunk (caches of names and templates).
	full2 := fullChunksFile(16)
	f2, err := Open(bytes.NewReader(full2), int64(len(full2)))
	if err != nil {
		t.Fatal(err)
	}
	records := len(dump(t, full2).recs)
	allocs := testing.AllocsPerRun(5, func() {
		it := f2.Records()
		buf = buf[:0]
		for {
			_, out, err := it.AppendNext(buf[:0])
			if err != nil {
				break
			}
			buf = out
		}
	})
	if perRecord := allocs / float64(records); perRecord > 0.25 {
		t.Errorf("%.2f allocations per record (%d records), want at most 0.25", perRecord, records)
	}
}

func TestOpenRejectsNonEVTX(t *testing.T) {
	f := func(data []byte) {
		t.Helper()
		if _, err := Open(bytes.NewReader(data), int64(len(data))); err == nil {
			t.Errorf("Open(% x...) succeeded, want an error", data[:min(len(data), 8)])
		}
	}
	f(nil)
	f([]byte("ElfFil"))
	f(bytes.Repeat([]byte("x"), 70000))
}

func TestChunkRecordsParallel(t *testing.T) {
	files := loadCorpus(t)
	data := multiChunkFile(files[:8])
	full := dump(t, data)
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	results := make([][]Record, f.NumChunks())
	done := make(chan int)
	for n := 0; n < f.NumChunks(); n++ {
		go func(n int) {
			it := f.ChunkRecords(n)
			if n%2 == 1 {
				it = f.ChunkRecords(0)
				it.ResetChunk(n) // a reused iterator reads the same records
			}
			for {
				rec, err := it.Next()
				if err != nil {
					break
				}
				r := *rec
				r.JSON = bytes.Clone(rec.JSON)
				results[n] = append(results[n], r)
			}
			done <- n
		}(n)
	}
	for range results {
		<-done
	}
	var got dumped
	for _, rs := range results {
		got.recs = append(got.recs, rs...)
	}
	if len(got.recs) != len(full.recs) {
		t.Fatalf("parallel: %d records, sequential %d", len(got.recs), len(full.recs))
	}
	requireRecords(t, got, full.recs, func(Record) bool { return true })
}
