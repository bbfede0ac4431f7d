package sigma

import (
	"testing"
	"time"
)

// TestAliasBombs checks that aliases and merge keys cannot make parsing
// explode.
func TestAliasBombs(t *testing.T) {
	for _, s := range []string{
		"a: &a {x: 1}\nb: &b {<<: [*a, *a]}\nc: &c {<<: [*b, *b]}\nd: &d {<<: [*c, *c]}\ne: &e {<<: [*d, *d]}\nf: &f {<<: [*e, *e]}\ng: &g {<<: [*f, *f, *f, *f]}\nh: &h {<<: [*g, *g, *g, *g]}\ni: &i {<<: [*h,*h,*h,*h]}\nj: &j {<<: [*i,*i,*i,*i]}\ntitle: t\nlogsource: *j\ndetection: {s: *j, condition: s}\n",
		"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ntitle: t\nlogsource: {product: x}\ndetection: {s: {A: *d}, condition: s}\n",
	} {
		start := time.Now()
		p := ParseFile("b.yml", []byte(s), ParseOptions{})
		if d := time.Since(start); d > 2*time.Second || len(p.Rejected) != 1 {
			t.Errorf("took %v, rejected %v; want one rejection, fast", d, p.Rejected)
		}
	}
}
