package enrich

import (
	"slices"
	"testing"
)

func TestNormalise(t *testing.T) {
	names := func(in, want string) {
		t.Helper()
		if got := normName(in); got != want {
			t.Errorf("normName(%q) = %q, want %q", in, got, want)
		}
	}
	names("O'Brien", "obrien")
	names("Müller", "muller")
	names("van der Berg", "vanderberg")
	names("ZOË", "zoe")
	names("  ", "")
	names("Łukasz", "łukasz") // no decomposition: kept as a letter, lower-cased
	names("李", "李")

	fam := func(in string, want ...string) {
		t.Helper()
		if got := familyKeys(in); !slices.Equal(got, want) {
			t.Errorf("familyKeys(%q) = %q, want %q", in, got, want)
		}
	}
	fam("Garcia-Lopez", "garcialopez", "garcia", "lopez")
	fam("SMITH", "smith")
	fam("")

	addr := func(street, other, city, postal, want string) {
		t.Helper()
		if got := addressKey(street, other, city, postal); got != want {
			t.Errorf("addressKey(%q, %q, %q, %q) = %q, want %q", street, other, city, postal, got, want)
		}
	}
	addr("12 Oak Street", "Apartment 3", "Springfield", "62701-4411", "12 oak st apt 3|62701")
	addr("12 OAK ST.", "APT. 3", "", "62701", "12 oak st apt 3|62701")
	addr("12 Oak St #3", "", "", "62701", "12 oak st apt 3|62701")
	addr("400 North Far Away Boulevard", "", "Shelbyville", "", "400 n far away blvd|shelbyville")
	addr("", "", "Springfield", "62701", "")

	phone := func(in, want string) {
		t.Helper()
		if got := phoneKey(in); got != want {
			t.Errorf("phoneKey(%q) = %q, want %q", in, got, want)
		}
	}
	phone("(217) 555-0100", "2175550100")
	phone("+1 217 555 0100", "2175550100")
	phone("^PRN^PH^^1^217^5550100", "2175550100")
	phone("555", "")

	split := func(in, family, given string) {
		t.Helper()
		if f, g := splitFullName(in); f != family || g != given {
			t.Errorf("splitFullName(%q) = %q, %q, want %q, %q", in, f, g, family, given)
		}
	}
	split("Keller, Ann", "Keller", "Ann")
	split("Ann Marie Keller", "Keller", "Ann")
	split("Cher", "Cher", "")

	terms := searchTerms("Müller-Lang")
	if !slices.Equal(terms, []string{"müller-lang", "müller", "lang"}) {
		t.Errorf("searchTerms = %q", terms)
	}
}

// FuzzNormalise: the key functions never panic and are idempotent where
// they should be.
func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"O'Brien", "12 Oak St #3", "Müller-Lang", "+1 (217) 555-0100", "\xff\xfe", "##", "-", "a-b-c-d-e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := normName(s)
		if normName(n) != n {
			t.Errorf("normName not idempotent on %q: %q then %q", s, n, normName(n))
		}
		familyKeys(s)
		givenKey(s)
		addressKey(s, s, s, s)
		phoneKey(s)
		splitFullName(s)
		searchTerms(s)
	})
}
