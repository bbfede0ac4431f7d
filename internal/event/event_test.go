package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestBatchRoundTrip(t *testing.T) {
	in := []Event{
		{Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Fields: []Field{{"message", "hello"}, {"host.name", "ward-3"}}},
		{Time: time.Unix(0, 0).UTC()},
		{Time: time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), Fields: []Field{{"", ""}, {"a", "\x00\xff"}}},
	}
	data := AppendBatch(nil, in)
	got, err := DecodeBatch(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].Fields == nil {
			got[i].Fields = []Field{}
		}
		if in[i].Fields == nil {
			in[i].Fields = []Field{}
		}
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip: got %+v, want %+v", got, in)
	}
}

// TestDecodeBatchShared: the shared decoding gives the same events as
// DecodeBatch, with every string inside data (no copy of the batch), and
// refuses what DecodeBatch refuses.
func TestDecodeBatchShared(t *testing.T) {
	var in []Event
	for i := range 50 {
		in = append(in, Event{Time: time.Unix(int64(i), 0).UTC(), Arrived: time.Unix(100, int64(i)).UTC(),
			Fields: []Field{{"message", strings.Repeat("m", i)}, {"host.name", fmt.Sprint("host-", i%3)}}})
	}
	data := AppendBatch(nil, in)
	want, err := DecodeBatch(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBatchShared(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("shared decoding: got %+v, want %+v", got, want)
	}
	lo, hi := uintptr(unsafe.Pointer(&data[0])), uintptr(unsafe.Pointer(&data[0]))+uintptr(len(data))
	for _, e := range got {
		for _, f := range e.Fields {
			for _, s := range []string{f.Name, f.Value} {
				if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); s != "" && (p < lo || p >= hi) {
					t.Fatalf("%q is a copy, want a substring of the batch", s)
				}
			}
		}
	}
	if _, err := DecodeBatchShared(nil, nil); !errors.Is(err, ErrCorruptBatch) {
		t.Errorf("empty batch: got err %v, want ErrCorruptBatch", err)
	}
	if _, err := DecodeBatchShared(nil, data[:len(data)-1]); !errors.Is(err, ErrCorruptBatch) {
		t.Errorf("truncated batch: got err %v, want ErrCorruptBatch", err)
	}
}

// TestEncoderReusedAcrossBatches: one Encoder (the batcher keeps one)
// encodes batch after batch of different field names exactly as a fresh
// one does: nothing of a batch's name table leaks into the next.
func TestEncoderReusedAcrossBatches(t *testing.T) {
	batches := [][]Event{
		{{Time: time.Unix(1, 0), Fields: []Field{{"message", "a"}, {"host.name", "h1"}}}},
		{{Time: time.Unix(2, 0), Fields: []Field{{"user.name", "u"}, {"message", "b"}}}, {Time: time.Unix(3, 0), Fields: []Field{{"message", "c"}}}},
		{{Time: time.Unix(4, 0)}},
		{{Time: time.Unix(5, 0), Fields: []Field{{"host.name", "h2"}, {"user.name", "v"}, {"source.ip", "10.0.0.1"}}}},
	}
	var enc Encoder
	var buf []byte
	for i, b := range batches {
		buf = enc.AppendBatch(buf[:0], b)
		if want := AppendBatch(nil, b); string(buf) != string(want) {
			t.Fatalf("batch %d: reused encoder wrote %q, want %q", i, buf, want)
		}
	}
}

