package store

import "testing"

func TestStoredNames(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`message:failed`, `_msg:failed`},
		{`message:"failed password"`, `_msg:"failed password"`},
		{`host.name:web01 message:~"fail.*" -message:ok`, `host.name:web01 _msg:~"fail.*" -_msg:ok`},
		{`(message:="a" or !message:b)`, `(_msg:="a" or !_msg:b)`},
		{`"message":x`, `_msg:x`},
		{`'message':x`, `_msg:x`},
		// Left alone: bare words and phrases (they search the message),
		// longer names, quoted text that merely contains the word.
		{`message`, `message`},
		{`"message:x"`, `"message:x"`},
		{`error.message:x`, `error.message:x`},
		{`mymessage:x`, `mymessage:x`},
		{`"a \" message:x"`, `"a \" message:x"`},
		{"`message:x` y", "`message:x` y"},
		{`"message"`, `"message"`},
		{`"unclosed message:x`, `"unclosed message:x`},
		{`* | stats by (host.name) count()`, `* | stats by (host.name) count()`},
	} {
		if got := storedNames(c.in); got != c.want {
			t.Errorf("storedNames(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzStoredNames(f *testing.F) {
	for _, s := range []string{`message:x`, `"message":"y"`, `a "b\"" message:c`, "`x`", `'`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out := storedNames(q)
		// Only "message" is ever replaced, by the shorter "_msg", and only
		// when followed by a colon.
		if len(out) > len(q) {
			t.Fatalf("storedNames(%q) = %q grew", q, out)
		}
		if out == q {
			return
		}
		if storedNames(out) != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", q, out, storedNames(out))
		}
	})
}
