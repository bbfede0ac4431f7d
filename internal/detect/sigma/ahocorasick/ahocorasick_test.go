package ahocorasick

import (
	"bytes"
	"math/rand"
	"sort"
	"testing"
)

// naive returns every occurrence of the patterns in text, as id<<20+end.
func naive(pats [][]byte, text []byte) []int32 {
	var out []int32
	for i := range text {
		for id, p := range pats {
			if len(p) > 0 && bytes.HasPrefix(text[i:], p) {
				out = append(out, int32(id)<<20+int32(i+len(p)))
			}
		}
	}
	return out
}

func sorted(x []int32) []int32 {
	sort.Slice(x, func(i, j int) bool { return x[i] < x[j] })
	return x
}

// scanAnchors returns every occurrence found, as id<<20+end.
func scanAnchors(a *Anchors, text []byte) []int32 {
	var out []int32
	a.Find(text, func(id int32, end int) bool { out = append(out, id<<20+int32(end)); return false })
	return out
}

func TestAnchors(t *testing.T) {
	f := func(text string, want int, pats ...string) {
		t.Helper()
		var ps [][]byte
		for _, p := range pats {
			ps = append(ps, []byte(p))
		}
		got := scanAnchors(BuildAnchors(ps), []byte(text))
		if len(got) != want {
			t.Errorf("%q in %q: got %d hits %v, want %d", pats, text, len(got), got, want)
		}
	}
	f("ushers", 3, "he", "she", "his", "hers")
	f("aaaa", 3, "aa")
	f("aaaaaa", 3, "aaaa")
	f("cmd.exe /c whoami", 2, "cmd.exe", "whoami", "powershell")
	f("", 0, "a")
	f("abc", 0)
	f("abc", 1, "", "b")
	f("a", 1, "a", "ab", "abc", "abcd")
	f("ab", 2, "a", "ab", "abc", "abcd")
	f("abcd", 4, "a", "ab", "abc", "abcd")
	f("x\x00", 0, "x\x00\x00") // the virtual byte after the text is never matched
	f("x", 0, "x\x00")
	f("mimikatz sekurlsa::logonpasswords", 2, "sekurlsa::", "mimikatz", "kerberos::")
}

// TestAnchorsFindStops checks that Find stops at the first occurrence fn
// accepts and says so, for long and short patterns.
func TestAnchorsFindStops(t *testing.T) {
	a := BuildAnchors([][]byte{[]byte("whoami"), []byte("/c"), []byte("cmd.exe")})
	text := []byte("cmd.exe /c whoami /c whoami")
	for _, want := range []int32{0, 1, 2} {
		calls := 0
		found := a.Find(text, func(id int32, end int) bool {
			calls++
			if p := a.pats[id]; end < len(p) || string(text[end-len(p):end]) != string(p) {
				t.Errorf("pattern %d reported ending at %d", id, end)
			}
			return id == want
		})
		if !found {
			t.Errorf("pattern %d: Find reported false", want)
		}
		all := len(scanAnchors(a, text))
		if calls >= all {
			t.Errorf("pattern %d: %d calls of %d occurrences: Find did not stop", want, calls, all)
		}
	}
	if a.Find([]byte("nothing here"), func(int32, int) bool { return true }) {
		t.Error("Find reported an occurrence in a text without one")
	}
}

// TestAnchorsRandom compares Anchors with the naive search on random
// patterns of 1 to 12 bytes over a small alphabet (many overlaps, shared
// anchors, repeated patterns).
func TestAnchorsRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	alpha := []byte("abc\\.\x00\xff")
	word := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.Intn(len(alpha))]
		}
		return b
	}
	for iter := 0; iter < 2000; iter++ {
		var pats [][]byte
		for i := 0; i < 1+rng.Intn(40); i++ {
			pats = append(pats, word(1+rng.Intn(12)))
		}
		if iter%3 == 0 {
			pats = append(pats, pats[rng.Intn(len(pats))])
		}
		text := word(rng.Intn(80))
		got, want := sorted(scanAnchors(BuildAnchors(pats), text)), sorted(naive(pats, text))
		if len(got) != len(want) {
			t.Fatalf("pats %q text %q: got %v want %v", pats, text, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("pats %q text %q: got %v want %v", pats, text, got, want)
			}
		}
	}
}

func benchPatterns() ([][]byte, []byte) {
	var pats [][]byte
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 3000; i++ {
		p := make([]byte, 6+rng.Intn(10))
		for j := range p {
			p[j] = byte('a' + rng.Intn(26))
		}
		pats = append(pats, p)
	}
	return pats, bytes.Repeat([]byte(`c:\windows\system32\cmd.exe /c "whoami /all" `), 4)
}

func BenchmarkAnchorsScan(b *testing.B) {
	pats, text := benchPatterns()
	a := BuildAnchors(pats)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	n := 0
	for i := 0; i < b.N; i++ {
		a.Find(text, func(int32, int) bool { n++; return false })
	}
}

// FuzzAnchors compares Anchors with the naive search: the input's first
// line is the text, the other lines the patterns.
func FuzzAnchors(f *testing.F) {
	f.Add([]byte("c:\\windows\\system32\\cmd.exe /c whoami\ncmd.exe\nwhoami\n /c\nc\n\n"))
	f.Add([]byte("aaaaaaaaaa\naaaa\naaaaa\na\naa\naaa"))
	f.Add([]byte("x\x00\xff\nx\x00\n\x00\xff\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		lines := bytes.Split(in, []byte("\n"))
		text, pats := lines[0], lines[1:]
		if len(pats) > 200 {
			pats = pats[:200]
		}
		got, want := sorted(scanAnchors(BuildAnchors(pats), text)), sorted(naive(pats, text))
		if len(got) != len(want) {
			t.Fatalf("pats %q text %q: got %v want %v", pats, text, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("pats %q text %q: got %v want %v", pats, text, got, want)
			}
		}
	})
}