func TestDecodeBatchCorrupt(t *testing.T) {
	good := AppendBatch(nil, []Event{{Time: time.Unix(1, 0), Fields: []Field{{"message", "x"}}}})
	f := func(name string, data []byte) {
		t.Helper()
		if _, err := DecodeBatch(nil, data); !errors.Is(err, ErrCorruptBatch) {
			t.Errorf("%s: got err %v, want ErrCorruptBatch", name, err)
		}
	}
	f("empty", nil)
	f("version", append([]byte{9}, good[1:]...))
	f("truncated", good[:len(good)-1])
	f("trailing", append(append([]byte{}, good...), 0))
	f("huge count", []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(AppendBatch(nil, []Event{{Time: time.Unix(5, 0), Fields: []Field{{"a", "b"}}}}))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := DecodeBatch(nil, data)
		if err != nil {
			return
		}
		// What decodes must survive a round trip (the bytes may differ:
		// varints have non-canonical encodings).
		again, err := DecodeBatch(nil, AppendBatch(nil, evs))
		if err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if len(again) != len(evs) {
			t.Fatalf("round trip: %d events, want %d", len(again), len(evs))
		}
		for i := range evs {
			if !again[i].Time.Equal(evs[i].Time) || fmt.Sprint(again[i].Fields) != fmt.Sprint(evs[i].Fields) {
				t.Fatalf("round trip changed event %d: %+v vs %+v", i, again[i], evs[i])
			}
		}
	})
}

func TestAppendJSON(t *testing.T) {
	e := Event{Time: time.Date(2026, 3, 1, 10, 0, 0, 500, time.FixedZone("x", 3600))}
	e.Set("message", "a \"quoted\"\n\tline \x01 \xff \u2028")
	e.Set("user.name", "ålice")
	out := AppendJSON(nil, &e)
	var m map[string]string
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", out, err)
	}
	want := map[string]string{
		"@timestamp": "2026-03-01T09:00:00.0000005Z",
		"message":    "a \"quoted\"\n\tline \x01 \ufffd \u2028",
		"user.name":  "ålice",
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %v, want %v", m, want)
	}
}

func TestSetGetDelete(t *testing.T) {
	var e Event
	e.Set("a", "1")
	e.Set("b", "2")
	e.Set("a", "3")
	e.SetIfAbsent("b", "9")
	if v, _ := e.Get("a"); v != "3" || len(e.Fields) != 2 || e.Value("b") != "2" {
		t.Fatalf("got %+v", e.Fields)
	}
	e.Delete("a")
	if e.Has("a") || !e.Has("b") {
		t.Fatalf("after delete: %+v", e.Fields)
	}
}

// Version 1 batches (names in every event, no arrival) still decode: the
// bus may hold them from before an upgrade.
func TestDecodeBatchV1(t *testing.T) {
	v1 := []byte{1, 1, 10, 2, 7, 'm', 'e', 's', 's', 'a', 'g', 'e', 2, 'h', 'i', 4, 'h', 'o', 's', 't', 1, 'x'}
	got, err := DecodeBatch(nil, v1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Time.UnixNano() != 5 || !got[0].Arrived.IsZero() || got[0].Value("message") != "hi" || got[0].Value("host") != "x" {
		t.Fatalf("got %+v", got)
	}
}

// The name table carries each name once, arrival times travel, and a
// field appended to a decoded event (its id) never overwrites the next
// event's fields.
func TestBatchNamesArrivalAndAppend(t *testing.T) {
	var in []Event
	arrived := time.Date(2026, 12, 7, 12, 0, 0, 123456789, time.UTC)
	for i := range 100 {
		e := Event{Time: time.Unix(int64(i), 0).UTC(), Arrived: arrived.Add(time.Duration(i))}
		e.Add("log.syslog.facility.name", "auth")
		e.Add("message", fmt.Sprintf("event %d", i))
		if i%10 == 0 {
			e.Add("only.some", "x")
		}
		in = append(in, e)
	}
	data := AppendBatch(nil, in)
	if n := strings.Count(string(data), "log.syslog.facility.name"); n != 1 {
		t.Fatalf("name written %d times", n)
	}
	got, err := DecodeBatch(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if !got[i].Arrived.Equal(in[i].Arrived) || !got[i].Time.Equal(in[i].Time) || fmt.Sprint(got[i].Fields) != fmt.Sprint(in[i].Fields) {
			t.Fatalf("event %d: got %+v, want %+v", i, got[i], in[i])
		}
	}
	for i := range got {
		got[i].Fields = append(got[i].Fields, Field{FieldID, "id"}, Field{"more", "y"})
	}
	for i := range got {
		if got[i].Value("message") != fmt.Sprintf("event %d", i) || len(got[i].Fields) != len(in[i].Fields)+2 {
			t.Fatalf("event %d after appends: %+v", i, got[i])
		}
	}
}
