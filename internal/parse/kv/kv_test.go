package kv

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fields renders an event's fields as "name=value" lines for comparison.
func fields(e *event.Event) string {
	var b strings.Builder
	for _, f := range e.Fields {
		b.WriteString(f.Name)
		b.WriteByte('=')
		b.WriteString(f.Value)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestParse(t *testing.T) {
	f := func(in string, opt Options, want string) {
		t.Helper()
		var e event.Event
		if err := Parse(&e, []byte(in), opt); err != nil {
			t.Fatalf("Parse(%q): unexpected error: %v", in, err)
		}
		if got := fields(&e); got != want {
			t.Fatalf("Parse(%q):\ngot\n%s\nwant\n%s", in, got, want)
		}
	}
	f(``, Options{}, ``)
	f(`a=1 b=2`, Options{}, "kv.a=1\nkv.b=2\n")
	f(`  a=1   b=2  `, Options{}, "kv.a=1\nkv.b=2\n")
	f(`a= b=`, Options{}, "kv.a=\nkv.b=\n")
	f(`msg="hello world" x=1`, Options{}, "kv.msg=hello world\nkv.x=1\n")
	f(`msg='it''s' x=1`, Options{}, "kv.msg=it's'\nkv.x=1\n") // text after the closing quote is kept raw
	f(`msg="say \"hi\"\n" x=\"y`, Options{}, "kv.msg=say \"hi\"\n\nkv.x=\\\"y\n")
	f(`path="C:\\Windows\\x" u="a\qb"`, Options{}, "kv.path=C:\\Windows\\x\nkv.u=a\\qb\n")
	f(`"quoted key"=v`, Options{}, "kv.quoted key=v\n")
	f(`a=1;b=two words;c=3`, Options{PairSeparators: ";"}, "kv.a=1\nkv.b=two words\nkv.c=3\n")
	f(`a:1 b:2`, Options{KeyValueSeparator: ':'}, "kv.a=1\nkv.b=2\n")
	f(`a=1 b=2`, Options{NoPrefix: true}, "a=1\nb=2\n")
	f(`a=1 b=2`, Options{Prefix: "fortinet."}, "fortinet.a=1\nfortinet.b=2\n")
	f(`a="x y"`, Options{NoQuotes: true}, "kv.a=\"x\nkv.unparsed=y\"\n")
	// Words that are not pairs are kept, not dropped.
	f(`%ASA-6-302013: Built inbound src=1.2.3.4`, Options{}, "kv.src=1.2.3.4\nkv.unparsed=%ASA-6-302013: Built inbound\n")
	f(`=v a=1`, Options{}, "kv.a=1\nkv.unparsed==v\n")
	// Values running on to the next key, as in CEF extensions.
	f(`msg=User login failed user=bob url=http://x/?a=b c=d`, Options{ValuesWithSeparators: true},
		"kv.msg=User login failed\nkv.user=bob\nkv.url=http://x/?a=b\nkv.c=d\n")
	f(`msg=trailing   `, Options{ValuesWithSeparators: true}, "kv.msg=trailing\n")
	// Duplicate keys.
	f(`t=a t=b t="c\"d"`, Options{}, "kv.t=[\"a\",\"b\",\"c\\\"d\"]\n")
	f(`t=a x=1 t=b`, Options{Duplicates: DuplicateFirst}, "kv.t=a\nkv.x=1\n")
	f(`t=a x=1 t=b`, Options{Duplicates: DuplicateLast}, "kv.t=b\nkv.x=1\n")
	// Text after a closing quote stays with the value.
	f(`a="x"y b=1`, Options{}, "kv.a=xy\nkv.b=1\n")
}

func TestParseErrors(t *testing.T) {
	f := func(in string, opt Options, want string) {
		t.Helper()
		e := event.Event{Fields: []event.Field{{Name: "keep", Value: "me"}}}
		err := Parse(&e, []byte(in), opt)
		if err == nil {
			t.Fatalf("Parse(%q): no error, want %q", in, want)
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("Parse(%q): error %T is not *Error", in, err)
		}
		if got := err.Error(); got != want {
			t.Fatalf("Parse(%q):\ngot  %s\nwant %s", in, got, want)
		}
		if len(e.Fields) != 1 {
			t.Fatalf("Parse(%q): event changed on error: %v", in, e.Fields)
		}
	}
	f(`a=1 b="open`, Options{}, `kv: key "b" at byte 6: unterminated " quote`)
	f(`a=1 t=x t=y`, Options{Duplicates: DuplicateError}, `kv: key "t" at byte 8: duplicate key`)
	f(`a=1 word`, Options{Strict: true}, `kv: at byte 4: "word" is not a key=value pair`)
	f(`a="x"y`, Options{Strict: true}, `kv: key "a" at byte 5: text after the closing quote`)
	f(`a=1 b=2 c=3`, Options{MaxPairs: 2}, `kv: key "c" at byte 8: more than 2 pairs`)
	f(`abcdef=1`, Options{MaxKeyLen: 4}, `kv: key "abcdef" at byte 0: key longer than 4 bytes`)
	f(`a=12345`, Options{MaxInput: 4}, `kv: at byte 4: input of 7 bytes exceeds the limit of 4`)
}

func TestPairs(t *testing.T) {
	p := NewParser(Options{})
	pairs, rest, err := p.Pairs([]byte(`x=1 y="2 3" x=4 bare`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, kv := range pairs {
		got = append(got, kv.Key+"="+kv.Value)
	}
	if g, w := strings.Join(got, "|"), "x=1|y=2 3|x=4"; g != w {
		t.Fatalf("pairs: got %q, want %q", g, w)
	}
	if rest != "bare" || pairs[2].Offset != 12 {
		t.Fatalf("rest %q offset %d, want \"bare\" 12", rest, pairs[2].Offset)
	}
}

// TestGolden parses the vendor samples in testdata/samples.txt (one per
// line, # comments) and compares the fields with samples.golden.
func TestGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "samples.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := NewParser(Options{})
	sc := bufio.NewScanner(bytes.NewReader(in))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var e event.Event
		if err := p.Append(&e, []byte(line)); err != nil {
			out.WriteString("error: " + err.Error() + "\n")
			continue
		}
		out.Write(event.AppendJSON(nil, &e))
		out.WriteByte('\n')
	}
	golden := filepath.Join("testdata", "samples.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := out.String(); got != string(want) {
		t.Fatalf("golden mismatch (run with -update after checking):\ngot\n%s\nwant\n%s", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`a=1 b="x y" c='z'`, `t=a t=b`, `a="\"`, `"k"=v w`, `=`, `a=1;b=2`} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, greedy bool) {
		for _, opt := range []Options{{ValuesWithSeparators: greedy}, {Duplicates: DuplicateError, Strict: true, PairSeparators: ";, "}} {
			var e event.Event
			if err := Parse(&e, data, opt); err != nil {
				var pe *Error
				if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > len(data) {
					t.Fatalf("bad error %v for %q", err, data)
				}
				if len(e.Fields) != 0 {
					t.Fatalf("fields left on error: %v", e.Fields)
				}
				continue
			}
			if len(e.Fields) > DefaultMaxPairs+1 {
				t.Fatalf("%d fields, limit %d", len(e.Fields), DefaultMaxPairs)
			}
		}
	})
}

var benchLine = []byte(`date=2024-05-10 time=10:01:02 devname="FGT60F-HQ" devid="FGT60FTK2109ABCD" eventtime=1715335262123456789 tz="+0200" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.1.20.15 srcport=53412 srcintf="internal" dstip=93.184.216.34 dstport=443 dstintf="wan1" proto=6 action="deny" policyid=7 service="HTTPS" sentbyte=0 rcvdbyte=0 msg="Denied by forward policy check (policy 7)"`)

func BenchmarkParseFortinet(b *testing.B) {
	p := NewParser(Options{})
	var e event.Event
	b.ReportAllocs()
	b.SetBytes(int64(len(benchLine)))
	for b.Loop() {
		e.Reset()
		if err := p.Append(&e, benchLine); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
